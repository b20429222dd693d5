/*
 * safeout.c -- output files that a failure never destroys (see safeout.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include "safeout.h"

/* Longest part of the target's name copied into the temporary name, so
 * that ".NAME.XXXXXX" stays below NAME_MAX (255). */
#define TMP_NAME_PART 200

/* Set msg to a formatted reason; return -e. */
static int fail(int e, char *msg, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (n) {
		va_start(ap, fmt);
		vsnprintf(msg, n, fmt, ap);
		va_end(ap);
	}
	return -e;
}

/* The directory part of p ("." when none), malloc'd, or NULL. */
static char *dir_of(const char *p)
{
	const char *s = strrchr(p, '/');

	if (!s)
		return strdup(".");
	if (s == p)
		return strdup("/");
	return strndup(p, (size_t)(s - p));
}

/* Create the temporary file next to o->target; mode/owner from `old`
 * (NULL: a new file).  Returns 0 or a negative errno with msg set. */
static int open_tmp(struct safeout *o, const struct stat *old, char *msg,
		    size_t n)
{
	const char *base = strrchr(o->target, '/');
	char *dir = dir_of(o->target);
	size_t blen, need;
	mode_t mode, um;
	int fd, e;

	base = base ? base + 1 : o->target;
	blen = strlen(base);
	if (blen > TMP_NAME_PART)
		blen = TMP_NAME_PART;
	if (!dir)
		return fail(ENOMEM, msg, n, "out of memory");
	need = strlen(dir) + blen + 16;
	o->tmp = malloc(need);
	if (!o->tmp) {
		free(dir);
		return fail(ENOMEM, msg, n, "out of memory");
	}
	snprintf(o->tmp, need, "%s/.%.*s.XXXXXX", dir, (int)blen, base);
	fd = mkostemp(o->tmp, O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		free(o->tmp);
		o->tmp = NULL;
		fail(e, msg, n, "cannot create a temporary file in %s: %s",
		     dir, strerror(e));
		free(dir);
		return -e;
	}
	free(dir);
	if (old) {
		mode = old->st_mode & 0777;
		if (old->st_uid != geteuid() || old->st_gid != getegid())
			(void)!fchown(fd, old->st_uid, old->st_gid);
	} else {
		um = umask(0);
		umask(um);
		mode = 0666 & ~um;
	}
	if (fchmod(fd, mode) < 0 || !(o->f = fdopen(fd, "wb"))) {
		e = errno;
		close(fd);
		unlink(o->tmp);
		free(o->tmp);
		o->tmp = NULL;
		return fail(e, msg, n, "cannot set up a temporary file for %s: "
			    "%s", o->path, strerror(e));
	}
	return 0;
}

int safeout_open(struct safeout *o, const char *path, char *msg, size_t n)
{
	struct stat st, lst;
	int fd, e;

	memset(o, 0, sizeof *o);
	if (n)
		msg[0] = 0;
	if (!path || !strcmp(path, "-")) {
		o->f = stdout;
		return 0;
	}
	o->path = path;
	if (lstat(path, &lst) < 0) {
		if (errno != ENOENT)
			return fail(errno, msg, n, "%s: %s", path,
				    strerror(errno));
		o->target = strdup(path);       /* a new file */
		if (!o->target)
			return fail(ENOMEM, msg, n, "out of memory");
		return open_tmp(o, NULL, msg, n);
	}
	if (S_ISLNK(lst.st_mode)) {
		/* replace the file the link points to, not the link */
		o->target = realpath(path, NULL);
		if (!o->target) {
			e = errno;
			return fail(e, msg, n, "%s is a symbolic link that "
				    "cannot be followed (%s); give the path "
				    "of the file itself", path, strerror(e));
		}
		if (stat(o->target, &st) < 0) {
			e = errno;
			free(o->target);
			o->target = NULL;
			return fail(e, msg, n, "%s: %s", path, strerror(e));
		}
	} else {
		st = lst;
		o->target = strdup(path);
		if (!o->target)
			return fail(ENOMEM, msg, n, "out of memory");
	}
	if (S_ISREG(st.st_mode))
		return open_tmp(o, &st, msg, n);
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ||
	    S_ISFIFO(st.st_mode)) {
		/* a device or pipe: straight through, never truncated */
		fd = open(o->target, O_WRONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 || !(o->f = fdopen(fd, "wb"))) {
			e = errno;
			if (fd >= 0)
				close(fd);
			free(o->target);
			o->target = NULL;
			return fail(e, msg, n, "cannot open %s for writing: "
				    "%s", path, strerror(e));
		}
		free(o->target);
		o->target = NULL;
		return 0;
	}
	free(o->target);
	o->target = NULL;
	e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	return fail(e, msg, n, "%s is %s, not a file or device", path,
		    S_ISDIR(st.st_mode) ? "a directory" : "a socket or "
		    "other special file");
}

