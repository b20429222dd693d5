/* superblock.c -- encode/decode/validate the superblock (doc/SPEC.md §2). */
#include <string.h>
#include "crc.h"
#include "error.h"
#include "keys.h"
#include "superblock.h"

/* "MIRAGE KVFS " followed by U+1F42A (camel) in UTF-8. */
const uint8_t wd_magic[16] = { 'M', 'I', 'R', 'A', 'G', 'E', ' ', 'K',
			       'V', 'F', 'S', ' ', 0xf0, 0x9f, 0x90, 0xaa };

void wd_geom_derive(struct wd_geom *g)
{
	uint64_t q = (15ull * g->bs) / 16;
	g->block_end = g->bs - 4;
	g->q = (uint32_t)q;
	g->cl = g->ks + 8;
	g->cmax = (g->block_end - g->q) / g->cl;
	uint64_t mv = q > 35ull + g->ks ? q - 35 - g->ks : 0;
	g->max_value = mv > 65535 ? 65535 : (uint32_t)mv;
	g->tombstones = (g->incompat & WD_FLAG_TOMBSTONES) != 0;
}

int wd_geom_check(uint32_t bs, uint32_t ks, uint32_t io_size)
{
	if (ks < 1 || ks > 255)
		return wd_err(WODAN_E_INVAL, "key size %u not in 1..255", ks);
	if (bs < WD_MIN_BS || bs > WD_MAX_BS || bs % 512)
		return wd_err(WODAN_E_INVAL,
			      "block size %u: must be a multiple of 512 in "
			      "512..64 MiB", bs);
	if (bs >= 4096 && bs % 4096)
		return wd_err(WODAN_E_INVAL,
			      "block size %u: must be a multiple of 4096 once "
			      ">= 4096", bs);
	if (io_size && bs % io_size)
		return wd_err(WODAN_E_INVAL,
			      "block size %u is not a multiple of the device "
			      "I/O size %u", bs, io_size);
	return 0;
}

void wd_sb_encode(const struct wd_geom *g, uint8_t sb[WD_SB_SIZE])
{
	memset(sb, 0, WD_SB_SIZE);
	memcpy(sb, wd_magic, 16);
	wd_put32(sb + 16, 1);
	wd_put32(sb + 20, 0);
	wd_put32(sb + 24, g->incompat);
	wd_put32(sb + 28, g->bs);
	sb[32] = (uint8_t)g->ks;
	wd_put64(sb + 33, g->fbw);
	wd_put64(sb + 41, g->lsize);
	memcpy(sb + 49, g->fsid, 16);
	wd_crc_seal(sb, WD_SB_SIZE);
}

int wd_sb_decode(const uint8_t sb[WD_SB_SIZE], int relax_magic,
		 uint64_t dev_bytes, uint32_t io_size, struct wd_geom *g)
{
	memset(g, 0, sizeof *g);
	if (memcmp(sb, wd_magic, 16) != 0)
		return wd_err_block(WODAN_E_BAD_MAGIC, 0,
				    "superblock magic is not Wodan's");
	uint32_t version = wd_le32(sb + 16);
	if (version != 1)
		return wd_err_block(WODAN_E_BAD_VERSION, 0,
				    "layout version %u (only 1 is known)",
				    version);
	uint32_t inc = wd_le32(sb + 24);
	if ((inc & WD_FLAGS_REQUIRED) != WD_FLAGS_REQUIRED ||
	    (inc & ~WD_FLAGS_KNOWN))
		return wd_err_block(WODAN_E_BAD_FLAGS, 0,
				    "incompat flags 0x%x: unknown bits 0x%x, "
				    "missing required bits 0x%x",
				    inc, inc & ~WD_FLAGS_KNOWN,
				    ~inc & WD_FLAGS_REQUIRED);
	if (!wd_crc_valid(sb, WD_SB_SIZE, relax_magic))
		return wd_err_block(WODAN_E_BAD_CRC, 0, "superblock CRC mismatch");
	g->incompat = inc;
	g->bs = wd_le32(sb + 28);
	g->ks = sb[32];
	g->fbw = wd_le64(sb + 33);
	g->lsize = wd_le64(sb + 41);
	memcpy(g->fsid, sb + 49, 16);
	int r = wd_geom_check(g->bs, g->ks, io_size);
	if (r)
		return r;
	wd_geom_derive(g);
	uint64_t dev_blocks = dev_bytes / g->bs;
	if (g->lsize < 2 || g->lsize > dev_blocks)
		return wd_err_block(WODAN_E_INVAL, 0,
				    "logical size %llu blocks: must be 2..%llu "
				    "(device size / block size)",
				    (unsigned long long)g->lsize,
				    (unsigned long long)dev_blocks);
	if (g->fbw < 1 || g->fbw >= g->lsize)
		return wd_err_block(WODAN_E_INVAL, 0,
				    "first_block_written %llu outside 1..%llu",
				    (unsigned long long)g->fbw,
				    (unsigned long long)(g->lsize - 1));
	return 0;
}
