/*
 * crc.h -- CRC-32C (Castagnoli) and Wodan's trailer convention (internal).
 *
 * Computed with ISA-L's crc32_iscsi (SSE4.2/PCLMUL, several GB/s).  Wodan
 * stores the bitwise NOT of the standard CRC-32C of a unit's bytes minus its
 * last four, as u32 LE in those four bytes (doc/SPEC.md §4); a unit is valid
 * iff the standard CRC-32C of the whole unit is 0xFFFFFFFF.
 */
#ifndef WD_CRC_H
#define WD_CRC_H

#include <stddef.h>
#include <stdint.h>

/* Standard CRC-32C of len bytes, continuing from `crc` (0 to start).
 * wd_crc32c(0, "123456789", 9) == 0xE3069283 (RFC 3720). */
uint32_t wd_crc32c(uint32_t crc, const void *buf, size_t len);

/* Write the trailer of a unit of len bytes (len >= 4). */
void wd_crc_seal(uint8_t *unit, size_t len);
/* Write the magic trailer ff ff ff ff (fuzzing mode). */
void wd_crc_seal_magic(uint8_t *unit, size_t len);
/* 1 if the unit's trailer is valid (or magic and relax_magic), else 0. */
int wd_crc_valid(const uint8_t *unit, size_t len, int relax_magic);

#endif
