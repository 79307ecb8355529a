/* fdlimit.c: the descriptor limit shared out between connections and files. */
#include "util/fdlimit.h"

#include <sys/resource.h>

size_t rn_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur > (rlim_t)1 << 20)
        rl.rlim_cur = (rlim_t)1 << 20;
    return (size_t)rl.rlim_cur;
}

/* A quarter of the first RN_FD_SPLIT_FROM descriptors, at least 32. */
static size_t reserve(size_t lim)
{
    size_t head = lim < RN_FD_SPLIT_FROM ? lim : RN_FD_SPLIT_FROM;
    size_t r = head / 4;
    return r < RN_FD_RESERVE_MIN ? RN_FD_RESERVE_MIN : r;
}

size_t rn_fd_other(size_t lim)
{
    size_t r = reserve(lim);
    return r - r / 2;
}

size_t rn_fd_files_default(size_t lim)
{
    size_t extra = lim > RN_FD_SPLIT_FROM ? (lim - RN_FD_SPLIT_FROM) / 2 : 0;
    return reserve(lim) / 2 + extra;
}

size_t rn_fd_conns_default(size_t lim, size_t files)
{
    size_t held = files + rn_fd_other(lim);
    return lim > held + RN_FD_CONNS_MIN ? lim - held : RN_FD_CONNS_MIN;
}
