/*
 * fault_backend.h -- a fault-injection backend for libwodan.
 *
 * fault_backend_wrap() puts a struct wodan_backend in front of another one
 * (the "lower" device, e.g. a RAM device) and makes it behave like a real
 * disk with a volatile write cache, under the control of a seeded PRNG:
 *
 *  - Every write (and discard) issued since the last successful barrier sits
 *    in a volatile cache.  It is passed through to the lower device at once
 *    (so reads see it, as they would from a drive's cache), with an undo
 *    copy of what it replaced.
 *  - A power cut (at a chosen op, see `cut_at`, or fault_backend_cut_now())
 *    resolves that cache: every unbarriered op is undone, then any subset
 *    of them is re-applied (in issue order, so where two cached writes
 *    overlap the later one wins if it persisted), each one whole, torn (a
 *    prefix of its sectors, or any subset of them) or with garbage sectors,
 *    as the cut mode says.  The op in flight at the cut takes part too.
 *    After the cut the device is dead: every call returns -EIO until it is
 *    closed; the lower device holds what a reboot would find.
 *  - Without a cut: writes, barriers and reads may fail with -EIO, and reads
 *    may return flipped bits (transiently: the device keeps its bytes), each
 *    with a probability in parts per million, or exactly at a chosen op.  A
 *    failed write may still have landed partly (torn or garbage sectors); a
 *    failed barrier makes nothing durable.
 *
 * Sectors are `sector_bytes` (0 = the lower device's physical sector size,
 * else its I/O size; at least 512, a multiple of the lower I/O size).
 *
 * Every decision comes from the PRNG seeded with `seed`, so the same
 * parameters and the same sequence of calls give the same device.  Ops are
 * numbered from 0 in issue order over writes, discards and barriers (reads
 * are numbered separately); fault_backend_op() reports what became of each
 * one.
 *
 * Written against the public headers only (wodan.h / wodan_backend.h), so it
 * can be linked into a test or built as a backend plugin: compile with
 * -DFAULT_BACKEND_PLUGIN to get the plugin entry points (device string
 * "fault:OPTIONS@LOWER", e.g. "fault:seed=7,cut=120,mode=random@ram:4M").
 * Not thread-safe (one handle, one backend).
 */
#ifndef WODAN_FAULT_BACKEND_H
#define WODAN_FAULT_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "wodan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the volatile cache is resolved at a power cut. */
enum fault_cut_mode {
	/* every unbarriered op lost, the in-flight one too */
	FAULT_CUT_LOSE = 0,
	/* every unbarriered op applied whole in issue order, the in-flight
	 * one lost (the classic "prefix" power cut) */
	FAULT_CUT_KEEP = 1,
	/* as KEEP, and the in-flight op torn: a strict prefix of its sectors
	 * applied (nothing when it has one sector) */
	FAULT_CUT_TORN = 2,
	/* each unbarriered op (in flight included) independently lost,
	 * applied whole, torn at a sector prefix, reduced to a random subset
	 * of its sectors, or given garbage sectors (reordering: any subset
	 * persists, later writes included and earlier ones not) */
	FAULT_CUT_RANDOM = 3,
	/* a random subset applied whole (reordering only, no tearing) */
	FAULT_CUT_REORDER = 4,
	FAULT_CUT_NMODES
};

#define FAULT_NEVER UINT64_MAX

struct fault_params {
	uint64_t seed;
	/* Power cut when op number cut_at is issued (that op is in flight);
	 * FAULT_NEVER: no automatic cut. */
	uint64_t cut_at;
	enum fault_cut_mode cut_mode;
	/* Random faults without a cut, in parts per million per call. */
	uint32_t write_eio_ppm;   /* write returns -EIO (data may land torn) */
	uint32_t barrier_eio_ppm; /* barrier returns -EIO (nothing durable) */
	uint32_t read_eio_ppm;    /* read returns -EIO */
	uint32_t read_flip_ppm;   /* read returns 1..3 flipped bits */
	/* Deterministic faults: op number fail_op (a write, discard or
	 * barrier) returns -EIO; read number flip_read / eio_read returns
	 * flipped bits / -EIO.  FAULT_NEVER: none. */
	uint64_t fail_op;
	uint64_t flip_read;
	uint64_t eio_read;
	/* Flip bits of every read overlapping [flip_off, flip_off +
	 * flip_len) -- transiently, for the first flip_count such reads
	 * (flip_len 0: none). */
	uint64_t flip_off, flip_len;
	uint32_t flip_count;
	/* Tear granularity in bytes (0: see above). */
	uint32_t sector_bytes;
	/* Close the lower backend when this one is closed. */
	int owns_lower;
};

