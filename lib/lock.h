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
 *
 * A successful wodan_mkfs keeps the backend locked as this process's
 * writer (EXCLUSIVE downgraded to WRITER, marked as a mkfs hold) so that
 * no other process can slip in between the format and the open that
 * follows it: the next WRITER or EXCLUSIVE request on that backend (a
 * writable wodan_open, a rollback open, another wodan_mkfs) adopts the
 * hold instead of being refused as a second writer; read-only opens and
 * checks work beside it; closing the backend (wd_lock_forget) ends it.
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
 * "NAME: device in use by another handle of this process".  A WRITER or
 * EXCLUSIVE request adopts a mkfs hold (the caller then owns it as its
 * own `mode`; it is given back when the request is refused).  Records the
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

/* After a successful mkfs: turn its EXCLUSIVE into the adoptable WRITER
 * hold described above; never fails (as wd_lock_release). */
void wd_lock_mkfs_hold(struct wodan_backend *be);

/* Forget be's registry entry (it is being closed; its lock dies with it). */
void wd_lock_forget(struct wodan_backend *be);

#endif
