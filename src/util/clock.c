/* clock.c: wall-clock milliseconds with a test offset. */
#include "util/clock.h"

#include <time.h>

static int64_t offset_ms;

int64_t rn_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + offset_ms;
}

int64_t rn_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void rn_clock_set_offset(int64_t delta_ms)
{
    offset_ms = delta_ms;
}
