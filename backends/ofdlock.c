/*
 * ofdlock.c -- the device lock of the file and direct backends
 * (wodan_backend.lock, WODAN_LOCK_* in wodan_backend.h) with open file
 * description locks: fcntl F_OFD_SETLK, never waiting.
 *
 * Two bytes of the file (or block device node) carry the lock:
 *   byte 0, the writer byte: WRITER and EXCLUSIVE hold a write lock on it;
 *   byte 1, the reader byte: SHARED holds a read lock on it, EXCLUSIVE a
 *           write lock (so EXCLUSIVE conflicts with every reader and every
 *           reader with EXCLUSIVE, while readers and one writer coexist).
 * OFD locks belong to the open file description: two backends opened on
 * the same file in one process exclude each other as two processes do, a
 * forked child shares its parent's, and close(2) of the last descriptor
 * drops them.  A conversion first takes what the new mode needs (one
 * fcntl: the kernel checks the whole range before changing anything), then
 * releases what it no longer needs, so a failed upgrade keeps the old mode.
 *
 * The holder's pid, for the message: F_OFD_GETLK reports l_pid = -1 for
 * OFD locks and so does /proc/locks, so after /proc/locks the holder is
 * looked up in /proc/PID/fdinfo/FD ("lock:" lines of that open file):
 * best effort, bounded, only on the failure path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "backend_util.h"

#define WRITER_BYTE 0
#define READER_BYTE 1
/* at most this many /proc/PID/fdinfo/FD files are read per lookup */
#define FDINFO_MAX 100000

static int setlk(int fd, short type, off_t start, off_t len)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	while (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Does a /proc/locks-style tail "TYPE PID MAJ:MIN:INO START END" describe
 * lock `want` (type, range) on file `id`?  Returns 1 and the pid field. */
static int lock_line_matches(const char *line, const char *id,
			     const struct flock *want, long *pid)
{
	char kind[16], adv[16], type[16], fid[64], s[32], e[32];
	const char *p = strstr(line, "OFDLCK");
	if (!p)
		return 0;
	if (sscanf(p, "%15s %15s %15s %ld %63s %31s %31s", kind, adv, type,
		   pid, fid, s, e) != 7)
		return 0;
	if (strcmp(fid, id))
		return 0;
	if (strcmp(type, want->l_type == F_WRLCK ? "WRITE" : "READ"))
		return 0;
	char ws[32], we[32];
	snprintf(ws, sizeof ws, "%lld", (long long)want->l_start);
	if (want->l_len)
		snprintf(we, sizeof we, "%lld",
			 (long long)(want->l_start + want->l_len - 1));
	else
		snprintf(we, sizeof we, "EOF");
	return !strcmp(s, ws) && !strcmp(e, we);
}

/* Is lock `want` on file `id` held by the open file of /proc fdinfo file
 * `path`?  1 yes. */
static int fdinfo_holds(const char *path, const char *id,
			const struct flock *want)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	char line[256];
	int found = 0;
	long pid;
	while (!found && fgets(line, sizeof line, f))
		if (!strncmp(line, "lock:", 5))
			found = lock_line_matches(line, id, want, &pid);
	fclose(f);
	return found;
}

/* The pid holding lock `want` (as F_OFD_GETLK described it) on the file
 * of fd, or 0 when it cannot be found.  Our own descriptor fd is skipped
 * (it may hold the same lock, e.g. another reader's byte on an upgrade). */
static long holder_pid(int fd, const struct flock *want)
{
	struct stat st;
	if (fstat(fd, &st))
		return 0;
	char id[64];
	snprintf(id, sizeof id, "%02x:%02x:%llu", major(st.st_dev),
		 minor(st.st_dev), (unsigned long long)st.st_ino);
	long pid = 0;
	char line[256];
	FILE *f = fopen("/proc/locks", "re");
	if (f) {
		while (fgets(line, sizeof line, f))
			if (!strstr(line, "->") &&
			    lock_line_matches(line, id, want, &pid) && pid > 0)
				break;
			else
				pid = 0;
		fclose(f);
	}
	if (pid > 0)
		return pid;
	DIR *proc = opendir("/proc");
	if (!proc)
		return 0;
	long self = (long)getpid(), seen = 0;
	struct dirent *de;
	while (!pid && seen < FDINFO_MAX && (de = readdir(proc))) {
		char *end;
		long p = strtol(de->d_name, &end, 10);
		if (p <= 0 || *end)
			continue;
		char dir[64];
		snprintf(dir, sizeof dir, "/proc/%ld/fdinfo", p);
		DIR *fds = opendir(dir);
		if (!fds)
			continue;
		struct dirent *fe;
		while (!pid && seen < FDINFO_MAX && (fe = readdir(fds))) {
			long n = strtol(fe->d_name, &end, 10);
			if (fe->d_name[0] < '0' || fe->d_name[0] > '9' || *end)
				continue;
			if (p == self && n == fd)
				continue;
			seen++;
			char path[128];
			snprintf(path, sizeof path, "%s/%ld", dir, n);
			if (fdinfo_holds(path, id, want))
				pid = p;
		}
		closedir(fds);
	}
	closedir(proc);
	return pid;
}

