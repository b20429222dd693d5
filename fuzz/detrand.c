/* detrand.c -- see detrand.h. */
#include "detrand.h"

uint32_t dr_crc32c(const uint8_t *p, size_t n)
{
	static uint32_t t[256];
	uint32_t c = 0xffffffffu;

	if (!t[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t x = i;
			for (int k = 0; k < 8; k++)
				x = x & 1 ? (x >> 1) ^ 0x82f63b78u : x >> 1;
			t[i] = x;
		}
	while (n--)
		c = t[(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}
