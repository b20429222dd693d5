/* crc.c -- CRC-32C through ISA-L, plus the Wodan trailer (doc/SPEC.md §4). */
#include <isa-l/crc.h>
#include <limits.h>
#include <string.h>
#include "crc.h"

uint32_t wd_crc32c(uint32_t crc, const void *buf, size_t len)
{
	/* crc32_iscsi keeps the raw register (no final xor) and takes an int
	 * length: invert around it and feed at most INT_MAX bytes at a time. */
	const unsigned char *p = buf;
	uint32_t reg = ~crc;
	while (len > 0) {
		size_t n = len > (size_t)INT_MAX ? (size_t)INT_MAX : len;
		reg = crc32_iscsi((unsigned char *)p, (int)n, reg);
		p += n;
		len -= n;
	}
	return ~reg;
}

void wd_crc_seal(uint8_t *unit, size_t len)
{
	uint32_t v = ~wd_crc32c(0, unit, len - 4);
	unit[len - 4] = (uint8_t)v;
	unit[len - 3] = (uint8_t)(v >> 8);
	unit[len - 2] = (uint8_t)(v >> 16);
	unit[len - 1] = (uint8_t)(v >> 24);
}

void wd_crc_seal_magic(uint8_t *unit, size_t len)
{
	memset(unit + len - 4, 0xff, 4);
}

int wd_crc_valid(const uint8_t *unit, size_t len, int relax_magic)
{
	if (len < 4)
		return 0;
	if (relax_magic && unit[len - 4] == 0xff && unit[len - 3] == 0xff &&
	    unit[len - 2] == 0xff && unit[len - 1] == 0xff)
		return 1;
	return wd_crc32c(0, unit, len) == 0xFFFFFFFFu;
}
