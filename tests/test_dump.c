/*
 * test_dump.c -- the CBOR dump writer and reader (lib/dump.c) against
 * doc/DUMP.md: the hex example of §8.1 byte for byte, the CRC check
 * value, a seeded random round trip, indefinite-length input, and every kind
 * of malformed input with its error code, byte offset and record number.
 * wodan_dump()/wodan_restore() need a real image and are tested elsewhere.
 *
 * Set WODAN_TEST_SEED to replay a random run (the seed is printed).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wodan_dump.h"
#include "crc.h"

#define NONE UINT64_MAX

/* ------------------------------------------------------------- helpers */

/* A growable byte buffer: the write callback's sink and the test input. */
struct bytes {
	uint8_t *p;
	size_t len, cap;
	unsigned writes;   /* write callback calls */
	int fail;          /* write callback: fail with -EIO when set */
};

static void b_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

/* Append hex digits (spaces ignored). */
static void b_hex(struct bytes *b, const char *hex)
{
	while (*hex) {
		unsigned v;
		if (*hex == ' ') {
			hex++;
			continue;
		}
		assert_int_equal(sscanf(hex, "%2x", &v), 1);
		uint8_t c = (uint8_t)v;
		b_add(b, &c, 1);
		hex += 2;
	}
}

static int write_cb(void *arg, const void *buf, size_t len)
{
	struct bytes *b = arg;
	b->writes++;
	if (b->fail)
		return -EIO;
	b_add(b, buf, len);
	return 0;
}

/* Input for the read callback: at most chunk bytes per call (0 = all);
 * fail_at: return -EIO once pos reaches it (0 = never). */
struct src {
	const uint8_t *p;
	size_t len, pos, chunk, fail_at;
};

static long read_cb(void *arg, void *buf, size_t len)
{
	struct src *s = arg;
	size_t n = s->len - s->pos;
	if (s->fail_at && s->pos >= s->fail_at)
		return -EIO;
	if (n > len)
		n = len;
	if (s->chunk && n > s->chunk)
		n = s->chunk;
	if (n)
		memcpy(buf, s->p + s->pos, n);
	s->pos += n;
	return (long)n;
}

/* The doc/DUMP.md §8.1 header: key-size 4, tombstones true (38 bytes). */
static const char EX_HEADER[] =
	"d9d9f7 a3 6a776f64616e2d64756d70 01 686b65792d73697a65 04"
	" 6a746f6d6273746f6e6573 f5";
static const char EX_RECORD[] = "82 44 00000001 42 6869";   /* 9 bytes */
static const char EX_TRAILER[] =
	"a2 67 7265636f726473 01 66 637263333263 1a 9ab2280a";

/* Append a trailer {records: n, crc32c: crc}. */
static void b_trailer(struct bytes *b, uint8_t n, uint32_t crc)
{
	uint8_t t[] = { 0x1a, crc >> 24, crc >> 16, crc >> 8, crc };
	b_hex(b, "a2 67 7265636f726473");
	b_add(b, &n, 1);   /* n < 24 */
	b_hex(b, "66 637263333263");
	b_add(b, t, sizeof t);
}

/* Read the whole dump in b; return the reader's final status (0 valid end,
 * negative error) and the record count; check the error detail against the
 * expected code, offset and record. */
static int read_all(const struct bytes *b, size_t chunk, uint32_t max_val,
		    uint64_t *nrec)
{
	struct src s = { b->p, b->len, 0, chunk, 0 };
	wodan_dump_reader *rd;
	const uint8_t *k, *v;
	size_t vl;
	int r = wodan_dump_reader_new(read_cb, &s, max_val, &rd);

	*nrec = 0;
	if (r)
		return r;
	while ((r = wodan_dump_reader_next(rd, &k, &v, &vl)) == 1)
		;
	*nrec = wodan_dump_reader_records(rd);
	if (r == 0)
		assert_int_equal(wodan_dump_reader_offset(rd), b->len);
	else    /* errors are sticky */
		assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), r);
	wodan_dump_reader_free(rd);
	return r;
}

