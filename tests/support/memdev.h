/*
 * memdev.h -- RAM devices for the tests: a wodan_backend over a caller's
 * byte array, optionally recording every write, discard and barrier in
 * issue order (with a copy of each write's bytes), and optionally failing
 * discards or a barrier on request.  Single-threaded; public headers only.
 */
#ifndef WODAN_TEST_MEMDEV_H
#define WODAN_TEST_MEMDEV_H

#include <stddef.h>
#include <stdint.h>
#include "wodan.h"
#include "wodan_backend.h"

enum md_kind { MD_WRITE, MD_DISCARD, MD_BARRIER };

/* One recorded op.  Discards carry no data (they read back as zeros);
 * barriers are logged only with log_barriers set. */
struct md_op {
	enum md_kind kind;
	uint32_t epoch;  /* barriers issued before it while recording */
	uint64_t off, len; /* bytes */
	uint8_t *data;   /* MD_WRITE: a copy of the bytes (owned) */
};

struct memdev {
	struct wodan_backend be; /* first: the vtable handed to libwodan */
	uint8_t *mem;            /* size_bytes, the caller's */
	/* recording (off until recording is set) */
	int recording;
	int log_barriers;        /* barriers appear in the log too */
	struct md_op *log;
	size_t nlog, cap;
	uint32_t nbar;           /* barriers while recording */
	uint64_t discards;       /* successful discards, always counted */
	uint64_t discard_calls;  /* discard calls, failed ones included */
	/* fault knobs */
	int discard_err;         /* non-zero: discard returns it ... */
	int discard_err_once;    /* ... only for the next call */
	int fail_barrier_in;     /* > 0: the n-th barrier from now: -EIO */
};

/* d over mem (size bytes, a multiple of 512): io and physical sectors of
 * 512 bytes, reads/writes/discards bounded (-EINVAL outside or unaligned),
 * a barrier that does nothing, no close.  name: the backend's name. */
void memdev_init(struct memdev *d, uint8_t *mem, uint64_t size,
		 const char *name);

/* Drop the log (keeps recording as it is). */
void memdev_clear_log(struct memdev *d);

/* Apply the first `len` bytes of recorded op x to img (a discard zeroes,
 * a barrier does nothing). */
void memdev_apply(uint8_t *img, const struct md_op *x, uint64_t len);

#endif
