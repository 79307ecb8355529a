/* crc32c.h: CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of every record frame in the log segments.
 *
 * rn_crc32c() picks, once per process, the SSE4.2 crc32 instruction when
 * the CPU has it and a portable slicing-by-8 table otherwise; both give the
 * same result. The pre- and post-inversion are done inside, so checksums
 * chain: rn_crc32c(rn_crc32c(0, a, n), b, m) == rn_crc32c(0, a||b, n+m).
 * Known vector: rn_crc32c(0, "123456789", 9) == 0xE3069283. Thread-safe. */
#ifndef RN_CRC32C_H
#define RN_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t rn_crc32c(uint32_t crc, const void *p, size_t n);

/* The two implementations, exposed for tests and benchmarks.
 * rn_crc32c_hw() must only be called when rn_crc32c_hw_available(). */
uint32_t rn_crc32c_sw(uint32_t crc, const void *p, size_t n);
uint32_t rn_crc32c_hw(uint32_t crc, const void *p, size_t n);
int rn_crc32c_hw_available(void);

#endif
