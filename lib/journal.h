/*
 * journal.h -- the redo journal of incompat flag 0x10 (internal).
 *
 * With small durable commits a copy-on-write tree rewrites whole blocks:
 * every commit of 10,000 45-byte items rewrites about 29 blocks of 256 KiB
 * (doc/DESIGN.md §15).  On an image made with the journal flag, a commit
 * (wodan_flush) instead appends only the items inserted since the previous
 * commit to journal blocks and issues one barrier; the tree itself is
 * written at checkpoints (a full flush: when the dirty soft ceiling is
 * reached, the journal grows past its limit, space runs short, the handle
 * closes, or at open).  This is the redo log of TokuDB and BetrFS, kept in
 * the blocks of the circular log.  The block format is doc/SPEC.md §10.
 *
 * Epochs.  A journal extends one root, the epoch's root: every record names
 * its generation (root_gen).  A checkpoint starts a new epoch and frees the
 * old epoch's blocks once its root is durable; a writable open replays and
 * then checkpoints at once, so every epoch is written by one handle.
 *
 * Placement (J1).  The i-th journal block of an epoch is the first block
 * after the (i-1)-th (after the epoch's root for i = 0), going round the
 * ring, that is free in the space map of the epoch's tree.  At run time the
 * space map holds exactly that tree plus the epoch's journal blocks (a
 * checkpoint releases every deferred block, and nothing else allocates
 * between checkpoints), so mount finds the records by walking the same
 * sequence after its validation walk rebuilt the map.  Journal commits are
 * only made after a successful checkpoint (`ok`).
 *
 * Commits (J2).  Every commit attempt takes a fresh generation from
 * next_gen, so generations rise along the chain.  A commit of k blocks
 * writes records idx 0..k-1, each carrying k, then a barrier; only then is
 * it acknowledged.  Replay accepts a record when its type, fsid, CRC and
 * root_gen match and it either starts a commit (idx 0, generation above
 * the previous commit's) or continues the current one (same generation,
 * idx + 1, same k); it applies a commit only when all k records are there,
 * and stops at the first record that fits neither rule.  A failed attempt
 * frees its blocks and the retry (a larger generation, at least as many
 * blocks: the pending items only grow) overwrites them, so a stale record
 * left behind never continues a chain.
 */
#ifndef WD_JOURNAL_H
#define WD_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

struct wodan;

#define WD_TYPE_JOURNAL 3
#define WD_JOURNAL_HDR 45u /* type, gen, fsid, root_gen, idx, count, nitems */
/* Generations at or above this end a replay (and refuse a writable open
 * at mount): far above anything a device can reach, and next_gen must
 * never wrap to 0 (a preroot's generation). */
#define WD_GEN_LIMIT (1ull << 62)

/* The last item the tree refused with NEEDS_FLUSH (tree.c), for the flush
 * that must make room for its retry (wd_checkpoint). */
struct wd_refused {
	uint8_t key[256];
	uint32_t len;        /* value bytes (0 with tombstones: a deletion) */
	uint64_t op;         /* stats inserts + deletes when it was refused */
	int set;
};

/* (want_checkpoint and refused serve images without the journal too: they
 * are the flush policy of wd_commit and wd_checkpoint) */
struct wd_journal {
	int on;              /* image has WD_FLAG_JOURNAL */
	int ok;              /* commits allowed: the last checkpoint succeeded */
	int want_checkpoint; /* a ceiling or space answer asked for a flush */
	struct wd_refused refused;
	int scrub_pending;   /* writable open: wd_flush_prepare before the
			      * first write (flush.h) */
	uint64_t root_gen;   /* the epoch's root */
	uint64_t last;       /* last journal block, or the epoch's root block */
	/* items inserted since the last durable commit, in order, each as
	 * key (ks), u16 length, value: the on-disk item form */
	uint8_t *buf;
	size_t len, cap;
	uint64_t nitems;
	uint32_t pack_blocks;  /* journal blocks those items fill */
	uint32_t pack_used;    /* item bytes in the last of them */
	/* the epoch's journal blocks, in chain order */
	uint64_t *blocks;
	size_t nblocks, blocks_cap;
	uint64_t limit_blocks; /* checkpoint instead when the journal would
				* pass this many blocks */
	uint8_t *blk;          /* journal.c's scratch block for encoding a
				* record (bs bytes, allocated by
				* wd_journal_open when `on`); no other module
				* touches it */
};

/* Record an insert (len 0 with tombstones: a deletion) that has just
 * succeeded in the tree.  0 or WODAN_E_NOMEM; on NOMEM the tree change
 * stays and want_checkpoint is set, so the next flush writes the tree and
 * the insert still becomes durable: the caller may ignore the result. */
int wd_journal_append(struct wodan *w, const uint8_t *key, const uint8_t *val,
		      uint32_t len);
/* Make everything durable: a journal commit when allowed and worthwhile,
 * else a checkpoint.  Errors as wd_flush, plus WODAN_E_IO_WRITE / _BARRIER
 * from a journal commit (then nothing is acknowledged and a retry works). */
int wd_commit(struct wodan *w);
/* A full flush of the tree; on success a new epoch starts and the old
 * journal blocks are free.  When an insert or delete answered NEEDS_FLUSH
 * since the last checkpoint (want_checkpoint), it then also makes room for
 * the retry: the spills and splits that operation needs (any item of the
 * largest size when the refusal came before the tree saw the item, at the
 * soft ceiling), flushing as often as the ceilings and free blocks require,
 * and flushes those too.  So after it succeeds the retried operation either
 * goes through or answers OUT_OF_SPACE (or meets an error of its own: a
 * damaged child, NOMEM), never NEEDS_FLUSH.  Errors as wd_flush. */
int wd_checkpoint(struct wodan *w);
/* At open, after the validation walk: find and apply the epoch's committed
 * records (J1, J2; two passes, one block of memory), marking their blocks
 * used.  On a writable handle, then note that what an interrupted writer
 * left torn must be scrubbed before the first write (scrub_pending, also
 * on images without the journal, where this is all it does; flush.h) and
 * checkpoint (new epoch; the scrub runs then).  *commits = commits
 * applied.  Errors: read errors, WODAN_E_NOMEM, WODAN_E_NEEDS_FLUSH when
 * replaying needs more blocks than are free, and checkpoint errors. */
int wd_journal_open(struct wodan *w, uint64_t *commits);
/* Release the journal's memory (close). */
void wd_journal_free(struct wodan *w);

#endif
