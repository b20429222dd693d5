/* lock.c -- device locks per backend, counted per user (see lock.h). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "lock.h"

struct entry {
	struct wodan_backend *be;
	uint32_t users[4];   /* holders of each WODAN_LOCK_* mode */
	int mkfs_hold;       /* one of users[WRITER] is a finished mkfs's
			      * hold, waiting to be adopted (lock.h) */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct entry *tab;
static size_t ntab, captab;

static int usable(const struct wodan_backend *be)
{
	return be && be->abi_version == WODAN_BACKEND_ABI_VERSION;
}

static struct entry *find(const struct wodan_backend *be)
{
	for (size_t i = 0; i < ntab; i++)
		if (tab[i].be == be)
			return &tab[i];
	return NULL;
}

static void drop(struct entry *e)
{
	*e = tab[--ntab];
}

/* The strongest mode any user holds. */
static unsigned strongest(const struct entry *e)
{
	for (unsigned m = WODAN_LOCK_EXCLUSIVE; m > WODAN_LOCK_NONE; m--)
		if (e->users[m])
			return m;
	return WODAN_LOCK_NONE;
}

/* Ask the backend for `mode`; 0 or a negative errno. */
static int set(struct wodan_backend *be, unsigned mode)
{
	return be->lock ? be->lock(be, mode) : 0;
}

int wd_lock_acquire(struct wodan_backend *be, unsigned mode,
		    const char *what)
{
	if (!usable(be) || mode == WODAN_LOCK_NONE ||
	    mode > WODAN_LOCK_EXCLUSIVE)
		return 0;
	pthread_mutex_lock(&mu);
	struct entry *e = find(be);
	if (!e) {
		if (ntab == captab) {
			size_t n = captab ? 2 * captab : 8;
			struct entry *t = realloc(tab, n * sizeof *t);
			if (!t) {
				pthread_mutex_unlock(&mu);
				return wd_err(WODAN_E_NOMEM, "out of memory");
			}
			tab = t;
			captab = n;
		}
		e = &tab[ntab++];
		memset(e, 0, sizeof *e);
		e->be = be;
	}
	/* a writable open or a mkfs takes over a finished mkfs's WRITER
	 * hold instead of clashing with it (given back if refused) */
	int adopted = 0;
	if (e->mkfs_hold && mode != WODAN_LOCK_SHARED &&
	    e->users[WODAN_LOCK_WRITER]) {
		e->users[WODAN_LOCK_WRITER]--;
		e->mkfs_hold = 0;
		adopted = 1;
	}
	/* the rules between users of this backend, as between processes */
	int clash = e->users[WODAN_LOCK_EXCLUSIVE] ||
		    (mode == WODAN_LOCK_WRITER &&
		     e->users[WODAN_LOCK_WRITER]) ||
		    (mode == WODAN_LOCK_EXCLUSIVE && strongest(e));
	if (clash) {
		if (adopted) {
			e->users[WODAN_LOCK_WRITER]++;
			e->mkfs_hold = 1;
		}
		unsigned held = strongest(e);
		pthread_mutex_unlock(&mu);
		return wd_err(WODAN_E_LOCKED, "%s: device in use by another "
			      "handle of this process (%s)%s%s%s",
			      be->name ? be->name : "backend",
			      held == WODAN_LOCK_EXCLUSIVE ? "alone"
			      : held == WODAN_LOCK_WRITER ? "writing"
							  : "reading",
			      what && mode == WODAN_LOCK_EXCLUSIVE ? "; " : "",
			      what && mode == WODAN_LOCK_EXCLUSIVE ? what : "",
			      what && mode == WODAN_LOCK_EXCLUSIVE
				      ? " needs it alone" : "");
	}
	e->users[mode]++;
	/* asked even when the strongest mode does not change: cheap, and a
	 * backend that never saw the request gets it */
	wd_err_clear();
	int r = set(be, strongest(e));
	if (r) {
		e->users[mode]--;
		if (adopted) {
			/* the backend kept the WRITER lock it had (a failed
			 * conversion keeps the mode held before) */
			e->users[WODAN_LOCK_WRITER]++;
			e->mkfs_hold = 1;
		}
		if (!strongest(e))
			drop(e);
		pthread_mutex_unlock(&mu);
		const struct wodan_error_detail *d = wodan_last_error();
		if (d->code != WODAN_E_LOCKED || !d->message[0])
			return wd_err(WODAN_E_LOCKED, "%s: device in use: %s",
				      be->name ? be->name : "backend",
				      strerror(-r));
		if (mode == WODAN_LOCK_EXCLUSIVE && what) {
			char msg[sizeof d->message];
			memcpy(msg, d->message, sizeof msg);
			return wd_err(WODAN_E_LOCKED, "%s; %s needs it alone",
				      msg, what);
		}
		return WODAN_E_LOCKED;
	}
	pthread_mutex_unlock(&mu);
	return 0;
}

/* users[from]-- and users[to]++ (to may be NONE), then the backend gets
 * the strongest mode left. */
static void move(struct wodan_backend *be, unsigned from, unsigned to)
{
	if (!usable(be) || from == WODAN_LOCK_NONE ||
	    from > WODAN_LOCK_EXCLUSIVE || to > WODAN_LOCK_EXCLUSIVE)
		return;
	pthread_mutex_lock(&mu);
	struct entry *e = find(be);
	if (e && e->users[from]) {
		e->users[from]--;
		if (to != WODAN_LOCK_NONE)
			e->users[to]++;
		/* a failed downgrade keeps the stronger mode: no message
		 * (the caller's detail stays), the lock goes at close */
		struct wodan_error_detail keep = *wodan_last_error();
		(void)set(be, strongest(e));
		if (keep.code)
			wd_err_block(keep.code, keep.block, "%s",
				     keep.message);
		else
			wd_err_clear();
		if (!strongest(e))
			drop(e);
	}
	pthread_mutex_unlock(&mu);
}

void wd_lock_release(struct wodan_backend *be, unsigned mode)
{
	move(be, mode, WODAN_LOCK_NONE);
}

void wd_lock_downgrade(struct wodan_backend *be, unsigned from, unsigned to)
{
	move(be, from, to);
}

void wd_lock_mkfs_hold(struct wodan_backend *be)
{
	if (!usable(be))
		return;
	move(be, WODAN_LOCK_EXCLUSIVE, WODAN_LOCK_WRITER);
	pthread_mutex_lock(&mu);
	struct entry *e = find(be);
	if (e && e->users[WODAN_LOCK_WRITER])
		e->mkfs_hold = 1;
	pthread_mutex_unlock(&mu);
}

void wd_lock_forget(struct wodan_backend *be)
{
	pthread_mutex_lock(&mu);
	struct entry *e = find(be);
	if (e)
		drop(e);
	pthread_mutex_unlock(&mu);
}
