/*
 * lock.h -- the device locks libwodan takes through wodan_backend.lock
 * (internal; modes and rules in wodan_backend.h).
 *
 * One writer, readers beside it, wholesale rewrites alone: wodan_open
 * takes SHARED (read-only) or WRITER (writable; EXCLUSIVE while a writable
 * WODAN_OPEN_ROLLBACK open rewrites, then WRITER), wodan_mkfs EXCLUSIVE,
 * wodan_check SHARED; each releases what it took.
 *
 * Several users of one backend in one process (a handle and a wodan_check
 * on the same backend, two read-only handles) share its one lock: a
 * registry counts the holders of each mode per backend and asks the
 * backend for the strongest mode still held, so one user's release never
 * drops another's lock.  The same rules hold between them as between
 * processes: a second writer, or EXCLUSIVE beside anyone, is refused.
 * Thread-safe (one mutex).
 */
#ifndef WD_LOCK_H
#define WD_LOCK_H

#include "wodan.h"

/*
 * Take WODAN_LOCK_* `mode` (not NONE) on be for one user.  `what` names
 * the user for messages ("mkfs", "a rollback open"; may be NULL).  A NULL
 * be or one of another ABI version is left alone (returns 0: the caller's
 * own validation reports it).  Returns 0 or WODAN_E_LOCKED with the
 * detail message: the backend's (naming the device and the holder's pid
 * when found), with "; WHAT needs it alone" appended for EXCLUSIVE, or
 * "NAME: device in use by another handle of this process".  Records the
 * detail; call it before anything else that records one.
 */
int wd_lock_acquire(struct wodan_backend *be, unsigned mode,
		    const char *what);

/* Give back one user's `mode` (from wd_lock_acquire); the backend keeps
 * the strongest mode other users still hold, or none.  Never fails (a
 * backend that cannot downgrade keeps the stronger mode until closed). */
void wd_lock_release(struct wodan_backend *be, unsigned mode);

/* Turn one user's `from` into `to`, a weaker mode (EXCLUSIVE -> WRITER
 * after a rollback); never fails, as wd_lock_release. */
void wd_lock_downgrade(struct wodan_backend *be, unsigned from, unsigned to);

/* Forget be's registry entry (it is being closed; its lock dies with it). */
void wd_lock_forget(struct wodan_backend *be);

#endif
