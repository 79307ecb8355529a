/* health.c: `runnel health` (cli.h), a container probe of /health/ready. */
#include "cli/cli.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#define DEFAULT_URL "http://127.0.0.1:4567/health/ready"

typedef struct url {
    int tls;
    char host[260];
    char port[8];
    char path[1024];
} url_t;

static int parse_url(const char *s, url_t *u)
{
    memset(u, 0, sizeof *u);
    if (strncmp(s, "http://", 7) == 0) {
        s += 7;
    } else if (strncmp(s, "https://", 8) == 0) {
        s += 8;
        u->tls = 1;
    }
    const char *slash = strchr(s, '/');
    size_t hl = slash ? (size_t)(slash - s) : strlen(s);
    snprintf(u->path, sizeof u->path, "%s", slash ? slash : "/health/ready");
    char hp[256];
    if (hl == 0 || hl >= sizeof hp)
        return -1;
    memcpy(hp, s, hl);
    hp[hl] = 0;
    char *colon = NULL;
    if (hp[0] == '[') { /* [::1]:4567 */
        char *end = strchr(hp, ']');
        if (!end)
            return -1;
        *end = 0;
        snprintf(u->host, sizeof u->host, "%s", hp + 1);
        colon = end[1] == ':' ? end + 1 : NULL;
    } else {
        colon = strrchr(hp, ':');
        if (colon)
            *colon = 0;
        snprintf(u->host, sizeof u->host, "%s", hp);
    }
    snprintf(u->port, sizeof u->port, "%s", colon ? colon + 1 : u->tls ? "443" : "80");
    return u->host[0] && u->port[0] ? 0 : -1;
}

static long ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

static int wait_fd(int fd, short ev, const struct timespec *deadline)
{
    long left = ms_left(deadline);
    if (left <= 0)
        return -1;
    struct pollfd p = {.fd = fd, .events = ev};
    return poll(&p, 1, (int)left) == 1 ? 0 : -1;
}

static int dial(const url_t *u, const struct timespec *deadline)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(u->host, u->port, &hints, &res) != 0)
        return -1;
    int fd = -1;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        int err = 0;
        socklen_t el = sizeof err;
        if ((connect(fd, a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) ||
            wait_fd(fd, POLLOUT, deadline) != 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    return fd;
}

/* Send req and read the answer's status line (blocking, under the socket's
 * timeouts); returns the status or -1. */
static int exchange(int fd, SSL *ssl, const char *req)
{
    size_t len = strlen(req), off = 0;
    while (off < len) {
        int n = ssl ? SSL_write(ssl, req + off, (int)(len - off)) : (int)send(fd, req + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    char buf[512];
    size_t got = 0;
    while (got < sizeof buf - 1 && !memchr(buf, '\n', got)) {
        int n = ssl ? SSL_read(ssl, buf + got, (int)(sizeof buf - 1 - got)) : (int)recv(fd, buf + got, sizeof buf - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = 0;
    int status;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    return status;
}

int rn_cli_health(int argc, char **argv)
{
    const char *target = DEFAULT_URL;
    long timeout_ms = 2000;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            timeout_ms = strtol(argv[++i], NULL, 10);
            if (timeout_ms <= 0)
                timeout_ms = 2000;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: runnel health [URL] [--timeout MS]\n");
            return 2;
        } else {
            target = argv[i];
        }
    }
    url_t u;
    if (parse_url(target, &u) != 0) {
        fprintf(stderr, "runnel health: bad URL %s\n", target);
        return 2;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    int fd = dial(&u, &deadline);
    if (fd < 0) {
        fprintf(stderr, "runnel health: nothing answers at %s:%s\n", u.host, u.port);
        return 2;
    }
    /* blocking from here on, each call bounded by what is left of the timeout */
    long left = ms_left(&deadline);
    struct timeval tv = {left / 1000, (left % 1000) * 1000};
    int fl = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    (void)ioctl(fd, FIONBIO, &fl);
    SSL_CTX *ctx = NULL;
    SSL *ssl = NULL;
    if (u.tls) {
        ctx = SSL_CTX_new(TLS_client_method());
        ssl = ctx ? SSL_new(ctx) : NULL;
        if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_set_tlsext_host_name(ssl, u.host) != 1 ||
            (SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL), SSL_connect(ssl) != 1)) {
            fprintf(stderr, "runnel health: TLS handshake with %s:%s failed\n", u.host, u.port);
            SSL_free(ssl);
            SSL_CTX_free(ctx);
            close(fd);
            return 2;
        }
    }
    char req[1400];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: runnel-health\r\nConnection: close\r\n\r\n",
             u.path, u.host, u.port);
    int status = exchange(fd, ssl, req);
    SSL_free(ssl);
    SSL_CTX_free(ctx);
    close(fd);
    if (status < 0) {
        fprintf(stderr, "runnel health: no HTTP answer from %s\n", target);
        return 2;
    }
    printf("%d\n", status);
    return status == 200 ? 0 : 1;
}
