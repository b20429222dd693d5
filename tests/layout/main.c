/*
 * layout/main.c -- hex and little-endian helpers of the layout suite, and
 * its entry
 */
#include "layout.h"

uint64_t seed;

/* ------------------------------------------------------------- helpers */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Write the hex bytes of `hex` (spaces ignored) at buf + *off; advance. */
void hx(uint8_t *buf, size_t *off, const char *hex)
{
	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		int a = hexval(hex[0]), b = hex[1] ? hexval(hex[1]) : -1;
		if (a < 0 || b < 0)
			fail_msg("bad hex literal near \"%s\"", hex);
		buf[(*off)++] = (uint8_t)(a << 4 | b);
		hex += 2;
	}
}

/* Seal a hand-built unit: compute ~crc32c(covered) over the hand-built
 * bytes, check it against the pinned literal (4 bytes as on disk, LE) and
 * store it.  pinned NULL: unit contents are random (fsid from mkfs). */
void hand_seal(uint8_t *u, size_t len, const char *pinned)
{
	uint32_t v = ~wd_crc32c(0, u, len - 4);
	uint8_t got[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			   (uint8_t)(v >> 24) };
	if (pinned) {
		uint8_t want[4];
		size_t o = 0;
		hx(want, &o, pinned);
		assert_int_equal(o, 4);
		if (memcmp(got, want, 4) != 0)
			fail_msg("CRC of the hand-built unit is %02x %02x %02x "
				 "%02x, pinned %s", got[0], got[1], got[2],
				 got[3], pinned);
	}
	memcpy(u + len - 4, got, 4);
}

/* Compare two byte strings; on mismatch name the first differing offset. */
void assert_bytes(const uint8_t *want, const uint8_t *got, size_t len,
			 const char *what)
{
	for (size_t i = 0; i < len; i++)
		if (want[i] != got[i])
			fail_msg("%s: byte %zu is %02x, expected %02x", what, i,
				 got[i], want[i]);
}

int all_zero(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}

uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | ((uint64_t)le32(p + 4) << 32);
}

void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

int main(void)
{
	seed = tu_seed("test_layout");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sb_bytes),
		cmocka_unit_test(test_sb_wide_fields),
		cmocka_unit_test(test_sb_reject),
		cmocka_unit_test(test_node_empty_root),
		cmocka_unit_test(test_node_root2),
		cmocka_unit_test(test_node_child),
		cmocka_unit_test(test_decode_roundtrip),
		cmocka_unit_test(test_decode_reject_header),
		cmocka_unit_test(test_decode_reject_items),
		cmocka_unit_test(test_decode_unsorted),
		cmocka_unit_test(test_decode_reject_links),
		cmocka_unit_test(test_mkfs_image),
		cmocka_unit_test(test_mkfs_flush),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
