/* diskceil.c: the disk ceiling. Sequential write + fdatasync per batch into
 * a fresh file on the given directory's filesystem; prints MB/s and syncs/s
 * as one JSON line. Stops after --seconds or --max-bytes, whichever first.
 *
 * With --files N (N > 1) every batch appends BATCH_BYTES to each of N fresh
 * files and fdatasyncs the N files in parallel, one thread per file, the
 * batch ending when the last sync returns: what a group commit spanning N
 * shards costs runnel (one segment file per shard, synced in parallel).
 * syncs_per_s is then batches per second; bytes count all N files.
 *
 *   diskceil DIR BATCH_BYTES [--seconds 3] [--max-bytes 536870912] [--files 1]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILES 64

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_all(int fd, const char *buf, size_t n)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, buf + off, n - off);
        if (w <= 0)
            return -1;
        off += (size_t)w;
    }
    return 0;
}

/* One file's share of a batch, run by its own thread between two barriers. */
typedef struct lane {
    int fd;
    const char *buf;
    size_t batch;
    int failed;
} lane_t;

static pthread_barrier_t start_bar, end_bar;
static volatile int stop_lanes;

static void *lane_main(void *arg)
{
    lane_t *ln = arg;
    for (;;) {
        pthread_barrier_wait(&start_bar);
        if (stop_lanes)
            return NULL;
        if (write_all(ln->fd, ln->buf, ln->batch) != 0 || fdatasync(ln->fd) != 0)
            ln->failed = 1;
        pthread_barrier_wait(&end_bar);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: diskceil DIR BATCH_BYTES [--seconds S] [--max-bytes N] [--files N]\n");
        return 2;
    }
    const char *dir = argv[1];
    size_t batch = strtoul(argv[2], NULL, 10);
    double secs = 3;
    unsigned long long maxb = 512ull << 20;
    int nfiles = 1;
    for (int i = 3; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0)
            secs = atof(argv[++i]);
        else if (strcmp(argv[i], "--max-bytes") == 0)
            maxb = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--files") == 0)
            nfiles = atoi(argv[++i]);
    }
    if (nfiles < 1 || nfiles > MAX_FILES) {
        fprintf(stderr, "diskceil: --files must be 1..%d\n", MAX_FILES);
        return 2;
    }
    char paths[MAX_FILES][4096];
    lane_t lanes[MAX_FILES];
    char *buf = aligned_alloc(4096, (batch + 4095) / 4096 * 4096);
    for (size_t i = 0; i < batch; i++)
        buf[i] = (char)(i * 131 + 7);
    int rc = 0;
    for (int f = 0; f < nfiles; f++) {
        snprintf(paths[f], sizeof paths[f], "%s/diskceil.%d.%d.tmp", dir, (int)getpid(), f);
        lanes[f] = (lane_t){open(paths[f], O_CREAT | O_TRUNC | O_WRONLY, 0600), buf, batch, 0};
        if (lanes[f].fd < 0) {
            perror(paths[f]);
            for (int g = 0; g < f; g++)
                unlink(paths[g]);
            return 1;
        }
    }
    pthread_t thr[MAX_FILES];
    if (nfiles > 1) {
        pthread_barrier_init(&start_bar, NULL, (unsigned)nfiles + 1);
        pthread_barrier_init(&end_bar, NULL, (unsigned)nfiles + 1);
        for (int f = 0; f < nfiles; f++)
            pthread_create(&thr[f], NULL, lane_main, &lanes[f]);
    }
    unsigned long long total = 0;
    long syncs = 0;
    double t0 = now_s(), el = 0;
    while ((el = now_s() - t0) < secs && total < maxb) {
        if (nfiles == 1) {
            if (write_all(lanes[0].fd, buf, batch) != 0 || fdatasync(lanes[0].fd) != 0) {
                perror("write/fdatasync");
                rc = 1;
                break;
            }
        } else {
            pthread_barrier_wait(&start_bar);
            pthread_barrier_wait(&end_bar);
            int failed = 0;
            for (int f = 0; f < nfiles; f++)
                failed |= lanes[f].failed;
            if (failed) {
                fprintf(stderr, "diskceil: write/fdatasync failed\n");
                rc = 1;
                break;
            }
        }
        total += batch * (unsigned long long)nfiles;
        syncs++;
    }
    el = now_s() - t0;
    if (nfiles > 1) {
        stop_lanes = 1;
        pthread_barrier_wait(&start_bar);
        for (int f = 0; f < nfiles; f++)
            pthread_join(thr[f], NULL);
    }
    for (int f = 0; f < nfiles; f++) {
        close(lanes[f].fd);
        unlink(paths[f]);
    }
    if (rc)
        return rc;
    printf("{\"batch\":%zu,\"files\":%d,\"bytes\":%llu,\"syncs\":%ld,\"elapsed\":%.4f,\"mb_per_s\":%.2f,"
           "\"syncs_per_s\":%.1f}\n",
           batch, nfiles, total, syncs, el, total / el / 1e6, syncs / el);
    return 0;
}
