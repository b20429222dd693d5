/*
 * lock/lock.h -- the lock suite, tests/test_lock (files: main.c, writers.c,
 * readers.c, alone.c, loop.c): device locks (one writer, readers beside
 * it, wholesale rewrites alone; wodan_backend.h WODAN_LOCK_*) with real
 * processes:
 *  - the backend's lock modes on one file, converted in place: a failed
 *    upgrade keeps the old mode, downgrades and releases let others in;
 *  - two writers: the second wodan_open fails at once with WODAN_E_LOCKED
 *    naming the file and the holder's pid; readers and check open beside
 *    the writer, mkfs does not; after the first closes the second opens;
 *  - the same within one process (two backends on one file, two handles on
 *    one backend): one handle's release does not drop another's lock;
 *  - a writer inserting and flushing generation-tagged values in a loop
 *    beside two reader processes opening, iterating and looking up: each
 *    reader sees exactly the state of one flush or gets WODAN_E_CHANGED,
 *    never a corruption error nor wrong data; then the image checks clean
 *    with the writer's last state;
 *  - mkfs while a reader holds the image, readers/check/writers while the
 *    image is held alone (EXCLUSIVE), a rollback open downgraded to writer;
 *  - mkfs, then open: another process can neither write nor format in
 *    between (the mkfs's WRITER hold, adopted by the open), and after
 *    the close the device is free;
 *  - two writers on a loop device (root with a working losetup; otherwise a
 *    visible "SKIP: ..." line).
 * Temporary files go to a fresh directory under $TMPDIR (default /tmp).
 * WODAN_LOCK_SECONDS sets how long the writer/readers test runs (default 3).
 */
#ifndef WODAN_TEST_LOCK_H
#define WODAN_TEST_LOCK_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "testutil.h"

#define KS 8
#define BS 4096u
#define NBASE 300       /* keys rewritten by every round of the writer */
#define VLEN 48
#define MAXROUNDS 1500  /* extras grow the tree: stay far from full */

/* ------------------------------------------------------- processes */

/* In a child: print and leave with status 1 when cond is false. */
#define CHILD_CHECK(cond, ...)                                              \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "child %d, line %d: ", (int)getpid(), \
				__LINE__);                                  \
			fprintf(stderr, __VA_ARGS__);                       \
			fprintf(stderr, " (last error %d: %s)\n",           \
				wodan_last_error()->code,                   \
				wodan_last_error()->message);               \
			return 1;                                           \
		}                                                           \
	} while (0)

struct chan {
	int to_child[2], to_parent[2];
};

/* Checks one handle's view against "the state after round T", T taken
 * from the first key seen. */
struct view {
	uint32_t T;       /* UINT32_MAX until known */
	uint32_t nbase, nextra;
	int bad;
	char why[200];
};

/* ------------------------------------------------------- two writers */

struct holder {
	const char *img;
	struct chan ch;
	unsigned flags;   /* wodan_open flags, or ~0u: be->lock EXCLUSIVE */
	int direct;
};

/* ------------------------------------------- one writer, two readers */

struct shared {
	volatile int done;              /* the writer finished */
	volatile uint32_t last_round;   /* newest round flushed */
	volatile uint32_t opens[2], changed[2], views[2];
	volatile uint32_t min_round[2], max_round[2];
	char why[2][256];
};

struct rw_arg {
	const char *img;
	struct shared *sh;
	int id;              /* reader number */
	double seconds;
};

/* ---------------------------------------------- mkfs, then the open */

struct try_arg {
	const char *img;
	unsigned flags;      /* wodan_open flags, or ~0u: wodan_mkfs */
};

extern uint64_t seed;
const char *tpath(const char *name);
void make_image_j(const char *path, uint64_t bytes, int journal);
void make_image(const char *path, uint64_t bytes);
void chan_open(struct chan *c);
void chan_close(struct chan *c);
void say(int fd, char ch);
char hear(int fd);
pid_t spawn(int (*fn)(void *), void *arg);
int reap(pid_t p);
int write_round(wodan_t *w, uint32_t r);
int check_view(wodan_t *w, uint64_t *rng, uint32_t *round, char *why,
		      size_t n);
void test_backend_modes(void **st);
pid_t hold(struct holder *h, const char *img, unsigned flags);
void unhold(struct holder *h, pid_t p);
void expect_locked(const char *spec, unsigned bflags, unsigned flags,
			  const char *name, const char *also);
void expect_key(const char *spec, const char *val);
void test_two_writers(void **st);
void test_same_process(void **st);
void test_writer_readers(void **st);
void test_writer_readers_journal(void **st);
void test_alone(void **st);
void test_mkfs_then_open(void **st);
void test_loop_two_writers(void **st);

#endif
