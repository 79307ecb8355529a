/* store_harness.h: what the store's unit tests share to drive group commit
 * from a test's main thread: a wake pipe standing in for the event loop,
 * a completion record, and a loop that runs completions until one fired.
 * Include once per test program (the pipe is a static of that program). */
#ifndef RN_TEST_STORE_HARNESS_H
#define RN_TEST_STORE_HARNESS_H

#include "store/store.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int wake_pipe[2];

/* The store's cfg.wake: make the pipe readable (a full pipe is awake enough). */
static void wake_fn(void *ud)
{
    (void)ud;
    char c = 1;
    ssize_t r = write(wake_pipe[1], &c, 1);
    (void)r;
}

static inline int harness_init(void)
{
    return pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC);
}

typedef struct cb {
    int fired;
    int status;
} cb_t;

/* A commit's done callback: count it and keep its status. */
static void done_cb(void *ud, int status)
{
    cb_t *c = ud;
    c->fired++;
    c->status = status;
}

/* Run completions (once at least, then on every wake) until cb fired or
 * nothing woke us for 10 s. */
static inline void drive(rn_store_t *s, cb_t *cb)
{
    rn_store_run_completions(s);
    for (int i = 0; i < 1000 && !cb->fired; i++) {
        struct pollfd p = {.fd = wake_pipe[0], .events = POLLIN};
        if (poll(&p, 1, 10000) <= 0)
            break;
        char junk[64];
        while (read(wake_pipe[0], junk, sizeof junk) > 0) {
        }
        rn_store_run_completions(s);
    }
}

static inline void rm_rf(const char *dir)
{
    char cmd[600];
    (void)snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

#endif