/* Record the message for a conflict on request (type, start, len). */
static void conflict_message(int fd, const char *path, short type,
			     off_t start, off_t len)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = type;
	fl.l_whence = SEEK_SET;
	fl.l_start = start;
	fl.l_len = len;
	if (fcntl(fd, F_OFD_GETLK, &fl) != 0 || fl.l_type == F_UNLCK) {
		/* gone meanwhile, or not an OFD lock we can see */
		wodan_backend_error(WODAN_E_LOCKED, "%s: in use by another "
				    "program", path);
		return;
	}
	char pid[32] = "";
	long p = holder_pid(fd, &fl);
	if (fl.l_type == F_RDLCK) {
		if (p > 0)
			snprintf(pid, sizeof pid, ", pid %ld", p);
		wodan_backend_error(WODAN_E_LOCKED, "%s: in use (opened by a "
				    "reader%s)", path, pid);
		return;
	}
	if (p > 0)
		snprintf(pid, sizeof pid, " (pid %ld)", p);
	if (fl.l_start <= READER_BYTE &&
	    (fl.l_len == 0 || fl.l_start + fl.l_len > READER_BYTE))
		wodan_backend_error(WODAN_E_LOCKED, "%s: in use by a program "
				    "that needs it alone (mkfs or a rollback)"
				    "%s", path, pid);
	else
		wodan_backend_error(WODAN_E_LOCKED, "%s: in use by another "
				    "writer%s", path, pid);
}

int wd_ofd_lock(int fd, const char *path, unsigned *held, unsigned mode)
{
	if (mode > WODAN_LOCK_EXCLUSIVE)
		return -EINVAL;
	if (mode == *held)
		return 0;
	short type = F_UNLCK;
	off_t start = 0, len = 0;
	switch (mode) {
	case WODAN_LOCK_SHARED:
		type = F_RDLCK, start = READER_BYTE, len = 1;
		break;
	case WODAN_LOCK_WRITER:
		type = F_WRLCK, start = WRITER_BYTE, len = 1;
		break;
	case WODAN_LOCK_EXCLUSIVE:
		type = F_WRLCK, start = WRITER_BYTE, len = 2;
		break;
	}
	/* 1. take what the new mode needs (the old mode stays on failure) */
	if (type != F_UNLCK) {
		int r = setlk(fd, type, start, len);
		if (r == -EAGAIN || r == -EACCES) {
			conflict_message(fd, path, type, start, len);
			return -EWOULDBLOCK;
		}
		if (r) {
			wodan_backend_error(WODAN_E_LOCKED, "%s: cannot lock: "
					    "%s", path, strerror(-r));
			return r;
		}
	}
	/* 2. release what it does not need (unlocking cannot conflict) */
	int had_reader = *held == WODAN_LOCK_SHARED ||
			 *held == WODAN_LOCK_EXCLUSIVE;
	int need_reader = mode == WODAN_LOCK_SHARED ||
			  mode == WODAN_LOCK_EXCLUSIVE;
	if (had_reader && !need_reader)
		(void)setlk(fd, F_UNLCK, READER_BYTE, 1);
	if (*held >= WODAN_LOCK_WRITER && mode < WODAN_LOCK_WRITER)
		(void)setlk(fd, F_UNLCK, WRITER_BYTE, 1);
	*held = mode;
	return 0;
}

int wd_ofd_writer_busy(int fd, const char *path)
{
	struct flock fl;
	memset(&fl, 0, sizeof fl);
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = WRITER_BYTE;
	fl.l_len = 1;
	if (fcntl(fd, F_OFD_GETLK, &fl) != 0 || fl.l_type == F_UNLCK)
		return 0;
	conflict_message(fd, path, F_WRLCK, WRITER_BYTE, 1);
	return 1;
}
