/* clock.h: wall-clock time in milliseconds, with a test-only offset.
 * Everything in runnel that needs "now" asks here, so tests can move the
 * clock (for iterator expiry, retention) without waiting. */
#ifndef RN_CLOCK_H
#define RN_CLOCK_H

#include <stdint.h>

int64_t rn_now_ms(void);
/* Monotonic microseconds (CLOCK_MONOTONIC; no offset): for durations. */
int64_t rn_mono_us(void);
/* Add delta_ms to every later rn_now_ms() (tests only). */
void rn_clock_set_offset(int64_t delta_ms);

#endif
