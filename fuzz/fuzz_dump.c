/*
 * fuzz_dump.c -- libFuzzer harness for the dump reader (lib/dump.c,
 * wodan_dump.h, doc/DUMP.md §6).  The input is a dump byte
 * stream (seeds: doc/DUMP.md §8.1, the malformed dumps of tests/cli.sh,
 * dumps written by `wodanc dump`).
 *
 * Pass 1 reads the stream through a callback that returns short, varying
 * chunks (window refills at every boundary) and asserts: no crash, no
 * sanitizer report; every record has the header's key size and a value
 * within the bound; offsets never decrease nor pass the input; a valid end
 * consumed the whole input.  Pass 2, for a valid dump only, restores it
 * (wodan_restore) into a fresh RAM image and checks every key against the
 * last record that named it (an empty value deletes in a tombstone dump).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "wodan.h"
#include "wodan_dump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c) do { if (!(c)) { fprintf(stderr, \
	"fuzz_dump: %s:%d: %s\n", __FILE__, __LINE__, #c); abort(); } \
	} while (0)

struct src {
	const uint8_t *p;
	size_t len, off;
	uint32_t h;       /* chunk-size generator; 0 = whole reads */
};

static long src_read(void *arg, void *buf, size_t len)
{
	struct src *s = arg;
	size_t n = s->len - s->off;

	if (s->h) {
		s->h = s->h * 1103515245u + 12345u;
		size_t c = (s->h >> 16) % 4 == 0 ? 1 + (s->h >> 8) % 4096
						  : 1 + (s->h >> 8) % 13;
		if (n > c)
			n = c;
	}
	if (n > len)
		n = len;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	return (long)n;
}

struct rec {
	const uint8_t *key, *val;  /* into a copy of the records */
	size_t len, idx;
};

static uint32_t cmp_ks;

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	int c = memcmp(x->key, y->key, cmp_ks);

	return c ? c : (x->idx < y->idx ? -1 : x->idx > y->idx);
}

static void restore_and_check(const uint8_t *data, size_t size,
			      struct rec *recs, size_t n, uint32_t ks,
			      int tomb)
{
	struct wodan_backend *be;
	struct wodan_mkfs_params p = { 0 };
	struct wodan_dump_reader *rd;
	struct src s = { data, size, 0, 0 };
	wodan_t *w;
	uint64_t done = 0;
	static uint8_t buf[65536];
	int r;

	p.block_size_bytes = ks <= 76 ? 4096 : ks <= 161 ? 8192 : 16384;
	p.key_size_bytes = ks;
	p.tombstones = tomb;
	REQUIRE(wodan_backend_ram_create(1024ull * p.block_size_bytes, &be) ==
		0);
	REQUIRE(wodan_mkfs(be, &p, NULL) == 0);
	REQUIRE(wodan_open(be, NULL, &w) == 0);
	REQUIRE(wodan_dump_reader_new(src_read, &s, 0, &rd) == 0);
	r = wodan_restore(w, rd, NULL, NULL, &done);
	wodan_dump_reader_free(rd);
	if (r == 0) {
		REQUIRE(done == n);
		cmp_ks = ks;
		qsort(recs, n, sizeof *recs, rec_cmp);
		for (size_t i = 0; i < n; i++) {
			size_t len = 0;
			int want, got;
			if (i + 1 < n && !memcmp(recs[i].key, recs[i + 1].key, ks))
				continue;       /* a later record wins */
			want = !(tomb && recs[i].len == 0);
			got = wodan_lookup(w, recs[i].key, ks, buf, sizeof buf,
					   &len);
			REQUIRE(got == want);
			REQUIRE(!want || (len == recs[i].len &&
					  !memcmp(buf, recs[i].val, len)));
		}
	} else {
		/* values over this image's maximum, or the image is full */
		REQUIRE(r == WODAN_E_VALUE_TOO_LARGE ||
			r == WODAN_E_OUT_OF_SPACE);
	}
	wodan_close(w);
	wodan_backend_close(be);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wodan_dump_reader *rd;
	struct src s = { data, size, 0, 0x9e3779b9u ^ (uint32_t)size };
	const struct wodan_dump_header *h;
	struct rec *recs = NULL;
	uint8_t *copy = NULL;
	size_t n = 0, used = 0;
	uint64_t last_off;
	const uint8_t *key, *val;
	size_t val_len;
	int r;

	if (size > (1u << 20))
		return 0;
	r = wodan_dump_reader_new(src_read, &s, 0, &rd);
	if (r) {
		REQUIRE(r == WODAN_E_DUMP || r == WODAN_E_IO_READ);
		return 0;
	}
	h = wodan_dump_reader_header(rd);
	REQUIRE(h->version == 1);
	REQUIRE(h->key_size_bytes >= 1 && h->key_size_bytes <= 255);
	/* records cannot hold more bytes than the input */
	copy = malloc(size + 1);
	recs = malloc((size / 2 + 1) * sizeof *recs);
	REQUIRE(copy && recs);
	last_off = wodan_dump_reader_offset(rd);
	REQUIRE(last_off <= size);
	while ((r = wodan_dump_reader_next(rd, &key, &val, &val_len)) == 1) {
		uint64_t off = wodan_dump_reader_offset(rd);
		REQUIRE(off >= last_off && off <= size);
		last_off = off;
		REQUIRE(val_len <= 65535);
		REQUIRE(n < size / 2 + 1);
		REQUIRE(used + h->key_size_bytes + val_len <= size);
		memcpy(copy + used, key, h->key_size_bytes);
		if (val_len)
			memcpy(copy + used + h->key_size_bytes, val, val_len);
		recs[n].key = copy + used;
		recs[n].val = copy + used + h->key_size_bytes;
		recs[n].len = val_len;
		recs[n].idx = n;
		n++;
		used += h->key_size_bytes + val_len;
		REQUIRE(wodan_dump_reader_records(rd) == n);
	}
	if (r == 0) {
		REQUIRE(wodan_dump_reader_offset(rd) == size);
		restore_and_check(data, size, recs, n, h->key_size_bytes,
				  h->tombstones);
	} else {
		REQUIRE(r == WODAN_E_DUMP || r == WODAN_E_VALUE_TOO_LARGE ||
			r == WODAN_E_BAD_KEY || r == WODAN_E_IO_READ);
	}
	wodan_dump_reader_free(rd);
	free(recs);
	free(copy);
	return 0;
}
