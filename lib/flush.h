/*
 * flush.h -- making the dirty tree durable (internal).
 *
 * Order (doc/SPEC.md §11.2, fixes doc/ORIGINAL.md L3/L4):
 *   1. every dirty non-root node, children before parents (post-order), each
 *      with a new generation and a freshly allocated block;
 *   2. barrier;
 *   3. the root, with the largest generation;
 *   4. barrier;
 *   5. only now the blocks of the replaced versions become free.
 * A power cut before step 4 completes leaves the previous root and its whole
 * tree intact (none of its blocks was reused).
 *
 * Scratch: w->flush_blk is this module's alone (the root, or a node
 * written without the batch buffer, between its encoding and its write;
 * a free block read by the scrub), within one call.
 */
#ifndef WD_FLUSH_H
#define WD_FLUSH_H

#include "handle.h"

/* Flush; on success w->gen/w->root_addr name the new durable root.  On
 * failure the in-memory tree is unchanged (still dirty); the blocks the
 * failed attempt took are freed at once (failure before the root write) or
 * when the next flush is durable (see flush.c).
 * Errors: WODAN_E_IO_WRITE, _IO_BARRIER, _OUT_OF_SPACE, _CORRUPT (a node
 * no longer fits: internal bug guard), _NOMEM. */
int wd_flush(struct wodan *w);

/* Run before a writable handle's first write (wd_flush does; the journal's
 * commits follow a checkpoint): when the open left j.scrub_pending, zero
 * the blocks an interrupted writer left torn after the durable tree and
 * raise next_gen above every generation it used (flush.c explains why).
 * 0, or WODAN_E_IO_WRITE, _IO_BARRIER, _NOMEM (the flag stays: retried by
 * the next write). */
int wd_flush_prepare(struct wodan *w);

#endif