/* Assert that reading b fails with code at offset/record (any chunking). */
static void expect_error(const struct bytes *b, uint32_t max_val, int code,
			 uint64_t offset, uint64_t record)
{
	static const size_t chunks[] = { 0, 1, 3 };
	for (unsigned i = 0; i < 3; i++) {
		uint64_t n;
		int r = read_all(b, chunks[i], max_val, &n);
		const struct wodan_error_detail *d = wodan_last_error();
		print_message("  -> %s: %s\n", wodan_strerror(r), d->message);
		assert_int_equal(r, code);
		assert_int_equal(d->code, code);
		assert_int_equal(d->offset_bytes, offset);
		assert_int_equal(d->record, record);
		assert_true(d->message[0] != 0);
	}
}

static void b_free(struct bytes *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* -------------------------------------------------------------- tests */

static void test_crc_check_value(void **state)
{
	static const uint8_t rec[] = { 0x82, 0x44, 0, 0, 0, 1, 0x42, 'h', 'i' };
	(void)state;
	assert_int_equal(wd_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(wd_crc32c(0, rec, sizeof rec), 0x9ab2280au);
	assert_int_equal(wd_crc32c(0, "", 0), 0);
}

/* The doc/DUMP.md §8.1 example, produced byte for byte and read back. */
static void test_spec_example(void **state)
{
	struct bytes want = { 0 }, got = { 0 };
	struct wodan_dump_header h = { 0 };
	wodan_dump_writer *wr;
	wodan_dump_reader *rd;
	const uint8_t key[4] = { 0, 0, 0, 1 }, *k, *v;
	uint64_t n;
	size_t vl;
	(void)state;

	b_hex(&want, EX_HEADER);
	b_hex(&want, EX_RECORD);
	b_hex(&want, EX_TRAILER);
	assert_int_equal(want.len, 69);
	h.version = 1;
	h.key_size_bytes = 4;
	h.tombstones = 1;
	assert_int_equal(wodan_dump_writer_new(&h, write_cb, &got, &wr), 0);
	assert_int_equal(wodan_dump_writer_record(wr, key, 4, "hi", 2), 0);
	assert_int_equal(wodan_dump_writer_finish(wr, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(got.len, want.len);
	assert_memory_equal(got.p, want.p, want.len);

	struct src s = { got.p, got.len, 0, 0, 0 };
	assert_int_equal(wodan_dump_reader_new(read_cb, &s, 0, &rd), 0);
	const struct wodan_dump_header *rh = wodan_dump_reader_header(rd);
	assert_int_equal(rh->version, 1);
	assert_int_equal(rh->key_size_bytes, 4);
	assert_true(rh->tombstones);
	assert_false(rh->has_block_size || rh->has_generation || rh->has_fsid);
	assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 1);
	assert_memory_equal(k, key, 4);
	assert_int_equal(vl, 2);
	assert_memory_equal(v, "hi", 2);
	assert_int_equal(wodan_dump_reader_offset(rd), 47);
	assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 0);
	assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 0);
	assert_int_equal(wodan_dump_reader_records(rd), 1);
	assert_int_equal(wodan_dump_reader_offset(rd), 69);
	wodan_dump_reader_free(rd);
	b_free(&want);
	b_free(&got);
}

/* Zero records: trailer crc32c 0; optional header fields round trip. */
static void test_empty_and_optional_fields(void **state)
{
	struct bytes got = { 0 };
	struct wodan_dump_header h = { 0 };
	wodan_dump_writer *wr;
	wodan_dump_reader *rd;
	const uint8_t *k, *v;
	size_t vl;
	(void)state;

	h.key_size_bytes = 255;
	h.has_block_size = 1;
	h.block_size_bytes = 262144;
	h.has_generation = 1;
	h.generation = 0x123456789abcull;
	h.has_fsid = 1;
	for (int i = 0; i < 16; i++)
		h.fsid[i] = (uint8_t)(0xa0 + i);
	assert_int_equal(wodan_dump_writer_new(&h, write_cb, &got, &wr), 0);
	assert_int_equal(wodan_dump_writer_finish(wr, NULL), 0);
	/* trailer: {"records": 0, "crc32c": 0} */
	struct bytes t = { 0 };
	b_hex(&t, "a2 67 7265636f726473 00 66 637263333263 00");
	assert_int_equal(t.len, 18);
	assert_memory_equal(got.p + got.len - 18, t.p, 18);
	b_free(&t);
	struct src s = { got.p, got.len, 0, 1, 0 };
	assert_int_equal(wodan_dump_reader_new(read_cb, &s, 0, &rd), 0);
	const struct wodan_dump_header *rh = wodan_dump_reader_header(rd);
	assert_int_equal(rh->key_size_bytes, 255);
	assert_false(rh->tombstones);
	assert_true(rh->has_block_size && rh->has_generation && rh->has_fsid);
	assert_int_equal(rh->block_size_bytes, 262144);
	assert_int_equal(rh->generation, 0x123456789abcull);
	assert_memory_equal(rh->fsid, h.fsid, 16);
	assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 0);
	wodan_dump_reader_free(rd);
	b_free(&got);
}

