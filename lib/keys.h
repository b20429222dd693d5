/*
 * keys.h -- fixed-size key helpers and little-endian field access (internal).
 * Keys are ks bytes (1..255) compared bytewise (memcmp), doc/ORIGINAL.md §5.7.
 */
#ifndef WD_KEYS_H
#define WD_KEYS_H

#include <stdint.h>
#include <string.h>

/* memcmp(a, b, ks), with the first 8 bytes compared as one big-endian
 * integer: random keys almost always differ there, and a call to memcmp
 * costs more than the comparison. */
static inline int wd_kcmp(const uint8_t *a, const uint8_t *b, uint32_t ks)
{
	if (ks >= 8) {
		uint64_t x, y;
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1
									  : 1;
		return memcmp(a + 8, b + 8, ks - 8);
	}
	return memcmp(a, b, ks);
}

/* Little-endian loads/stores at any alignment (superblock u64s sit at odd
 * offsets, doc/SPEC.md §2). */
static inline uint16_t wd_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t wd_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t wd_le64(const uint8_t *p)
{
	return (uint64_t)wd_le32(p) | ((uint64_t)wd_le32(p + 4) << 32);
}
static inline void wd_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void wd_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline void wd_put64(uint8_t *p, uint64_t v)
{
	wd_put32(p, (uint32_t)v);
	wd_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
