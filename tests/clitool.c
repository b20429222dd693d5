/*
 * clitool.c -- small helpers for the wodanc shell tests (no python needed):
 *
 *   clitool random SEED BYTES      BYTES pseudo-random bytes (splitmix64
 *                                  of SEED) on stdout
 *   clitool setgen IMAGE GEN       set the generation of IMAGE's newest
 *                                  root (doc/SPEC.md §5.1: byte 1, u64 LE)
 *                                  to GEN and re-seal its CRC-32C trailer
 *                                  (§4); prints the block number
 *   clitool gpt FILE               write a protective MBR and a GPT header
 *                                  with an empty partition array at the
 *                                  start of FILE (512-byte sectors; the
 *                                  backup header in the last sector)
 *
 * Exit 0, or 1 with a message on stderr.  Inputs are test fixtures, but
 * every length read from a file is still bounded.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "clitool: ARG: WHAT" on stderr; returns 1. */
static int die(const char *what, const char *arg)
{
	fprintf(stderr, "clitool: %s: %s\n", arg, what);
	return 1;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (uint8_t)v;
}

/* Bitwise CRC with a reflected polynomial (CRC-32C: 0x82f63b78; the
 * CRC-32 of GPT: 0xedb88320), initial value and final xor ~0. */
static uint32_t crc(uint32_t poly, const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	while (n--) {
		c ^= *p++;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ poly : c >> 1;
	}
	return ~c;
}

#define CRC32C 0x82f63b78u
#define CRC32 0xedb88320u

/* A unit is valid when its trailer is the complement of the CRC-32C of
 * the bytes before it, or the fuzzing trailer ff ff ff ff. */
static int unit_ok(const uint8_t *u, size_t len)
{
	return le(u + len - 4, 4) == 0xffffffffu ||
	       (uint32_t)le(u + len - 4, 4) == (uint32_t)~crc(CRC32C, u,
							      len - 4);
}

static int cmd_random(const char *seed_s, const char *n_s)
{
	uint64_t s = strtoull(seed_s, NULL, 10);
	uint64_t n = strtoull(n_s, NULL, 10), i;

	for (i = 0; i < n; i += 8) {
		uint8_t b[8];
		put_le(b, splitmix(&s), 8);
		fwrite(b, 1, n - i < 8 ? (size_t)(n - i) : 8, stdout);
	}
	return fflush(stdout) ? die("write error", "stdout") : 0;
}

static int cmd_setgen(const char *path, const char *gen_s)
{
	uint64_t gen = strtoull(gen_s, NULL, 10), bs, lsize, best = 0, L;
	uint64_t best_gen = 0;
	uint8_t sb[512], *blk;
	FILE *f = fopen(path, "r+b");

	if (!f)
		return die("cannot open", path);
	if (fread(sb, 1, sizeof sb, f) != sizeof sb)
		return die("no superblock", path);
	bs = le(sb + 28, 4);
	lsize = le(sb + 41, 8);
	if (bs < 512 || bs > (64u << 20) || bs % 512 || lsize < 2 ||
	    lsize > (1u << 24))
		return die("superblock geometry out of range", path);
	blk = malloc(bs);
	if (!blk)
		return die("out of memory", "setgen");
	for (L = 1; L < lsize; L++) {
		if (fseeko(f, (off_t)(L * bs), SEEK_SET) ||
		    fread(blk, 1, bs, f) != bs)
			break;
		if (blk[0] != 1 || memcmp(blk + 9, sb + 49, 16) ||
		    !unit_ok(blk, bs))
			continue;
		if (!best || le(blk + 1, 8) > best_gen) {
			best = L;
			best_gen = le(blk + 1, 8);
		}
	}
	if (!best)
		return die("no root found", path);
	if (fseeko(f, (off_t)(best * bs), SEEK_SET) ||
	    fread(blk, 1, bs, f) != bs)
		return die("cannot reread the root", path);
	put_le(blk + 1, gen, 8);
	put_le(blk + bs - 4, (uint32_t)~crc(CRC32C, blk, bs - 4), 4);
	if (fseeko(f, (off_t)(best * bs), SEEK_SET) ||
	    fwrite(blk, 1, bs, f) != bs || fclose(f))
		return die("cannot write the root", path);
	printf("%llu\n", (unsigned long long)best);
	free(blk);
	return 0;
}

/* One GPT header (92 bytes used of a 512-byte sector). */
static void gpt_header(uint8_t *h, uint64_t self, uint64_t alt,
		       uint64_t last_usable, uint64_t entries_lba,
		       uint32_t entries_crc)
{
	memset(h, 0, 512);
	memcpy(h, "EFI PART", 8);
	put_le(h + 8, 0x00010000, 4);         /* revision 1.0 */
	put_le(h + 12, 92, 4);                /* header size */
	put_le(h + 24, self, 8);
	put_le(h + 32, alt, 8);
	put_le(h + 40, 34, 8);                /* first usable LBA */
	put_le(h + 48, last_usable, 8);
	memcpy(h + 56, "wodan-test-disk!", 16); /* disk GUID */
	put_le(h + 72, entries_lba, 8);
	put_le(h + 80, 128, 4);               /* number of entries */
	put_le(h + 84, 128, 4);               /* size of an entry */
	put_le(h + 88, entries_crc, 4);
	put_le(h + 16, crc(CRC32, h, 92), 4); /* header CRC (field 0) */
}

static int cmd_gpt(const char *path)
{
	static uint8_t entries[128 * 128], s[512];
	FILE *f = fopen(path, "r+b");
	uint64_t sectors, ecrc;
	long end;

	if (!f || fseek(f, 0, SEEK_END) || (end = ftell(f)) < 0)
		return die("cannot open", path);
	sectors = (uint64_t)end / 512;
	if (sectors < 128)
		return die("too small for a GPT", path);
	/* protective MBR: one partition of type 0xee over the disk */
	memset(s, 0, sizeof s);
	s[446 + 4] = 0xee;
	put_le(s + 446 + 8, 1, 4);
	put_le(s + 446 + 12, sectors - 1 > 0xffffffffu ? 0xffffffffu
						       : sectors - 1, 4);
	s[446 + 1] = 0; s[446 + 2] = 2; s[446 + 3] = 0;     /* CHS start */
	s[446 + 5] = 0xff; s[446 + 6] = 0xff; s[446 + 7] = 0xff;
	s[510] = 0x55;
	s[511] = 0xaa;
	ecrc = crc(CRC32, entries, sizeof entries);
	if (fseek(f, 0, SEEK_SET) || fwrite(s, 1, 512, f) != 512)
		return die("write error", path);
	gpt_header(s, 1, sectors - 1, sectors - 34, 2, (uint32_t)ecrc);
	if (fwrite(s, 1, 512, f) != 512 ||
	    fwrite(entries, 1, sizeof entries, f) != sizeof entries)
		return die("write error", path);
	if (fseeko(f, (off_t)((sectors - 33) * 512), SEEK_SET) ||
	    fwrite(entries, 1, sizeof entries, f) != sizeof entries)
		return die("write error", path);
	gpt_header(s, sectors - 1, 1, sectors - 34, sectors - 33,
		   (uint32_t)ecrc);
	if (fwrite(s, 1, 512, f) != 512 || fclose(f))
		return die("write error", path);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "random"))
		return cmd_random(argv[2], argv[3]);
	if (argc == 4 && !strcmp(argv[1], "setgen"))
		return cmd_setgen(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "gpt"))
		return cmd_gpt(argv[2]);
	fprintf(stderr, "usage: clitool random SEED BYTES | setgen IMAGE GEN "
		"| gpt FILE\n");
	return 2;
}
