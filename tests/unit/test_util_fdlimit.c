/* test_util_fdlimit.c: the descriptor limit's split between connections,
 * the store's open-file cache and everything else (util/fdlimit.h): the
 * documented table, and that the three defaults add up to the limit, so that
 * net and the store never count on the same descriptors. */
#include "util/fdlimit.h"
#include "tap.h"

int main(void)
{
    static const struct {
        size_t lim, files, other, conns;
    } want[] = {
        {64, 16, 16, 32},         {256, 32, 32, 192},          {1024, 128, 128, 768},
        {4096, 512, 512, 3072},   {20000, 8464, 512, 11024},   {65536, 31232, 512, 33792},
        {1048576, 522752, 512, 525312},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        size_t f = rn_fd_files_default(want[i].lim);
        CHECK_EQ_INT(f, want[i].files);
        CHECK_EQ_INT(rn_fd_other(want[i].lim), want[i].other);
        CHECK_EQ_INT(rn_fd_conns_default(want[i].lim, f), want[i].conns);
    }
    for (size_t lim = 64; lim <= (1u << 20); lim = lim * 3 / 2 + 1) {
        size_t f = rn_fd_files_default(lim);
        CHECK_EQ_INT(f + rn_fd_other(lim) + rn_fd_conns_default(lim, f), lim);
        /* a cap set alone moves the connections, never the sum */
        CHECK_EQ_INT(f / 2 + rn_fd_other(lim) + rn_fd_conns_default(lim, f / 2), lim);
    }
    CHECK_EQ_INT(rn_fd_conns_default(256, 1000), RN_FD_CONNS_MIN); /* a cap past the limit */
    return rn_test_done("test_util_fdlimit");
}
