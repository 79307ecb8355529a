/* empty200.c: the HTTP ceiling. runnel's own HTTP stack (src/net: libevent +
 * its HTTP/1.1 parser + nghttp2) with a handler that answers every request
 * with an empty 200, so `make bench` can state PutRecord's requests/s as a
 * fraction of what the HTTP layer alone allows.
 *
 *   empty200 [--listen 127.0.0.1:0]   prints "empty200 listening on http://HOST:PORT"
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "net/http.h"

static void handler(void *ud, rn_http_exchange_t *ex, const rn_http_request_t *req)
{
    (void)ud;
    (void)req;
    rn_http_respond(ex, 200, NULL, NULL, 0, NULL, 0);
}

static void on_signal(evutil_socket_t sig, short what, void *ud)
{
    (void)sig;
    (void)what;
    event_base_loopbreak(ud);
}

int main(int argc, char **argv)
{
    const char *listen = "127.0.0.1:0";
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--listen") == 0)
            listen = argv[++i];
    signal(SIGPIPE, SIG_IGN);
    evthread_use_pthreads();
    struct event_base *base = event_base_new();
    rn_http_config_t cfg = {.listen = listen, .handler = handler};
    rn_http_server_t *srv;
    int port = 0;
    const char *err = NULL;
    if (rn_http_server_create(&srv, base, &cfg, &port, &err) != 0) {
        fprintf(stderr, "empty200: cannot listen on %s: %s\n", listen, err ? err : "?");
        return 1;
    }
    struct event *st = evsignal_new(base, SIGTERM, on_signal, base);
    struct event *si = evsignal_new(base, SIGINT, on_signal, base);
    event_add(st, NULL);
    event_add(si, NULL);
    printf("empty200 listening on http://127.0.0.1:%d\n", port);
    fflush(stdout);
    event_base_dispatch(base);
    rn_http_server_shutdown(srv);
    rn_http_server_destroy(srv);
    event_free(st);
    event_free(si);
    event_base_free(base);
    return 0;
}
