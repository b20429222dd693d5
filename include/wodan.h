/*
 * wodan.h -- public API of libwodan, a copy-on-write B-epsilon ("hitchhiker")
 * tree of fixed-size keys and bounded values stored directly on a block device
 * or a file, in Wodan layout version 1 (doc/SPEC.md).
 *
 * Conventions used by every function below:
 *  - Errors are negative `enum wodan_err` values; 0 (or a documented positive
 *    value) is success.  wodan_strerror() names an error; wodan_last_error()
 *    gives details (block address, rule, message) of the last error raised on
 *    the calling thread.
 *  - Sizes carry their unit in the name (`_bytes`, `_blocks`).  A "block" is
 *    the filesystem block size `bs` chosen at mkfs (512 B .. 64 MiB).
 *  - Keys are exactly `key_size_bytes` long (1..255) and compare bytewise
 *    (memcmp).  Values are 0..wodan_info.max_value_bytes long.
 *  - Thread-safety: a `wodan_t` handle is NOT thread-safe; callers serialise
 *    all calls on one handle.  Distinct handles on distinct backends may be
 *    used from distinct threads.  wodan_strerror() is thread-safe;
 *    wodan_last_error() is per thread.
 *  - Buffers passed in are borrowed for the duration of the call only, unless
 *    stated otherwise.
 *
 * ABI policy (doc/DESIGN.md, "ABI policy"): the structs callers allocate
 * (wodan_mkfs_params, wodan_open_opts, wodan_info, wodan_stats, and
 * struct wodan_backend in wodan_backend.h) grow only at their end.  None
 * but struct wodan_backend carries a size or version field yet, so the
 * next change to any of them changes the SONAME (that change adds a
 * leading struct_size field to each, so that later growth does not);
 * enum values and function signatures never change meaning within one
 * SONAME.  Zero-filled structs mean "defaults" and stay so.
 */
#ifndef WODAN_H
#define WODAN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WODAN_VERSION_STRING "0.1.0"

/* Version of the library actually linked, e.g. "0.1.0" (static string). */
const char *wodan_version(void);

/* ------------------------------------------------------------------ errors */

/* enum wodan_err (WODAN_E_*), wodan_strerror(), struct wodan_error_detail,
 * wodan_last_error(): see wodan_errors.h. */
#include "wodan_errors.h"

/* ---------------------------------------------------------------- backends */

/* The backend ABI (struct wodan_backend), the shipped backends, device
 * strings and plugins: see wodan_backend.h. */
#include "wodan_backend.h"

/* ------------------------------------------------------------------- mkfs */

#define WODAN_DEFAULT_BLOCK_SIZE 262144u /* doc/ORIGINAL.md §9 */
#define WODAN_DEFAULT_KEY_SIZE 20u
#define WODAN_DEFAULT_PREROOTS_INTERVAL 32u

struct wodan_mkfs_params {
	uint32_t block_size_bytes;   /* 0 = default (256 KiB) */
	uint32_t key_size_bytes;     /* 0 = default (20); 1..255 */
	uint64_t logical_size_blocks; /* 0 = device size / block size */
	int tombstones;              /* non-zero: set incompat bit 0x8 */
	uint32_t preroots_interval_blocks; /* 0 = default 32; UINT32_MAX = none */
	int magic_crc_write;         /* fuzzing only: nodes get ff ff ff ff */
	int discard;                 /* non-zero: discard the whole device
				      * (blocks 1..logical size - 1) before
				      * writing, like mke2fs; a backend
				      * without discard is not an error */
	int journal;                 /* non-zero: set incompat bit 0x10, a
				      * redo journal: wodan_flush appends the
				      * changes since the last flush to
				      * journal blocks instead of rewriting
				      * the tree (doc/SPEC.md §10).  The
				      * original Wodan cannot open such an
				      * image */
};

