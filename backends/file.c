/* file.c -- regular-file backend: pread/pwrite, fdatasync barrier,
 * punch-hole discard. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backend_util.h"

struct file_ctx {
	int fd;
	unsigned lock;   /* WODAN_LOCK_* held */
	int rdonly;      /* WODAN_BACKEND_RDONLY */
	char *path;      /* for lock messages */
};

static int file_read(struct wodan_backend *be, uint64_t off, void *buf,
		     size_t len)
{
	struct file_ctx *c = be->ctx;
	uint8_t *p = buf;
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	while (len) {
		ssize_t n = pread(c->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) { /* past EOF of a shorter file: zeros */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_write(struct wodan_backend *be, uint64_t off, const void *buf,
		      size_t len)
{
	struct file_ctx *c = be->ctx;
	const uint8_t *p = buf;
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	while (len) {
		ssize_t n = pwrite(c->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_discard(struct wodan_backend *be, uint64_t off, uint64_t len)
{
	struct file_ctx *c = be->ctx;
	if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	/* no hole punching on this file system: report it rather than write
	 * zeros, which would fully allocate a large sparse image at mkfs */
	return -errno;
}

static int file_barrier(struct wodan_backend *be)
{
	struct file_ctx *c = be->ctx;
	return fdatasync(c->fd) ? -errno : 0;
}

static int file_lock(struct wodan_backend *be, unsigned mode)
{
	struct file_ctx *c = be->ctx;
	/* a read-only descriptor cannot write (nor take write locks): it
	 * is a reader whatever it is asked for */
	if (c->rdonly && mode > WODAN_LOCK_SHARED)
		mode = WODAN_LOCK_SHARED;
	return wd_ofd_lock(c->fd, c->path, &c->lock, mode);
}

static void file_close(struct wodan_backend *be)
{
	struct file_ctx *c = be->ctx;
	if (c) {
		close(c->fd); /* drops the locks too */
		free(c->path);
	}
	free(c);
	free(be);
}

int wodan_backend_file_open(const char *path, unsigned flags,
			    uint64_t size_bytes, struct wodan_backend **out)
{
	wodan_backend_error(0, NULL);
	if (!out)
		return wodan_backend_error(WODAN_E_INVAL, "no result pointer");
	*out = NULL;
	if (!path || !*path)
		return wodan_backend_error(WODAN_E_INVAL, "empty device path");
	int oflags = (flags & WODAN_BACKEND_RDONLY) ? O_RDONLY : O_RDWR;
	if ((flags & WODAN_BACKEND_CREATE) && !(flags & WODAN_BACKEND_RDONLY))
		oflags |= O_CREAT;
	int fd = open(path, oflags | O_CLOEXEC, 0644);
	if (fd < 0)
		return wodan_backend_error(WODAN_E_IO_READ, "%s: %s", path,
					   strerror(errno));
	struct stat st;
	if (fstat(fd, &st)) {
		int e = errno;
		close(fd);
		return wodan_backend_error(WODAN_E_IO_READ, "%s: %s", path,
					   strerror(e));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return wodan_backend_error(WODAN_E_INVAL,
					   "%s: not a regular file (block "
					   "devices come with the direct "
					   "backend: direct:%s)", path, path);
	}
	uint64_t size = (uint64_t)st.st_size;
	if (size_bytes && size < size_bytes && !(flags & WODAN_BACKEND_RDONLY)) {
		if (ftruncate(fd, (off_t)size_bytes)) {
			int e = errno;
			close(fd);
			return wodan_backend_error(
				WODAN_E_IO_WRITE, "%s: cannot extend to %llu "
				"bytes: %s", path,
				(unsigned long long)size_bytes, strerror(e));
		}
		size = size_bytes;
	}
	struct wodan_backend *be = calloc(1, sizeof *be);
	struct file_ctx *c = calloc(1, sizeof *c);
	char *pcopy = strdup(path);
	if (!be || !c || !pcopy) {
		free(be);
		free(c);
		free(pcopy);
		close(fd);
		return wodan_backend_error(WODAN_E_NOMEM, NULL);
	}
	c->fd = fd;
	c->path = pcopy;
	c->rdonly = (flags & WODAN_BACKEND_RDONLY) != 0;
	be->abi_version = WODAN_BACKEND_ABI_VERSION;
	be->name = "file";
	be->ctx = c;
	be->size_bytes = size;
	be->io_size_bytes = 512;
	/* the file system block: what a power cut can tear */
	be->phys_sector_bytes = 512;
	if (st.st_blksize > 512 && st.st_blksize <= 65536 &&
	    !(st.st_blksize & (st.st_blksize - 1)))
		be->phys_sector_bytes = (uint32_t)st.st_blksize;
	be->read = file_read;
	be->write = file_write;
	be->discard = file_discard;
	be->barrier = file_barrier;
	be->close = file_close;
	be->lock = file_lock;
	*out = be;
	return 0;
}
