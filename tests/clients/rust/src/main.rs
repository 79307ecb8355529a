//! The AWS SDK for Rust (aws-sdk-kinesis) against runnel: run by run.sh with RN_ENDPOINT set.
//!
//!   runnel-rust-client records           record path + typed errors (runnel --enable-test-clock)
//!   runnel-rust-client subscribe h2|h1   SubscribeToShard over HTTP/2 (prior knowledge) or HTTP/1.1;
//!                                        runnel started with a short --subscription-lifetime
//!   runnel-rust-client verified          against runnel --credentials (keys from RN_* variables)
//!
//! Prints one "ok <check>" line per check and exits 1 with "FAIL <check>: <why>" on the first
//! mismatch.
mod http;

use aws_credential_types::Credentials;
use aws_sdk_kinesis::config::{BehaviorVersion, Region};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::operation::describe_stream_summary::DescribeStreamSummaryError;
use aws_sdk_kinesis::operation::get_records::GetRecordsError;
use aws_sdk_kinesis::operation::get_shard_iterator::GetShardIteratorError;
use aws_sdk_kinesis::operation::put_record::PutRecordError;
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{
    ConsumerStatus, PutRecordsRequestEntry, ShardIteratorType, StartingPosition, StreamStatus,
    SubscribeToShardEventStream,
};
use aws_sdk_kinesis::Client;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn fail(what: &str, why: impl std::fmt::Display) -> ! {
    println!("FAIL {what}: {why}");
    std::process::exit(1);
}

fn ok(what: &str) {
    println!("ok {what}");
}

macro_rules! ensure {
    ($cond:expr, $what:expr, $($why:tt)+) => {
        if !$cond { fail($what, format!($($why)+)); }
    };
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

/// The snippet tests/clients/rust/README.md shows: endpoint override, static keys, region.
fn client(h2: bool, key: &str, secret: &str) -> Client {
    let endpoint = std::env::var("RN_ENDPOINT").unwrap_or_else(|_| fail("setup", "RN_ENDPOINT unset"));
    let conf = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new(key, secret, None, None, "runnel-test"))
        .http_client(http::plain_client(h2))
        .build();
    Client::from_conf(conf)
}