/*
 * Format `be` (doc/SPEC.md §7): writes an empty root (generation
 * 1) at a random first_block_written, then the 512-byte superblock (block 0,
 * written as one io_size I/O), then preroots, then a barrier.  Any old image
 * is overwritten without asking (the CLI asks).  With p->discard, blocks
 * 1..logical size - 1 are discarded first (one call; a backend without
 * discard, or answering -EOPNOTSUPP, is not an error).
 * *generation_out (may be NULL) receives 1.
 * Errors: WODAN_E_IO_DISCARD (the discard failed; nothing was written),
 * WODAN_E_INVAL (geometry: block size not a multiple of 512, of 4096
 * once >= 4096, or of the backend's I/O size; key size 0 or > 255; fewer than
 * 2 blocks; a geometry whose inner nodes cannot hold 3 links), WODAN_E_IO_*,
 * WODAN_E_LOCKED.
 * Lock: mkfs needs the device alone.  It takes WODAN_LOCK_EXCLUSIVE on `be`
 * before anything else; any other holder (a writer, a reader, a check, in
 * this process or another) makes it fail at once with WODAN_E_LOCKED,
 * touching nothing ("img: in use (opened by a reader, pid 99); mkfs needs
 * it alone").  A failed mkfs releases the lock.  After a successful one the
 * backend stays locked as this process's writer (EXCLUSIVE downgraded to
 * WODAN_LOCK_WRITER) until closed or opened writable: the next writable
 * wodan_open (or rollback open, or wodan_mkfs) on the same `be` adopts
 * that hold instead of being refused as a second writer, so no other
 * process can format or write the device between the mkfs and the open;
 * its wodan_close (or a failed open) releases it, as does
 * wodan_backend_close(be).  Read-only opens and wodan_check work beside
 * the hold.
 * Not thread-safe with respect to other users of `be`.
 */
int wodan_mkfs(struct wodan_backend *be, const struct wodan_mkfs_params *p,
	       uint64_t *generation_out);

/* ------------------------------------------------------------ open, close */

#define WODAN_OPEN_READONLY 0x1u    /* refuse inserts/deletes/flush */
#define WODAN_OPEN_FAST_SCAN 0x2u   /* do not read leaves at mount (they are
				     * verified when first loaded) */
#define WODAN_OPEN_NO_AUTOFLUSH 0x4u /* return NEEDS_FLUSH instead of
				      * flushing when dirty memory is full */
#define WODAN_OPEN_ROLLBACK 0x8u    /* if the newest root's tree is damaged,
				     * open the newest older intact root */
#define WODAN_OPEN_RELAX_MAGIC_CRC 0x10u /* accept ff ff ff ff CRC trailers
					  * (fuzzing only) */
#define WODAN_OPEN_MAGIC_CRC_WRITE 0x20u /* write ff ff ff ff node trailers */

struct wodan_open_opts {
	unsigned flags;              /* WODAN_OPEN_* */
	uint32_t expect_block_size_bytes; /* 0 = accept the superblock's */
	uint32_t expect_key_size_bytes;   /* 0 = accept the superblock's */
	uint64_t cache_bytes;        /* clean-node cache budget; 0 = 256 MiB
				      * (a 1M-key index of 45-byte entries
				      * takes about 110 MiB in memory) */
	uint64_t dirty_bytes;        /* dirty-node soft ceiling in bytes of
				      * node memory; 0 = 128 MiB.  Reaching it
				      * before an insert or delete flushes
				      * (or answers NEEDS_FLUSH with
				      * WODAN_OPEN_NO_AUTOFLUSH) */
	uint32_t max_fanout;         /* child links per inner node our splits
				      * allow; 0 = WODAN_DEFAULT_FANOUT; never
				      * above the layout's Cmax (doc/SPEC.md
				      * §6); at least 2 */
	uint64_t dirty_hard_bytes;   /* dirty-node hard ceiling; 0 = twice
				      * the soft ceiling.  Never below 16
				      * nodes' worth of memory (up to about
				      * 2.2 blocks per node), so that every
				      * operation can make progress.  An
				      * operation that could pass it stops
				      * with NEEDS_FLUSH before changing
				      * anything the user sees; with auto
				      * flush the library flushes and
				      * retries once */
};

/* Default fanout limit: a B-epsilon tree keeps fanout well below the link
 * capacity so that each spill moves a large batch (BENCHMARKS.md, fanout
 * experiment: 256 KiB blocks, 1M random inserts with a flush every 10,000:
 * write amplification 72.6 at Cmax = 409, 16.3 at 16). */
#define WODAN_DEFAULT_FANOUT 16u

typedef struct wodan wodan_t;