/* Seeded random records, values 0..65535 bytes, read back in random-sized
 * pieces. */
static void test_random_round_trip(void **state)
{
	const char *env = getenv("WODAN_TEST_SEED");
	unsigned seed = env ? (unsigned)strtoul(env, NULL, 0)
			    : (unsigned)time(NULL);
	struct bytes got = { 0 };
	struct wodan_dump_header h = { 0 };
	wodan_dump_writer *wr;
	wodan_dump_reader *rd;
	enum { N = 400 };
	static size_t lens[N];
	static uint8_t val[65535];
	uint8_t key[255];
	const uint8_t *k, *v;
	size_t vl;
	uint64_t n;
	(void)state;

	print_message("test_random_round_trip: seed %u (WODAN_TEST_SEED)\n",
		      seed);
	srand(seed);
	h.key_size_bytes = 1 + (uint32_t)rand() % 255;
	h.tombstones = rand() & 1;
	assert_int_equal(wodan_dump_writer_new(&h, write_cb, &got, &wr), 0);
	for (int i = 0; i < N; i++) {
		int kind = rand() % 8;
		lens[i] = i == 0 ? 0 : i == 1 ? 65535 : kind == 0 ? 65535 :
			  kind == 1 ? (size_t)rand() % 65536 :
			  (size_t)rand() % 300;
		for (uint32_t j = 0; j < h.key_size_bytes; j++)
			key[j] = (uint8_t)(i * 31 + j);
		for (size_t j = 0; j < lens[i]; j++)
			val[j] = (uint8_t)(i + j * 7);
		assert_int_equal(wodan_dump_writer_record(wr, key,
				 h.key_size_bytes, val, lens[i]), 0);
	}
	assert_int_equal(wodan_dump_writer_finish(wr, &n), 0);
	assert_int_equal(n, N);
	/* buffered: few large writes, not one per item */
	assert_true(got.writes <= got.len / 65536 + 3);

	struct src s = { got.p, got.len, 0, 1 + (size_t)rand() % 70000, 0 };
	assert_int_equal(wodan_dump_reader_new(read_cb, &s, 0, &rd), 0);
	assert_int_equal(wodan_dump_reader_header(rd)->key_size_bytes,
			 h.key_size_bytes);
	assert_int_equal(wodan_dump_reader_header(rd)->tombstones,
			 h.tombstones);
	for (int i = 0; i < N; i++) {
		assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 1);
		for (uint32_t j = 0; j < h.key_size_bytes; j++)
			assert_int_equal(k[j], (uint8_t)(i * 31 + j));
		assert_int_equal(vl, lens[i]);
		for (size_t j = 0; j < lens[i]; j++)
			if (v[j] != (uint8_t)(i + j * 7))
				fail_msg("record %d byte %zu differs", i, j);
	}
	assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 0);
	assert_int_equal(wodan_dump_reader_offset(rd), got.len);
	wodan_dump_reader_free(rd);
	/* the same through byte-at-a-time reads */
	assert_int_equal(read_all(&got, 1, 0, &n), 0);
	assert_int_equal(n, N);
	b_free(&got);
}