/* Parameters with nothing enabled (no cut, no faults) and the given seed. */
void fault_params_init(struct fault_params *p, uint64_t seed);

/*
 * Parse "key=value,key=value,..." into *p (keys: seed, cut, mode
 * (lose|keep|torn|random|reorder or 0..4), write_eio, barrier_eio,
 * read_eio, read_flip (ppm), fail_op, flip_read, eio_read, flip_off,
 * flip_len, flip_count, sector).  Fields not named keep their value.
 * Returns 0, or -1 with a message in err (errlen bytes) on a bad string.
 */
int fault_params_parse(const char *s, struct fault_params *p, char *err,
		       size_t errlen);

/* Format *p like fault_params_parse accepts (non-default fields only). */
void fault_params_format(const struct fault_params *p, char *buf, size_t len);

/*
 * Wrap `lower`.  *out is a backend with lower's geometry; close it with its
 * close op (wodan_backend_close), which also closes lower when
 * p->owns_lower.  Returns 0, WODAN_E_INVAL (bad sector size, no lower) or
 * WODAN_E_NOMEM.
 */
int fault_backend_wrap(struct wodan_backend *lower,
		       const struct fault_params *p,
		       struct wodan_backend **out);

/* Power cut now (between ops: nothing in flight), resolved with `mode`.
 * No effect on a dead device.  Returns 0 or a negative errno from the lower
 * device. */
int fault_backend_cut_now(struct wodan_backend *be, enum fault_cut_mode mode);

/* 1 once the power was cut. */
int fault_backend_dead(const struct wodan_backend *be);
/* The lower device (owned by the fault device's creator): what a reboot
 * would find after a cut, and everything written so far before one. */
struct wodan_backend *fault_backend_lower(struct wodan_backend *be);

/* Make every cached write durable now (a barrier that cannot fail). */
int fault_backend_settle(struct wodan_backend *be);

/* Change the random fault rates (ppm) from now on. */
void fault_backend_set_rates(struct wodan_backend *be, uint32_t write_eio,
			     uint32_t barrier_eio, uint32_t read_eio,
			     uint32_t read_flip);

/* From now on, flip bits of the next `count` reads overlapping [off, off +
 * len) (replaces flip_off/flip_len/flip_count). */
void fault_backend_arm_flip(struct wodan_backend *be, uint64_t off,
			    uint64_t len, uint32_t count);

enum fault_op_type { FAULT_OP_WRITE, FAULT_OP_DISCARD, FAULT_OP_BARRIER };

enum fault_op_state {
	FAULT_ST_PENDING = 0, /* in the volatile cache (no cut yet) */
	FAULT_ST_DURABLE,     /* covered by a successful barrier */
	FAULT_ST_CUT,         /* resolved by a power cut: see intact/lost */
	FAULT_ST_NEVER,       /* the op at or after the cut: never issued
			       * (barriers), or in flight (see intact) */
};

struct fault_op {
	enum fault_op_type type;
	enum fault_op_state state;
	uint64_t off_bytes, len_bytes;
	uint64_t epoch;         /* successful barriers before it */
	int failed;             /* returned -EIO */
	int in_flight;          /* the op the cut interrupted */
	/* after a cut, for writes and discards: sectors that hold exactly
	 * the op's data, and sectors replaced by garbage */
	uint32_t nsectors, intact_sectors, garbage_sectors;
};

/* Number of ops (writes, discards, barriers) seen so far, including the one
 * a cut interrupted. */
uint64_t fault_backend_nops(const struct wodan_backend *be);
/* Op number i (NULL when out of range). */
const struct fault_op *fault_backend_op(const struct wodan_backend *be,
					uint64_t i);
/* Number of reads so far. */
uint64_t fault_backend_nreads(const struct wodan_backend *be);

struct fault_counters {
	uint64_t writes, discards, barriers, reads;
	uint64_t write_eio, barrier_eio, read_eio, read_flips;
	uint64_t cuts, cut_lost, cut_whole, cut_torn, cut_garbage;
};
void fault_backend_counters(const struct wodan_backend *be,
			    struct fault_counters *c);

#ifdef __cplusplus
}
#endif
#endif