/*
 * Mount the image on `be` (doc/SPEC.md §8): superblock checks, bisection for
 * the newest root, validation walk that builds the free-space map.  `opts`
 * may be NULL (defaults).  The handle borrows `be`: keep it open until
 * wodan_close()/wodan_abandon() returned, then close it yourself.
 * Errors: WODAN_E_BAD_MAGIC, _BAD_VERSION, _BAD_FLAGS, _BAD_CRC (superblock:
 * block 0), _BAD_PARAMS, _INVAL (superblock geometry invalid for this
 * device), _NO_ROOT, _CORRUPT / _BAD_CRC / _BAD_NODE_TYPE / _FSID (tree walk;
 * detail.block), _IO_READ, _NOMEM, _LOCKED, _CHANGED.
 *
 * Locks (never waiting; released by wodan_close()/wodan_abandon()): one
 * writer, readers beside it, wholesale rewrites alone.  A writable open
 * takes WODAN_LOCK_WRITER: a second writable open of the same device
 * (another process, or another backend or handle in this one) fails with
 * WODAN_E_LOCKED naming the device and, when found, the holder's pid.  A
 * writable WODAN_OPEN_ROLLBACK open holds the device alone
 * (WODAN_LOCK_EXCLUSIVE, refused while readers are open) until its
 * rollback is done, then as a writer.  A read-only open takes
 * WODAN_LOCK_SHARED: it opens beside a writer, and is refused only while
 * the device is held alone (mkfs, a rollback open).
 *
 * A read-only handle beside a writer sees the state of one durable flush,
 * never a mix: when the writer reuses a block the handle still needs
 * (after a newer root became durable), the node there fails its checks
 * (a generation not below its parent's, CRC, type) and, the root search
 * finding a newer root, the call returns WODAN_E_CHANGED ("image changed
 * by its writer (generation A -> B): retry") instead of a corruption
 * error: close the handle and open again.  The open itself retries its
 * walk a few times before returning WODAN_E_CHANGED.
 */
int wodan_open(struct wodan_backend *be, const struct wodan_open_opts *opts,
	       wodan_t **out);

/* Flush (unless read-only) and release the handle and its device lock.
 * The handle is freed even when the flush fails; the error is returned and
 * data inserted since the last successful flush is then lost. */
int wodan_close(wodan_t *w);

/* Release the handle and its device lock without flushing (data since the
 * last flush is lost).  NULL is ok. */
void wodan_abandon(wodan_t *w);

/* ------------------------------------------------------------- operations */

/*
 * Insert or overwrite key -> value (kept in memory until wodan_flush()).
 * key_len must equal the key size; val_len <= max_value_bytes (doc/SPEC.md §6:
 * checked up front).  With tombstones enabled an empty value is a
 * deletion.  Errors: WODAN_E_BAD_KEY, _VALUE_TOO_LARGE, _READONLY,
 * _NEEDS_FLUSH (flush then retry: after a successful wodan_flush or
 * wodan_checkpoint the flush has also made room for the call, which then
 * goes through or answers _OUT_OF_SPACE, never _NEEDS_FLUSH again),
 * _OUT_OF_SPACE, _IO_*, _BAD_CRC, _CORRUPT (a node loaded on the way was
 * damaged), _NOMEM.  On any error no key changes value (the tree may have
 * been reorganised invisibly).
 */
int wodan_insert(wodan_t *w, const void *key, size_t key_len,
		 const void *val, size_t val_len);

/* Delete key (inserts a tombstone).  Errors as wodan_insert, plus
 * WODAN_E_NOT_SUPPORTED when the image has no tombstone flag. */
int wodan_delete(wodan_t *w, const void *key, size_t key_len);

/*
 * Look key up.  Returns 1 and copies min(value length, buf_len) bytes into
 * buf (may be NULL when buf_len is 0) and the full value length into
 * *val_len (may be NULL) when present; 0 when absent; negative on error
 * (WODAN_E_BAD_KEY, _IO_READ, _BAD_CRC, _CORRUPT, ... with detail.block;
 * WODAN_E_CHANGED on a read-only handle whose writer changed the image,
 * see wodan_open).
 */
int wodan_lookup(wodan_t *w, const void *key, size_t key_len, void *buf,
		 size_t buf_len, size_t *val_len);