int safeout_write(void *arg, const void *buf, size_t len)
{
	struct safeout *o = arg;

	if (o->err)
		return -o->err;
	if (o->stop && *o->stop) {
		o->err = EINTR;
		return -EINTR;
	}
	if (len && fwrite(buf, 1, len, o->f) != len) {
		o->err = errno ? errno : EIO;
		return -o->err;
	}
	o->bytes += len;
	return 0;
}

/* fsync the directory holding o->target.  Returns 0 or -errno. */
static int sync_dir(const struct safeout *o)
{
	char *dir = dir_of(o->target);
	int fd, r = 0;

	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -errno;
	/* some file systems cannot sync a directory: not an error */
	if (fsync(fd) < 0 && errno != EINVAL && errno != ENOTSUP)
		r = -errno;
	close(fd);
	return r;
}

int safeout_commit(struct safeout *o, char *msg, size_t n)
{
	const char *name = o->path ? o->path : "standard output";
	int e = o->err, r;

	if (n)
		msg[0] = 0;
	if (fflush(o->f) != 0 && !e)
		e = errno ? errno : EIO;
	if (ferror(o->f) && !e)
		e = EIO;
	if (!e && o->tmp && fsync(fileno(o->f)) < 0)
		e = errno;
	if (o->f != stdout) {
		if (fclose(o->f) != 0 && !e)
			e = errno ? errno : EIO;
		o->f = NULL;
	}
	if (e) {
		safeout_abort(o);
		return fail(e, msg, n, "writing %s: %s", name, strerror(e));
	}
	if (!o->tmp)
		return 0;
	if (rename(o->tmp, o->target) < 0) {
		e = errno;
		safeout_abort(o);
		return fail(e, msg, n, "cannot rename the finished output over "
			    "%s: %s (%s is unchanged)", name, strerror(e),
			    name);
	}
	free(o->tmp);
	o->tmp = NULL;
	r = sync_dir(o);
	free(o->target);
	o->target = NULL;
	if (r < 0)
		return fail(-r, msg, n, "%s was written but syncing its "
			    "directory failed: %s", name, strerror(-r));
	return 0;
}

void safeout_abort(struct safeout *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	o->f = NULL;
	if (o->tmp) {
		unlink(o->tmp);     /* ours: created by open_tmp */
		free(o->tmp);
		o->tmp = NULL;
	}
	free(o->target);
	o->target = NULL;
}

int safeout_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (!a || !b || stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return 0;
	if ((S_ISBLK(sa.st_mode) && S_ISBLK(sb.st_mode)) ||
	    (S_ISCHR(sa.st_mode) && S_ISCHR(sb.st_mode)))
		return sa.st_rdev == sb.st_rdev;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* ------------------------------------------------------ stop requests */

volatile sig_atomic_t safeout_stop_signal;

static void on_stop(int sig)
{
	safeout_stop_signal = sig;
}

void safeout_catch_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM };
	struct sigaction sa, old;

	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler == SIG_IGN)
			continue;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = on_stop;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART | SA_RESETHAND;
		sigaction(sigs[i], &sa, NULL);
	}
}
