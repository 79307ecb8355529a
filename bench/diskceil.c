/* diskceil.c: the disk ceiling. Sequential write + fdatasync per batch into
 * a fresh file on the given directory's filesystem; prints MB/s and syncs/s
 * as one JSON line. Stops after --seconds or --max-bytes, whichever first.
 *
 *   diskceil DIR BATCH_BYTES [--seconds 3] [--max-bytes 536870912]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: diskceil DIR BATCH_BYTES [--seconds S] [--max-bytes N]\n");
        return 2;
    }
    const char *dir = argv[1];
    size_t batch = strtoul(argv[2], NULL, 10);
    double secs = 3;
    unsigned long long maxb = 512ull << 20;
    for (int i = 3; i + 1 < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0)
            secs = atof(argv[++i]);
        else if (strcmp(argv[i], "--max-bytes") == 0)
            maxb = strtoull(argv[++i], NULL, 10);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/diskceil.%d.tmp", dir, (int)getpid());
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    char *buf = aligned_alloc(4096, (batch + 4095) / 4096 * 4096);
    for (size_t i = 0; i < batch; i++)
        buf[i] = (char)(i * 131 + 7);
    unsigned long long total = 0;
    long syncs = 0;
    double t0 = now_s(), el = 0;
    while ((el = now_s() - t0) < secs && total < maxb) {
        size_t off = 0;
        while (off < batch) {
            ssize_t n = write(fd, buf + off, batch - off);
            if (n <= 0) {
                perror("write");
                unlink(path);
                return 1;
            }
            off += (size_t)n;
        }
        if (fdatasync(fd) != 0) {
            perror("fdatasync");
            unlink(path);
            return 1;
        }
        total += batch;
        syncs++;
    }
    el = now_s() - t0;
    close(fd);
    unlink(path);
    printf("{\"batch\":%zu,\"bytes\":%llu,\"syncs\":%ld,\"elapsed\":%.4f,\"mb_per_s\":%.2f,"
           "\"syncs_per_s\":%.1f}\n",
           batch, total, syncs, el, total / el / 1e6, syncs / el);
    return 0;
}
