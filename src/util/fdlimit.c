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

size_t rn_fd_reserve(size_t lim)
{
    size_t reserve = lim / 4;
    if (reserve < RN_FD_RESERVE_MIN)
        reserve = RN_FD_RESERVE_MIN;
    if (reserve > RN_FD_RESERVE_MAX)
        reserve = RN_FD_RESERVE_MAX;
    return reserve;
}

size_t rn_fd_files_default(size_t lim)
{
    return rn_fd_reserve(lim) / 2;
}

size_t rn_fd_conns_default(size_t lim, size_t files)
{
    size_t reserve = rn_fd_reserve(lim);
    size_t held = files + (reserve - reserve / 2);
    return lim > held + RN_FD_CONNS_MIN ? lim - held : RN_FD_CONNS_MIN;
}