/* Indefinite-length header map, text keys, arrays and byte strings, and an
 * unknown nested header key, as other CBOR writers may emit them. */
static void test_indefinite_lengths(void **state)
{
	struct bytes b = { 0 }, recs = { 0 };
	wodan_dump_reader *rd;
	const uint8_t *k, *v;
	size_t vl;
	(void)state;

	b_hex(&b, "d9d9f7 bf");
	b_hex(&b, "7f 63776f64 67616e2d64756d70 ff 01");       /* wodan-dump */
	/* unknown: "x": [1, {h'00': -5}, 1.5, null, tag 1 (2), "s", [_ 1]] */
	b_hex(&b, "61 78 87 01 a1 4100 24 f93e00 f6 c102 6173 9f01ff");
	b_hex(&b, "68 6b65792d73697a65 02");                    /* key-size 2 */
	b_hex(&b, "6a 746f6d6273746f6e6573 f4");               /* false */
	b_hex(&b, "6a 67656e65726174696f6e 1b 0000000100000000");
	b_hex(&b, "64 66736964 5f 48 0001020304050607 48 08090a0b0c0d0e0f ff");
	b_hex(&b, "ff");
	/* records: chunked key/value in an indefinite array; empty chunked
	 * value; a definite record */
	b_hex(&recs, "9f 5f 41 00 41 01 ff 5f 42 6869 40 41 21 ff ff");
	b_hex(&recs, "9f 42 0002 5f ff ff");
	b_hex(&recs, "82 5f 42 0003 ff 40");
	b_add(&b, recs.p, recs.len);
	b_hex(&b, "bf 67 7265636f726473 03 66 637263333263 1a");
	uint32_t crc = wd_crc32c(0, recs.p, recs.len);
	uint8_t c4[4] = { crc >> 24, crc >> 16, crc >> 8, crc };
	b_add(&b, c4, 4);
	b_hex(&b, "ff");

	for (size_t chunk = 0; chunk < 3; chunk++) {
		struct src s = { b.p, b.len, 0, chunk, 0 };
		assert_int_equal(wodan_dump_reader_new(read_cb, &s, 0, &rd), 0);
		const struct wodan_dump_header *h = wodan_dump_reader_header(rd);
		assert_int_equal(h->key_size_bytes, 2);
		assert_false(h->tombstones);
		assert_true(h->has_generation && h->has_fsid);
		assert_false(h->has_block_size);
		assert_int_equal(h->generation, 1ull << 32);
		assert_int_equal(h->fsid[15], 15);
		assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 1);
		assert_memory_equal(k, "\x00\x01", 2);
		assert_int_equal(vl, 3);
		assert_memory_equal(v, "hi!", 3);
		assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 1);
		assert_memory_equal(k, "\x00\x02", 2);
		assert_int_equal(vl, 0);
		assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 1);
		assert_memory_equal(k, "\x00\x03", 2);
		assert_int_equal(vl, 0);
		assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl), 0);
		wodan_dump_reader_free(rd);
	}
	b_free(&b);
	b_free(&recs);
}

/* Build the example dump with its record replaced by `record` (hex) and
 * the trailer computed for it (n records). */
static void example_with(struct bytes *b, const char *record, uint8_t n)
{
	struct bytes r = { 0 };
	b_hex(b, EX_HEADER);
	b_hex(&r, record);
	b_add(b, r.p, r.len);
	b_trailer(b, n, wd_crc32c(0, r.p, r.len));
	b_free(&r);
}

