/*
 * safeout.h -- write an output file so that a failure never destroys what
 * was at its path (used by `wodanc dump` and wodan-git2dump).
 *
 * The rules, by what PATH is when the output is opened:
 *  - NULL or "-": standard output, written straight through;
 *  - missing, or an existing regular file (also through symbolic links):
 *    the bytes go to a new temporary file ".NAME.XXXXXX" in the same
 *    directory; safeout_commit() flushes it, fsync()s it, rename()s it
 *    over PATH and fsync()s the directory.  Until then PATH is untouched,
 *    and safeout_abort() removes only the temporary file.  The new file
 *    gets the permission bits (and, when allowed, the owner) of the file it
 *    replaces, or those of a new file (0666 minus the umask);
 *  - an existing character device, block device or FIFO: written straight
 *    through (opened for writing, without O_CREAT or O_TRUNC); nothing is
 *    ever removed or renamed;
 *  - anything else (a directory, a socket, a dangling symbolic link):
 *    refused.
 * A process killed by SIGKILL leaves its temporary file behind (PATH is
 * still intact).  Not thread-safe (uses umask()); one struct per output.
 */
#ifndef WODANC_SAFEOUT_H
#define WODANC_SAFEOUT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct safeout {
	FILE *f;             /* the stream to write (stdout or owned) */
	const char *path;    /* as given, NULL for standard output */
	char *target;        /* the path renamed over (malloc), or NULL */
	char *tmp;           /* the temporary file (malloc), NULL when
			      * writing straight through */
	uint64_t bytes;      /* bytes accepted by safeout_write */
	int err;             /* errno of the first failed write, 0 if none */
	/* when non-NULL and *stop is non-zero, safeout_write fails with
	 * EINTR (an interrupt asked the writer to stop) */
	volatile sig_atomic_t *stop;
};

/*
 * Open the output for `path` (NULL or "-" = standard output) by the rules
 * above.  On failure returns a negative errno and writes a one-line reason
 * naming the path into msg[n] (n > 0); nothing is created or changed.
 */
int safeout_open(struct safeout *o, const char *path, char *msg, size_t n);

/* wodan_write_fn over a struct safeout *: write len bytes; returns 0 or a
 * negative errno (also kept in o->err; EINTR when *o->stop was set). */
int safeout_write(void *arg, const void *buf, size_t len);

/*
 * Finish: flush (and for a temporary file fsync, rename over the target,
 * fsync the directory).  Closes the stream unless it is stdout.  Returns 0,
 * or a negative errno with msg[n] set; after a failure before the rename
 * the temporary file is removed and the target is untouched.
 */
int safeout_commit(struct safeout *o, char *msg, size_t n);

/* Give up: close the stream (unless stdout) and remove the temporary file
 * if there is one; never removes anything else.  Safe to call after a
 * failed safeout_open or twice. */
void safeout_abort(struct safeout *o);

/* 1 when paths a and b name the same file (same device and inode, or the
 * same device number for two device nodes), following symbolic links; 0
 * when they differ or either does not exist. */
int safeout_same_file(const char *a, const char *b);

/* ------------------------------------------------------ stop requests */

/* The number of the first SIGINT or SIGTERM received after
 * safeout_catch_signals(), 0 if none. */
extern volatile sig_atomic_t safeout_stop_signal;

/* Catch SIGINT and SIGTERM: the first one sets safeout_stop_signal and
 * restores the default action (a second one kills the process).  A signal
 * ignored on entry (nohup, a background job of a script) stays ignored.
 * Handlers are installed with SA_RESTART so that I/O in progress is not
 * cut short.  Long loops poll the flag and stop cleanly. */
void safeout_catch_signals(void);

#endif /* WODANC_SAFEOUT_H */
