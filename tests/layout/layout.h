/*
 * layout/layout.h -- the layout suite, tests/test_layout (files: main.c,
 * superblock.c, node.c, decode.c, mkfs.c): byte-exact Wodan layout v1
 * (doc/SPEC.md §1-§8).
 *
 * Every expected block below is built BY HAND from the tables of doc/SPEC.md
 * (hex literals written field by field, with the offset and field name in a
 * comment), never by calling the encoder.  The CRC of each hand-built unit is
 * computed with wd_crc32c over the hand-built bytes AND pinned as a literal
 * (the literals were cross-checked with an independent Python CRC-32C).
 *
 *  1. superblock (bs 4096, ks 20, fbw 5, lsize 16, fsid 00..0f) with incompat
 *     0x7 (readable by the original) and 0xF; a wide-field variant pinning the
 *     byte order of the misaligned u64s; decode of each field; rejections.
 *  2. empty root (rdepth 0, gen 1) and a preroot (gen 0), bs 4096 ks 4.
 *  3. root with two logged items and two child links (rdepth 1).
 *  4. child leaf (type 2, 29-byte header) with items, and an inner child.
 *  5. decode round trips, and rejections of hostile blocks.
 *  6. a whole image made by wodan_mkfs on a RAM backend, then a flush.
 *
 * WODAN_SEED replays the randomised parts (mkfs picks fbw and fsid itself).
 */
#ifndef WODAN_TEST_LAYOUT_H
#define WODAN_TEST_LAYOUT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "testutil.h"
#include "crc.h"
#include "error.h"
#include "node.h"
#include "nodecodec.h"
#include "superblock.h"

/* ========================================================= 1. superblock */

#define SB_DEV_BYTES (16ull * 4096) /* exactly lsize blocks */

/* Pinned CRC trailers of the two hand-built superblocks. */
#define SB7_CRC "9f 7e 03 6f"
#define SBF_CRC "d1 03 32 90"
#define SBW1_CRC "45 3a 84 2f"
#define SBW2_CRC "ee 7b da d6"

#define DEV SB_DEV_BYTES

/* ========================================================== node blocks */

/* Node geometry: bs 4096, ks 4, lsize 64, fsid a0..af.
 * block_end 4092, cl 12: link slot i at 4080 - 12 i. */
#define NBS 4096
#define NKS 4

#define FSID_HEX "a0 a1 a2 a3 a4 a5 a6 a7 a8 a9 aa ab ac ad ae af"

/* 2. empty root, rdepth 0 (gen 1: what mkfs writes; gen 0: a preroot) */
#define EMPTY_ROOT_G1_CRC "b4 83 58 17"
#define PREROOT_CRC "be 7f 04 5b"

/* 3. root, gen 7, rdepth 1, two logged items and two child links */
#define ROOT2_CRC "53 20 b5 82"

/* 4a. child leaf at 42 (range (40000000, ffffffff]), gen 5, 3 items */
#define LEAF_CRC "3a 60 49 ab"

/* 4b. inner child at 3 (range (-inf, 40000000], rdepth 1), gen 4: one item
 * and three links */
#define INNER_CRC "28 6a 40 32"

/* ============================================================ 6. mkfs */

#define IMG_BS 4096u
#define IMG_KS 20u

extern uint64_t seed;
void hx(uint8_t *buf, size_t *off, const char *hex);
void hand_seal(uint8_t *u, size_t len, const char *pinned);
void assert_bytes(const uint8_t *want, const uint8_t *got, size_t len,
			 const char *what);
int all_zero(const uint8_t *p, size_t len);
uint32_t le32(const uint8_t *p);
uint64_t le64(const uint8_t *p);
void put32(uint8_t *p, uint32_t v);
void put64(uint8_t *p, uint64_t v);
void test_sb_bytes(void **state);
void test_sb_wide_fields(void **state);
void test_sb_reject(void **state);
void node_geom(struct wd_geom *g);
extern const uint8_t FF4[4];
extern const uint8_t K40[4];
void hand_empty_root(uint8_t *blk, const char *gen, const char *crc);
void hand_root2(uint8_t *blk);
void hand_leaf(uint8_t *blk);
void hand_inner(uint8_t *blk);
void encode(const struct wd_geom *g, const struct wd_node *n,
		   uint64_t gen, uint8_t *blk);
struct wd_node *mk_root2(void);
struct wd_node *mk_leaf(void);
struct wd_node *mk_inner(void);
void test_node_empty_root(void **state);
void test_node_root2(void **state);
void test_node_child(void **state);
void test_decode_roundtrip(void **state);
void test_decode_reject_header(void **state);
void test_decode_reject_items(void **state);
void test_decode_unsorted(void **state);
void test_decode_reject_links(void **state);
void test_mkfs_image(void **state);
void test_mkfs_flush(void **state);

#endif