static void test_bad_header(void **state)
{
	struct bytes b = { 0 };
	(void)state;

	print_message("missing tag\n");
	b_hex(&b, EX_HEADER + 7);
	b_hex(&b, EX_RECORD);
	b_hex(&b, EX_TRAILER);
	expect_error(&b, 0, WODAN_E_DUMP, 0, NONE);
	b_free(&b);

	print_message("empty input\n");
	expect_error(&b, 0, WODAN_E_DUMP, 0, NONE);

	print_message("other tag\n");
	b_hex(&b, "c0 a0");
	expect_error(&b, 0, WODAN_E_DUMP, 0, NONE);
	b_free(&b);

	print_message("header not a map\n");
	b_hex(&b, "d9d9f7 83 010203");
	expect_error(&b, 0, WODAN_E_DUMP, 3, NONE);
	b_free(&b);

	print_message("bad version\n");
	b_hex(&b, "d9d9f7 a3 6a776f64616e2d64756d70 02 686b65792d73697a65 04"
	      " 6a746f6d6273746f6e6573 f5");
	expect_error(&b, 0, WODAN_E_DUMP, 15, NONE);
	b_free(&b);

	print_message("bad version wins over a bad type\n");
	b_hex(&b, "d9d9f7 a3 686b65792d73697a65 61 78 6a746f6d6273746f6e6573 f5"
	      " 6a776f64616e2d64756d70 02");
	expect_error(&b, 0, WODAN_E_DUMP, 38, NONE);
	b_free(&b);

	print_message("key-size missing\n");
	b_hex(&b, "d9d9f7 a2 6a776f64616e2d64756d70 01 6a746f6d6273746f6e6573 f5");
	b_hex(&b, EX_TRAILER);
	expect_error(&b, 0, WODAN_E_DUMP, 3, NONE);
	b_free(&b);

	print_message("version missing\n");
	b_hex(&b, "d9d9f7 a2 686b65792d73697a65 04 6a746f6d6273746f6e6573 f5");
	expect_error(&b, 0, WODAN_E_DUMP, 3, NONE);
	b_free(&b);

	print_message("key-size 0 and 256\n");
	b_hex(&b, "d9d9f7 a3 6a776f64616e2d64756d70 01 686b65792d73697a65 00"
	      " 6a746f6d6273746f6e6573 f5");
	expect_error(&b, 0, WODAN_E_DUMP, 25, NONE);
	b_free(&b);
	b_hex(&b, "d9d9f7 a3 6a776f64616e2d64756d70 01 686b65792d73697a65 190100"
	      " 6a746f6d6273746f6e6573 f5");
	expect_error(&b, 0, WODAN_E_DUMP, 25, NONE);
	b_free(&b);

	print_message("tombstones not a bool\n");
	b_hex(&b, "d9d9f7 a3 6a776f64616e2d64756d70 01 686b65792d73697a65 04"
	      " 6a746f6d6273746f6e6573 01");
	expect_error(&b, 0, WODAN_E_DUMP, 37, NONE);
	b_free(&b);

	print_message("truncated header\n");
	b_hex(&b, EX_HEADER);
	b.len = 20;
	expect_error(&b, 0, WODAN_E_DUMP, 20, NONE);
	b_free(&b);

	print_message("reserved initial byte\n");
	b_hex(&b, "d9d9f7 bc");
	expect_error(&b, 0, WODAN_E_DUMP, 3, NONE);
	b_free(&b);

	print_message("unknown key nested too deep\n");
	b_hex(&b, "d9d9f7 a4 61 78");
	for (int i = 0; i < 100; i++)
		b_hex(&b, "81");
	b_hex(&b, "00");
	expect_error(&b, 0, WODAN_E_DUMP, 6 + 32, NONE);
	b_free(&b);
}