fn dev_client(h2: bool) -> Client {
    client(h2, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
}

async fn create_active(c: &Client, name: &str, shards: i32) -> String {
    c.create_stream().stream_name(name).shard_count(shards).send().await
        .unwrap_or_else(|e| fail("CreateStream", fmt_err(&e)));
    let t0 = Instant::now();
    loop {
        let out = c.describe_stream_summary().stream_name(name).send().await
            .unwrap_or_else(|e| fail("DescribeStreamSummary", fmt_err(&e)));
        let s = out.stream_description_summary().unwrap_or_else(|| fail("DescribeStreamSummary", "no summary"));
        if s.stream_status() == &StreamStatus::Active {
            ensure!(s.open_shard_count() == shards, "DescribeStreamSummary", "open shards {}", s.open_shard_count());
            ensure!(s.stream_name() == name, "DescribeStreamSummary", "name {}", s.stream_name());
            return s.stream_arn().to_string();
        }
        ensure!(t0.elapsed() < Duration::from_secs(20), "wait ACTIVE", "still {:?}", s.stream_status());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn fmt_err<E: std::error::Error + ProvideErrorMetadata>(e: &aws_sdk_kinesis::error::SdkError<E, aws_sdk_kinesis::config::http::HttpResponse>) -> String {
    match e.as_service_error() {
        Some(se) => format!("{}: {}", se.code().unwrap_or("?"), se.message().unwrap_or("")),
        None => format!("{e:?}"),
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

async fn records() {
    let c = dev_client(false);
    let name = "rust-records";
    create_active(&c, name, 2).await;
    ok("CreateStream, DescribeStreamSummary until ACTIVE");

    let before_put = now_ms();
    let p = c.put_record().stream_name(name).partition_key("pk-0").data(Blob::new(b"rec-0".to_vec()))
        .send().await.unwrap_or_else(|e| fail("PutRecord", fmt_err(&e)));
    let shard = p.shard_id().to_string();
    let seq0 = p.sequence_number().to_string();
    ensure!(shard.starts_with("shardId-"), "PutRecord", "shard id {shard}");
    let mut entries = Vec::new();
    for i in 1..=5 {
        entries.push(PutRecordsRequestEntry::builder().partition_key("pk-0")
            .data(Blob::new(format!("rec-{i}").into_bytes())).build().unwrap());
    }
    let pr = c.put_records().stream_name(name).set_records(Some(entries)).send().await
        .unwrap_or_else(|e| fail("PutRecords", fmt_err(&e)));
    ensure!(pr.failed_record_count().unwrap_or(0) == 0, "PutRecords", "failed {:?}", pr.failed_record_count());
    ensure!(pr.records().len() == 5, "PutRecords", "{} results", pr.records().len());
    for r in pr.records() {
        ensure!(r.shard_id() == Some(shard.as_str()), "PutRecords", "same key, other shard {:?}", r.shard_id());
    }
    let seq2 = pr.records()[1].sequence_number().unwrap().to_string();
    ok("PutRecord, PutRecords (6 records, one partition key)");

    // GetShardIterator kinds and GetRecords
    let it = |t: ShardIteratorType| c.get_shard_iterator().stream_name(name).shard_id(&shard).shard_iterator_type(t);
    let read = |iter: String| {
        let c = c.clone();
        async move {
            let out = c.get_records().shard_iterator(iter).send().await
                .unwrap_or_else(|e| fail("GetRecords", fmt_err(&e)));
            out
        }
    };
    let trim = it(ShardIteratorType::TrimHorizon).send().await.unwrap_or_else(|e| fail("GetShardIterator TRIM_HORIZON", fmt_err(&e)));
    let out = read(trim.shard_iterator().unwrap().to_string()).await;
    let got: Vec<String> = out.records().iter().map(|r| String::from_utf8_lossy(r.data().as_ref()).into_owned()).collect();
    ensure!(got == (0..6).map(|i| format!("rec-{i}")).collect::<Vec<_>>(), "GetRecords TRIM_HORIZON", "{got:?}");
    let r0 = &out.records()[0];
    ensure!(r0.sequence_number() == seq0 && r0.partition_key() == Some("pk-0"), "GetRecords", "record 0 {r0:?}");
    let ts = r0.approximate_arrival_timestamp().unwrap_or_else(|| fail("GetRecords", "no ApproximateArrivalTimestamp"));
    let ts_ms = ts.to_millis().unwrap();
    ensure!(ts_ms >= before_put - 2000 && ts_ms <= now_ms() + 2000, "ApproximateArrivalTimestamp", "{ts} not near now");
    ensure!(out.millis_behind_latest().is_some(), "GetRecords", "no MillisBehindLatest");
    let next = out.next_shard_iterator().unwrap_or_else(|| fail("GetRecords", "no NextShardIterator")).to_string();
    ok("GetShardIterator TRIM_HORIZON, GetRecords (data, key, sequence, ApproximateArrivalTimestamp)");

    let at = it(ShardIteratorType::AtSequenceNumber).starting_sequence_number(&seq2).send().await
        .unwrap_or_else(|e| fail("GetShardIterator AT_SEQUENCE_NUMBER", fmt_err(&e)));
    let out = read(at.shard_iterator().unwrap().to_string()).await;
    ensure!(out.records().first().map(|r| r.sequence_number()) == Some(seq2.as_str()), "AT_SEQUENCE_NUMBER", "{:?}", out.records().first());
    let after = it(ShardIteratorType::AfterSequenceNumber).starting_sequence_number(&seq2).send().await
        .unwrap_or_else(|e| fail("GetShardIterator AFTER_SEQUENCE_NUMBER", fmt_err(&e)));
    let out = read(after.shard_iterator().unwrap().to_string()).await;
    ensure!(out.records().len() == 3, "AFTER_SEQUENCE_NUMBER", "{} records", out.records().len());
    let tsit = it(ShardIteratorType::AtTimestamp).timestamp(DateTime::from_millis(before_put - 60_000)).send().await
        .unwrap_or_else(|e| fail("GetShardIterator AT_TIMESTAMP", fmt_err(&e)));
    let out = read(tsit.shard_iterator().unwrap().to_string()).await;
    ensure!(out.records().len() == 6, "AT_TIMESTAMP", "{} records", out.records().len());
    let latest = it(ShardIteratorType::Latest).send().await.unwrap_or_else(|e| fail("GetShardIterator LATEST", fmt_err(&e)));
    ensure!(read(latest.shard_iterator().unwrap().to_string()).await.records().is_empty(), "LATEST", "records before any new put");
    ensure!(read(next).await.records().is_empty(), "NextShardIterator", "records past the end");
    ok("GetShardIterator AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, AT_TIMESTAMP, LATEST");

    // ListShards paging
    let first = c.list_shards().stream_name(name).max_results(1).send().await
        .unwrap_or_else(|e| fail("ListShards", fmt_err(&e)));
    ensure!(first.shards().len() == 1, "ListShards", "{} shards on page 1", first.shards().len());
    let tok = first.next_token().unwrap_or_else(|| fail("ListShards", "no NextToken")).to_string();
    let second = c.list_shards().next_token(tok).max_results(1).send().await
        .unwrap_or_else(|e| fail("ListShards NextToken", fmt_err(&e)));
    ensure!(second.shards().len() == 1 && second.shards()[0].shard_id() != first.shards()[0].shard_id(),
        "ListShards", "page 2 {:?}", second.shards());
    if let Some(t) = second.next_token() {
        let third = c.list_shards().next_token(t).send().await.unwrap_or_else(|e| fail("ListShards page 3", fmt_err(&e)));
        ensure!(third.shards().is_empty(), "ListShards", "more than 2 shards");
    }
    ok("ListShards paging (MaxResults 1, NextToken)");

    // Typed errors
    match c.describe_stream_summary().stream_name("rust-no-such-stream").send().await {
        Err(e) => match e.into_service_error() {
            DescribeStreamSummaryError::ResourceNotFoundException(x) =>
                ensure!(x.message().unwrap_or("").contains("rust-no-such-stream"), "ResourceNotFoundException", "message {:?}", x.message()),
            other => fail("ResourceNotFoundException", format!("{other:?}")),
        },
        Ok(_) => fail("ResourceNotFoundException", "DescribeStreamSummary of a missing stream succeeded"),
    }
    match c.put_record().stream_name("rust-no-such-stream").partition_key("k").data(Blob::new(b"x".to_vec())).send().await {
        Err(e) => ensure!(matches!(e.into_service_error(), PutRecordError::ResourceNotFoundException(_)), "ResourceNotFoundException", "PutRecord: other variant"),
        Ok(_) => fail("ResourceNotFoundException", "PutRecord to a missing stream succeeded"),
    }
    match it(ShardIteratorType::AtSequenceNumber).starting_sequence_number("12345").send().await {
        Err(e) => match e.into_service_error() {
            GetShardIteratorError::InvalidArgumentException(_) => {}
            other => fail("InvalidArgumentException", format!("{other:?}")),
        },
        Ok(_) => fail("InvalidArgumentException", "AT_SEQUENCE_NUMBER 12345 succeeded"),
    }
    // An iterator is valid for 5 minutes: read one 6 minutes later by runnel's test clock.
    let old = it(ShardIteratorType::TrimHorizon).send().await.unwrap_or_else(|e| fail("GetShardIterator", fmt_err(&e)));
    let res = c.get_records().shard_iterator(old.shard_iterator().unwrap())
        .customize()
        .mutate_request(|req| { req.headers_mut().insert("x-runnel-test-clock-offset-ms", "360000"); })
        .send().await;
    match res {
        Err(e) => match e.into_service_error() {
            GetRecordsError::ExpiredIteratorException(_) => {}
            other => fail("ExpiredIteratorException", format!("{other:?}")),
        },
        Ok(_) => fail("ExpiredIteratorException", "a 6-minute-old iterator was read"),
    }
    ok("typed errors: ResourceNotFoundException, InvalidArgumentException, ExpiredIteratorException");
}

/// SubscribeToShard: records put before (TRIM_HORIZON) and during the subscription arrive in
/// order, then the stream ends by itself at runnel's --subscription-lifetime.
async fn subscribe(h2: bool) {
    let c = dev_client(h2);
    let name = if h2 { "rust-efo-h2" } else { "rust-efo-h1" };
    let arn = create_active(&c, name, 1).await;
    let reg = c.register_stream_consumer().stream_arn(&arn).consumer_name("rust-consumer").send().await
        .unwrap_or_else(|e| fail("RegisterStreamConsumer", fmt_err(&e)));
    let carn = reg.consumer().unwrap().consumer_arn().to_string();
    let t0 = Instant::now();
    loop {
        let d = c.describe_stream_consumer().consumer_arn(&carn).send().await
            .unwrap_or_else(|e| fail("DescribeStreamConsumer", fmt_err(&e)));
        if d.consumer_description().unwrap().consumer_status() == &ConsumerStatus::Active { break; }
        ensure!(t0.elapsed() < Duration::from_secs(20), "consumer ACTIVE", "not ACTIVE in 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ok("RegisterStreamConsumer, DescribeStreamConsumer until ACTIVE");
    let mut want = Vec::new();
    for i in 0..3 {
        let p = c.put_record().stream_name(name).partition_key("k").data(Blob::new(format!("before-{i}").into_bytes()))
            .send().await.unwrap_or_else(|e| fail("PutRecord", fmt_err(&e)));
        want.push((format!("before-{i}"), p.sequence_number().to_string()));
    }
    let pos = StartingPosition::builder().r#type(ShardIteratorType::TrimHorizon).build().unwrap();
    let started = Instant::now();
    let mut sub = c.subscribe_to_shard().consumer_arn(&carn).shard_id("shardId-000000000000").starting_position(pos)
        .send().await.unwrap_or_else(|e| fail("SubscribeToShard", fmt_err(&e)));
    for i in 0..3 {
        let p = c.put_record().stream_name(name).partition_key("k").data(Blob::new(format!("during-{i}").into_bytes()))
            .send().await.unwrap_or_else(|e| fail("PutRecord during", fmt_err(&e)));
        want.push((format!("during-{i}"), p.sequence_number().to_string()));
    }
    let mut got = Vec::new();
    let mut events = 0;
    let mut last_cont = String::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(30), sub.event_stream.recv()).await {
            Err(_) => fail("SubscribeToShard", "no event and no end in 30 s"),
            Ok(Err(e)) => fail("SubscribeToShard", format!("stream error: {e:?}")),
            Ok(Ok(None)) => break,
            Ok(Ok(Some(SubscribeToShardEventStream::SubscribeToShardEvent(ev)))) => {
                events += 1;
                last_cont = ev.continuation_sequence_number().to_string();
                for r in ev.records() {
                    got.push((String::from_utf8_lossy(r.data().as_ref()).into_owned(), r.sequence_number().to_string()));
                    ensure!(r.approximate_arrival_timestamp().is_some(), "SubscribeToShardEvent", "record without ApproximateArrivalTimestamp");
                }
            }
            Ok(Ok(Some(other))) => fail("SubscribeToShard", format!("unexpected event {other:?}")),
        }
    }
    let lasted = started.elapsed();
    ensure!(got == want, "SubscribeToShard records", "got {got:?}, want {want:?}");
    ensure!(!last_cont.is_empty(), "SubscribeToShard", "no ContinuationSequenceNumber");
    ensure!(lasted < Duration::from_secs(25), "SubscribeToShard end", "ended after {lasted:?}");
    ok(&format!("SubscribeToShard over {}: 6 records (3 before, 3 during) in order in {events} events, ended at the lifetime after {} ms",
        if h2 { "HTTP/2" } else { "HTTP/1.1" }, lasted.as_millis()));
}

/// Verified mode: RN_KEY/RN_SECRET may put, read and subscribe on RN_STREAM; a wrong secret is
/// InvalidSignatureException; RN_DENY_KEY/RN_DENY_SECRET (a policy denying PutRecord) gets
/// AccessDeniedException.
async fn verified() {
    let (key, secret) = (env("RN_KEY", ""), env("RN_SECRET", ""));
    let c = client(false, &key, &secret);
    let name = "rust-verified";
    create_active(&c, name, 1).await;
    c.put_record().stream_name(name).partition_key("k").data(Blob::new(b"signed".to_vec())).send().await
        .unwrap_or_else(|e| fail("verified PutRecord", fmt_err(&e)));
    let it = c.get_shard_iterator().stream_name(name).shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon).send().await
        .unwrap_or_else(|e| fail("verified GetShardIterator", fmt_err(&e)));
    let out = c.get_records().shard_iterator(it.shard_iterator().unwrap()).send().await
        .unwrap_or_else(|e| fail("verified GetRecords", fmt_err(&e)));
    ensure!(out.records().len() == 1, "verified GetRecords", "{} records", out.records().len());
    ok("verified: the right key puts and reads");
    let bad = client(false, &key, "not-the-secret-at-all");
    match bad.put_record().stream_name(name).partition_key("k").data(Blob::new(b"x".to_vec())).send().await {
        Err(e) => {
            let se = e.as_service_error().unwrap_or_else(|| fail("InvalidSignatureException", format!("{e:?}")));
            ensure!(se.code() == Some("InvalidSignatureException"), "InvalidSignatureException", "code {:?}", se.code());
        }
        Ok(_) => fail("InvalidSignatureException", "a wrong secret was accepted"),
    }
    ok("verified: a wrong secret is InvalidSignatureException");
    let deny = client(false, &env("RN_DENY_KEY", ""), &env("RN_DENY_SECRET", ""));
    match deny.put_record().stream_name(name).partition_key("k").data(Blob::new(b"x".to_vec())).send().await {
        Err(e) => match e.into_service_error() {
            PutRecordError::AccessDeniedException(_) => {}
            other => fail("AccessDeniedException", format!("{other:?}")),
        },
        Ok(_) => fail("AccessDeniedException", "a denied PutRecord succeeded"),
    }
    ok("verified: a policy denying PutRecord gets AccessDeniedException");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("records") => records().await,
        Some("subscribe") => subscribe(args.get(2).map(String::as_str) != Some("h1")).await,
        Some("verified") => verified().await,
        _ => fail("usage", "records | subscribe h2|h1 | verified"),
    }
}
