/*
 * oracle.h -- an on-disk oracle for the tests, independent of the
 * library's code: its own CRC-32C (defined bitwise, doc/SPEC.md §4) and a
 * walk over the tree of an image as the layout describes it (doc/SPEC.md
 * §5).  Reads only the caller's bytes; not thread-safe on first use (the
 * CRC table is built then).
 */
#ifndef WODAN_TEST_ORACLE_H
#define WODAN_TEST_ORACLE_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C (reflected polynomial 0x82F63B78, init and final xor
 * 0xFFFFFFFF) of len bytes, continuing a previous standard value crc (0 to
 * start). */
uint32_t oracle_crc32c(uint32_t crc, const uint8_t *p, size_t len);

/* A unit (block or superblock) is valid when the CRC-32C of all its bytes,
 * the trailing CRC included, is 0xFFFFFFFF. */
int oracle_crc_ok(const uint8_t *p, size_t len);

static inline uint64_t oracle_le64(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 7; i >= 0; i--)
		x = (x << 8) | p[i];
	return x;
}

static inline uint32_t oracle_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

struct oracle_node {
	uint64_t L, gen;
	int is_root;
	uint32_t rdepth;          /* levels below: 0 for a leaf */
	const uint8_t *lo, *hi;   /* key bounds (lo, hi]; NULL: open */
	int parent;               /* the visitor's id of the parent; -1 */
	const uint8_t *blk;       /* the block's bytes */
};

/* Called for every node, parent before children; returns an id for the
 * node (handed to its children as parent), or a negative number to stop
 * the walk (which then returns -1). */
typedef int (*oracle_visit_fn)(void *arg, const struct oracle_node *n);

/*
 * Walk the tree rooted at block root of img (lsize blocks of bs bytes, keys
 * of ks bytes).  Every node must be inside (0, lsize), CRC-valid, of the
 * right type (1 root, 2 other), carry fsid (16 bytes; NULL: not checked),
 * have a generation below its parent's, and items and links that fit the
 * block.  Returns 0, or -1 at the first node that does not (or when visit
 * stops the walk).  visit may be NULL.
 */
int oracle_walk(const uint8_t *img, uint64_t lsize, uint32_t bs, uint32_t ks,
		const uint8_t *fsid, uint64_t root, oracle_visit_fn visit,
		void *arg);

#endif