static void test_bad_records(void **state)
{
	struct bytes b = { 0 };
	(void)state;

	print_message("record with 3 elements (record 1)\n");
	example_with(&b, "82 44 00000001 42 6869 83 44 00000002 42 6869 40", 2);
	expect_error(&b, 0, WODAN_E_DUMP, 47, 1);
	b_free(&b);

	print_message("indefinite record with 3 elements\n");
	example_with(&b, "9f 44 00000002 42 6869 40 ff", 1);
	expect_error(&b, 0, WODAN_E_DUMP, 38, 0);
	b_free(&b);

	print_message("record with 1 element\n");
	example_with(&b, "9f 44 00000002 ff", 1);
	expect_error(&b, 0, WODAN_E_DUMP, 44, 0);
	b_free(&b);

	print_message("record not an array\n");
	example_with(&b, "44 00000002", 1);
	expect_error(&b, 0, WODAN_E_DUMP, 38, 0);
	b_free(&b);

	print_message("key not a byte string\n");
	example_with(&b, "82 64 61626364 42 6869", 1);
	expect_error(&b, 0, WODAN_E_DUMP, 39, 0);
	b_free(&b);

	print_message("wrong key length\n");
	example_with(&b, "82 45 0000000102 42 6869", 1);
	expect_error(&b, 0, WODAN_E_BAD_KEY, 39, 0);
	b_free(&b);

	print_message("short chunked key\n");
	example_with(&b, "82 44 00000001 42 6869 82 5f 41 00 42 0000 ff 40", 2);
	expect_error(&b, 0, WODAN_E_BAD_KEY, 48, 1);
	b_free(&b);

	print_message("value too large (max 1)\n");
	example_with(&b, EX_RECORD, 1);
	expect_error(&b, 1, WODAN_E_VALUE_TOO_LARGE, 44, 0);
	b_free(&b);

	print_message("value too large (65536)\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, "82 44 00000001 5a 00010000");
	b.len += 65536;   /* never read: rejected on its length */
	b.p = realloc(b.p, b.len);
	memset(b.p + b.len - 65536, 0, 65536);
	expect_error(&b, 0, WODAN_E_VALUE_TOO_LARGE, 44, 0);
	b_free(&b);

	print_message("chunked value too large\n");
	example_with(&b, "82 44 00000001 5f 42 6869 41 21 ff", 1);
	expect_error(&b, 2, WODAN_E_VALUE_TOO_LARGE, 44, 0);
	b_free(&b);

	print_message("misplaced break\n");
	example_with(&b, "ff", 0);
	expect_error(&b, 0, WODAN_E_DUMP, 38, 0);
	b_free(&b);
}

static void test_bad_end(void **state)
{
	struct bytes b = { 0 };
	(void)state;

	print_message("truncated after a record\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, EX_RECORD);
	expect_error(&b, 0, WODAN_E_DUMP, 47, 1);
	b_free(&b);

	print_message("truncated inside a record\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, EX_RECORD);
	b.len -= 1;
	expect_error(&b, 0, WODAN_E_DUMP, 46, 0);
	b_free(&b);

	print_message("truncated inside the trailer\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, EX_RECORD);
	b_hex(&b, EX_TRAILER);
	b.len -= 2;
	expect_error(&b, 0, WODAN_E_DUMP, 67, 1);
	b_free(&b);

	print_message("garbage after trailer\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, EX_RECORD);
	b_hex(&b, EX_TRAILER);
	b_hex(&b, "00");
	expect_error(&b, 0, WODAN_E_DUMP, 69, 1);
	b_free(&b);

	print_message("records mismatch\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, EX_RECORD);
	b_trailer(&b, 2, 0x9ab2280a);
	expect_error(&b, 0, WODAN_E_DUMP, 56, 1);
	b_free(&b);

	print_message("crc mismatch\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, EX_RECORD);
	b_trailer(&b, 1, 0x9ab2280b);
	expect_error(&b, 0, WODAN_E_DUMP, 64, 1);
	b_free(&b);

	print_message("crc missing\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, EX_RECORD);
	b_hex(&b, "a1 67 7265636f726473 01");
	expect_error(&b, 0, WODAN_E_DUMP, 47, 1);
	b_free(&b);
}

/* 4 GiB length prefixes on tiny inputs: errors, never allocations (run
 * under ASan/valgrind to see that). */
static void test_huge_lengths(void **state)
{
	struct bytes b = { 0 };
	(void)state;

	print_message("4 GiB value\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, "82 44 00000001 5b 0000000100000000 6869");
	expect_error(&b, 0, WODAN_E_VALUE_TOO_LARGE, 44, 0);
	b_free(&b);

	print_message("4 GiB key\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, "82 5b 0000000100000000 00");
	expect_error(&b, 0, WODAN_E_BAD_KEY, 39, 0);
	b_free(&b);

	print_message("4 GiB header key on 13 bytes\n");
	b_hex(&b, "d9d9f7 a3 7b 0000000100000000");
	assert_int_equal(b.len, 13);
	expect_error(&b, 0, WODAN_E_DUMP, 13, NONE);
	b_free(&b);

	print_message("2^64-1 element unknown array\n");
	b_hex(&b, "d9d9f7 a1 61 78 9b ffffffffffffffff 00");
	expect_error(&b, 0, WODAN_E_DUMP, 16, NONE);
	b_free(&b);

	print_message("2^64-1 element record\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, "9b ffffffffffffffff");
	expect_error(&b, 0, WODAN_E_DUMP, 38, 0);
	b_free(&b);

	print_message("chunked value summing past 2^64\n");
	b_hex(&b, EX_HEADER);
	b_hex(&b, "82 44 00000001 5f 41 00 5b ffffffffffffffff ff");
	expect_error(&b, 0, WODAN_E_VALUE_TOO_LARGE, 44, 0);
	b_free(&b);
}

static void test_io_errors(void **state)
{
	struct bytes b = { 0 }, out = { 0 };
	struct wodan_dump_header h = { 0 };
	wodan_dump_writer *wr;
	wodan_dump_reader *rd;
	const uint8_t *k, *v;
	size_t vl;
	uint8_t key[4] = { 0 };
	(void)state;

	b_hex(&b, EX_HEADER);
	b_hex(&b, EX_RECORD);
	b_hex(&b, EX_TRAILER);
	struct src s = { b.p, b.len, 0, 10, 40 };
	assert_int_equal(wodan_dump_reader_new(read_cb, &s, 0, &rd), 0);
	assert_int_equal(wodan_dump_reader_next(rd, &k, &v, &vl),
			 WODAN_E_IO_READ);
	wodan_dump_reader_free(rd);
	b_free(&b);

	/* writer argument checks and a failing write callback */
	h.key_size_bytes = 0;
	assert_int_equal(wodan_dump_writer_new(&h, write_cb, &out, &wr),
			 WODAN_E_INVAL);
	h.key_size_bytes = 256;
	assert_int_equal(wodan_dump_writer_new(&h, write_cb, &out, &wr),
			 WODAN_E_INVAL);
	h.key_size_bytes = 4;
	assert_int_equal(wodan_dump_writer_new(&h, write_cb, &out, &wr), 0);
	assert_int_equal(wodan_dump_writer_record(wr, key, 3, "", 0),
			 WODAN_E_BAD_KEY);
	assert_int_equal(wodan_last_error()->record, 0);
	assert_int_equal(wodan_dump_writer_record(wr, key, 4, NULL, 65536),
			 WODAN_E_VALUE_TOO_LARGE);
	assert_int_equal(wodan_dump_writer_record(wr, key, 4, "x", 1), 0);
	out.fail = 1;
	assert_int_equal(wodan_dump_writer_finish(wr, NULL), WODAN_E_IO_WRITE);
	assert_int_equal(wodan_dump_writer_new(&h, write_cb, &out, &wr),
			 WODAN_E_IO_WRITE);
	out.fail = 0;
	assert_int_equal(wodan_dump_writer_new(&h, write_cb, &out, &wr), 0);
	wodan_dump_writer_free(wr);
	b_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc_check_value),
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_empty_and_optional_fields),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_indefinite_lengths),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_bad_records),
		cmocka_unit_test(test_bad_end),
		cmocka_unit_test(test_huge_lengths),
		cmocka_unit_test(test_io_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
