//! A plain-TCP HTTP client for the SDK: hyper-util's client, HTTP/1.1 or HTTP/2 with prior
//! knowledge (h2c), plugged in through the smithy runtime's HttpClient/HttpConnector traits.
//! The SDK's default client speaks HTTP/1.1 to an http:// endpoint and has no public switch to
//! force HTTP/2 there, so the HTTP/2 path (event streams) needs this.
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::body::SdkBody;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::TokioExecutor;

#[derive(Clone, Debug)]
struct Conn {
    client: Client<TcpConnector, SdkBody>,
}

impl HttpConnector for Conn {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let req = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(Box::new(e), None))?;
            let resp = client
                .request(req)
                .await
                .map_err(|e| ConnectorError::io(Box::new(e)))?;
            Response::try_from(resp.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(Box::new(e), None))
        })
    }
}

#[derive(Debug)]
struct Plain {
    conn: SharedHttpConnector,
}

impl HttpClient for Plain {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        self.conn.clone()
    }
}

/// An http:// client: HTTP/2 with prior knowledge when `h2`, else HTTP/1.1.
pub fn plain_client(h2: bool) -> SharedHttpClient {
    let mut b = Client::builder(TokioExecutor::new());
    b.http2_only(h2);
    let client = b.build(TcpConnector::new());
    SharedHttpClient::new(Plain { conn: SharedHttpConnector::new(Conn { client }) })
}