/*
 * Make every insert/delete so far durable (doc/SPEC.md §11.2):
 * write all dirty non-root nodes, barrier, write the root, barrier.  Stores
 * the new root generation in *generation (may be NULL); with nothing dirty,
 * the current generation.  Errors: WODAN_E_READONLY, _IO_WRITE, _IO_BARRIER,
 * _OUT_OF_SPACE (never expected: space is reserved before nodes get dirty).
 * After a failed flush the in-memory state is unchanged and may be retried.
 *
 * On a journal image (mkfs journal, incompat 0x10) a flush is usually a
 * journal commit instead: the inserts and deletes since the last flush are
 * appended to journal blocks (about their own size, in whole blocks) and a
 * barrier makes them durable; *generation is the commit's.  The tree is
 * written at checkpoints (wodan_checkpoint), which the library also makes
 * on its own: at the dirty soft ceiling, when the journal reaches half of
 * it, when space runs short, at close, and at every writable open
 * (doc/SPEC.md §10, doc/DESIGN.md §15).  Same errors; same retry rule.
 * Not thread-safe (one handle, one thread at a time).
 */
int wodan_flush(wodan_t *w, uint64_t *generation);

/*
 * A flush that writes the tree (a checkpoint): on a journal image it ends
 * the journal's epoch, frees its blocks once the new root is durable, and
 * bounds the next open's replay to nothing; on other images it is
 * wodan_flush.  *generation (may be NULL) receives the new root's
 * generation.  Errors and retry rule as wodan_flush.
 */
int wodan_checkpoint(wodan_t *w, uint64_t *generation);

/* Iteration callback: key (key size bytes), value (val_len bytes), both only
 * valid during the call.  Return 0 to continue, non-zero to stop
 * (wodan_iterate then returns WODAN_E_ABORTED).  The callback must not call
 * any function on the same handle. */
typedef int (*wodan_iter_fn)(void *arg, const uint8_t *key,
			     const uint8_t *val, size_t val_len);

/*
 * Visit every live key in [start, end) in ascending order, once, with its
 * newest value (doc/SPEC.md §11.3).  start NULL = from the smallest key;
 * end NULL = through the largest key (inclusive).  Tombstones are not
 * visited.  Errors: WODAN_E_ABORTED, WODAN_E_IO_READ, _BAD_CRC, _CORRUPT,
 * _CHANGED (read-only handle, see wodan_open; the keys visited before it
 * were right).
 */
int wodan_iterate(wodan_t *w, const void *start, const void *end,
		  wodan_iter_fn fn, void *arg);

/* ------------------------------------------------------- info, statistics */

struct wodan_info {
	uint32_t block_size_bytes;
	uint32_t key_size_bytes;
	uint32_t max_value_bytes;     /* doc/SPEC.md §6 value limit */
	uint64_t logical_size_blocks; /* including block 0 */
	uint64_t first_block_written;
	uint32_t incompat_flags;
	int tombstones;
	uint8_t fsid[16];
	uint64_t generation;          /* newest durable root generation */
	uint64_t root_block;          /* L of that root */
	uint32_t depth;               /* root rdepth (0 = root is a leaf) */
	uint64_t used_blocks;         /* including block 0 and dirty reserve */
	uint64_t free_blocks;
	uint32_t max_fanout;
};

/* Fill *info.  Never fails for a valid handle. */
int wodan_get_info(wodan_t *w, struct wodan_info *info);

struct wodan_stats {
	uint64_t inserts, deletes, lookups, iterations, flushes;
	uint64_t blocks_read, blocks_written, blocks_discarded, barriers;
	uint64_t bytes_read, bytes_written;
	uint64_t cache_hits, cache_misses, cache_evictions;
	uint64_t spills, splits, auto_flushes;
	uint64_t cache_bytes;         /* clean node memory now */
	uint64_t dirty_bytes;         /* dirty node memory now */
	uint64_t dirty_nodes;
	uint64_t dirty_peak_bytes;    /* highest dirty_bytes since open */
	uint64_t dirty_soft_bytes;    /* the effective soft ceiling */
	uint64_t dirty_hard_bytes;    /* the effective hard ceiling: dirty
				       * memory never exceeds it */
	uint64_t hard_ceiling_stops;  /* operations stopped (and, with auto
				       * flush, flushed and retried) at the
				       * hard ceiling */
	/* journal images (mkfs journal, incompat 0x10): */
	uint64_t journal_commits;     /* wodan_flush calls made durable by
				       * journal blocks alone */
	uint64_t journal_blocks_written;
	uint64_t checkpoints;         /* full flushes of the tree that started
				       * a new journal epoch */
	uint64_t journal_replayed_commits; /* commits replayed at open */
};

