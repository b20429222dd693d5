/*
 * mount.h -- superblock read, newest-root search, validation walk (internal).
 *
 * Root search (doc/SPEC.md §8.1): root candidates (type 1, our fsid, valid CRC)
 * read in circular order from first_block_written have increasing
 * generations up to the newest root, then older ones; bisection finds the end
 * of that run with O(log n) linear probes.
 *
 * Validation walk (doc/SPEC.md §8.2): every reachable node is
 * read and decoded (the decoder checks the in-node rules), every block is
 * referenced at most once (single ownership), generations strictly decrease
 * downwards, and the free-space map is built from what is reachable.  With
 * fast_scan, leaves are only marked used and are validated when loaded.
 *
 * Scratch: w->mount_blk is this module's alone (a candidate's header or
 * block between its read and its test, a node between its read and its
 * decoding, within one call).
 */
#ifndef WD_MOUNT_H
#define WD_MOUNT_H

#include <stdint.h>
#include "handle.h"

/* Problems found by a walk in "collect" mode (check).  The walk hands each
 * problem to note (check.c's wd_report_problem), so this layer never calls
 * the one above it. */
struct wd_walk_report {
	struct wodan_check_report *rep; /* NULL: fail on the first problem */
	void (*note)(struct wodan_check_report *rep, uint64_t L, int code);
	wodan_progress_fn progress;
	void *progress_arg;
	uint64_t done;
	int aborted;
};

/* Read and validate the superblock of be into g.  Errors as wd_sb_decode,
 * WODAN_E_IO_READ, WODAN_E_NOMEM. */
int wd_read_superblock(struct wodan_backend *be, unsigned flags,
		       struct wd_geom *g);

/* Find the newest root candidate: *L and *gen.  WODAN_E_NO_ROOT when only
 * preroots (generation 0) or nothing was found. */
int wd_find_root(struct wodan *w, uint64_t *L, uint64_t *gen);

/* Every root candidate on the device (full scan), newest first, at most
 * max entries; returns the count or a negative error. */
int wd_list_roots(struct wodan *w, uint64_t *Ls, uint64_t *gens, int max);

/* Load root L, walk its tree building w->sm, install it as w->root.  With
 * wr->rep set, problems are collected instead of failing (the map is then
 * best effort).  Returns 0, a negative error, or 1 when problems were
 * collected. */
int wd_mount_root(struct wodan *w, uint64_t L, int fast_scan,
		  struct wd_walk_report *wr);

#endif
