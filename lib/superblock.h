/*
 * superblock.h -- the 512-byte superblock of Wodan layout v1 and the derived
 * geometry (internal).  Bytes and checks: doc/SPEC.md §2.
 *
 *   off  size  field
 *     0   16   magic "MIRAGE KVFS " + U+1F42A
 *    16    4   version (1)
 *    20    4   compat_flags (ignored)
 *    24    4   incompat_flags (0x7 required, 0x8 tombstones, 0x10 journal)
 *    28    4   block_size
 *    32    1   key_size
 *    33    8   first_block_written
 *    41    8   logical_size (blocks, including block 0)
 *    49   16   fsid
 *    65  443   reserved (zero, ignored)
 *   508    4   CRC-32C trailer (doc/SPEC.md §4)
 */
#ifndef WD_SUPERBLOCK_H
#define WD_SUPERBLOCK_H

#include <stdint.h>

#define WD_SB_SIZE 512u
#define WD_FLAG_RDEPTH 0x1u
#define WD_FLAG_FSID 0x2u
#define WD_FLAG_VALUE_COUNT 0x4u
#define WD_FLAG_TOMBSTONES 0x8u
#define WD_FLAG_JOURNAL 0x10u /* redo journal blocks (lib/journal.h) */
#define WD_FLAGS_REQUIRED 0x7u
#define WD_FLAGS_KNOWN 0x1Fu
#define WD_ROOT_HDR 33u  /* root node header bytes (doc/SPEC.md §5.1) */
#define WD_CHILD_HDR 29u /* child node header bytes */
#define WD_MIN_BS 512u
#define WD_MAX_BS (64u << 20)

extern const uint8_t wd_magic[16];

/* Geometry of a mounted or to-be-made filesystem, with derived sizes. */
struct wd_geom {
	uint32_t bs;        /* block size, bytes */
	uint32_t ks;        /* key size, bytes */
	uint32_t incompat;  /* incompat flags as on disk */
	int tombstones;     /* incompat & 0x8 */
	uint64_t lsize;     /* logical size, blocks (incl. block 0) */
	uint64_t fbw;       /* first block written */
	uint8_t fsid[16];
	/* derived */
	uint32_t block_end; /* bs - 4: first CRC byte */
	uint32_t q;         /* floor(15*bs/16): inner-node log boundary */
	uint32_t cl;        /* child link bytes: ks + 8 */
	uint32_t cmax;      /* floor((block_end - q) / cl) */
	uint32_t max_value; /* min(65535, q - 35 - ks) (doc/SPEC.md §6) */
};

/* Fill the derived fields of g from bs and ks. */
void wd_geom_derive(struct wd_geom *g);

/* Check bs/ks/io_size rules (doc/SPEC.md §2): returns 0 or WODAN_E_INVAL with
 * a detail naming the rule. */
int wd_geom_check(uint32_t bs, uint32_t ks, uint32_t io_size);

/* Encode g into a 512-byte superblock with a real CRC. */
void wd_sb_encode(const struct wd_geom *g, uint8_t sb[WD_SB_SIZE]);

/* Decode and validate 512 bytes (doc/SPEC.md §2 order: magic, version,
 * flags, CRC, then the geometry rules against dev_blocks = device size
 * in blocks of bs and io_size).  Errors: WODAN_E_BAD_MAGIC, _BAD_VERSION,
 * _BAD_FLAGS, _BAD_CRC (block 0), _INVAL. */
int wd_sb_decode(const uint8_t sb[WD_SB_SIZE], int relax_magic,
		 uint64_t dev_bytes, uint32_t io_size, struct wd_geom *g);

#endif