/* Fill *st with counters since open.  Never fails for a valid handle. */
int wodan_get_stats(wodan_t *w, struct wodan_stats *st);

/* ------------------------------------------------------------------ check */

struct wodan_check_problem {
	uint64_t block;      /* L of the offending block (0 = superblock) */
	int code;            /* enum wodan_err */
	char what[256];      /* the rule that failed */
};

#define WODAN_CHECK_MAX_LEVELS 64

struct wodan_check_report {
	/* geometry */
	uint32_t block_size_bytes, key_size_bytes, incompat_flags;
	uint64_t logical_size_blocks;
	int tombstones;
	uint8_t fsid[16];
	/* newest root */
	uint64_t generation, root_block;
	uint32_t depth;
	uint64_t nodes_per_level[WODAN_CHECK_MAX_LEVELS]; /* by rdepth */
	uint64_t nodes, live_keys, tombstones_stored, logged_items;
	uint64_t used_blocks, free_blocks;  /* used includes block 0 */
	double fill_factor;  /* payload bytes / (nodes * block size) */
	/* roots older than the newest whose trees validate (newest first) */
	uint64_t intact_older_generations[8];
	uint32_t n_intact_older;
	/* problems (owned by the report; free with wodan_check_report_free) */
	struct wodan_check_problem *problems;
	uint32_t n_problems;
	int opened;          /* 1 when a root was found and walked */
	/* journal images (incompat 0x10): committed journal records after
	 * the root, replayed in memory like a read-only mount does; then
	 * generation is the newest commit's and live_keys, used_blocks
	 * include them */
	uint64_t journal_commits, journal_blocks;
};

/* Progress callback: done/total in blocks; return non-zero to abort. */
typedef int (*wodan_progress_fn)(void *arg, uint64_t done, uint64_t total);

/*
 * fsck: mount `be` read-only with a full walk (every node read, every rule of
 * doc/SPEC.md §8.2), count keys, and fill *rep.  Returns 0 when the image is
 * clean, 1 when problems were found (listed in rep->problems, at most 1000),
 * or a negative error when the check itself could not run (I/O error on
 * block 0, out of memory).  flags: WODAN_OPEN_ROLLBACK also searches older
 * intact roots (always reported when the newest is damaged).
 * rep->problems must be released with wodan_check_report_free().
 * Lock: a check is a reader (WODAN_LOCK_SHARED for its duration): it runs
 * beside a writer and fails with WODAN_E_LOCKED (rep zeroed) while the
 * device is held alone (mkfs, a rollback open).  Beside a live writer it
 * may report problems that are the writer's changes: check a quiet image.
 */
int wodan_check(struct wodan_backend *be, unsigned flags,
		struct wodan_check_report *rep, wodan_progress_fn progress,
		void *progress_arg);

void wodan_check_report_free(struct wodan_check_report *rep);

/* ------------------------------------------------------------------- trim */

/* Discard every block not reachable from the newest durable root (fstrim),
 * one discard per run of adjacent free blocks.  Flushes first; empties the
 * live-trim set.  *discarded_blocks (may be NULL) gets the count (on an
 * error: what was discarded before it).  Errors: WODAN_E_READONLY,
 * _NOT_SUPPORTED (backend has no discard or answers -EOPNOTSUPP),
 * _IO_DISCARD, flush errors. */
int wodan_fstrim(wodan_t *w, uint64_t *discarded_blocks);

/* Live trim: discard the blocks freed by flushes since open (old versions of
 * rewritten nodes, old roots) that have not been reused since, then forget
 * them (a second call discards nothing new; fixes doc/ORIGINAL.md L12).  Only
 * blocks whose freeing flush is durable are discarded.  Adjacent blocks are
 * discarded as one range.  *discarded_blocks (may be NULL) gets the count.
 * Does not flush: changes not yet flushed free nothing.  On an error the
 * count is what was discarded before it.  Errors: WODAN_E_READONLY,
 * _NOT_SUPPORTED (no discard, or -EOPNOTSUPP), _IO_DISCARD. */
int wodan_live_trim(wodan_t *w, uint64_t *discarded_blocks);

#ifdef __cplusplus
}
#endif
#endif /* WODAN_H */
