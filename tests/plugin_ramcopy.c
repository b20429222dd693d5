/*
 * plugin_ramcopy.c -- a backend plugin for tests/test_backends.c, built
 * outside the library (only wodan_backend.h; no libwodan internals).
 *
 * Backend "ramcopy": "ramcopy:FILE" reads FILE into RAM at open (creating or
 * extending it to size_bytes with WODAN_BACKEND_CREATE).  Reads and writes
 * go to RAM; a barrier writes the RAM copy back to FILE and fdatasyncs it,
 * so FILE holds exactly what was made durable; close does not write back.
 * io_size_bytes = phys_sector_bytes = 4096.
 *
 * backends/local.mk builds it several ways:
 *   -DPLUGIN_NAME='"x"'  the backend name (default "ramcopy")
 *   -DPLUGIN_ABI=N       claim backend ABI version N (mismatch test)
 *   -DPLUGIN_NO_OPEN     leave out wodan_backend_plugin_open (missing symbol)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "wodan_backend.h"

#ifndef PLUGIN_NAME
#define PLUGIN_NAME "ramcopy"
#endif
#ifndef PLUGIN_ABI
#define PLUGIN_ABI WODAN_BACKEND_ABI_VERSION
#endif
#define SECTOR 4096u

const struct wodan_plugin_info wodan_plugin_info = {
	.abi_version = PLUGIN_ABI,
	.name = PLUGIN_NAME,
	.version = "1.0",
	.description = "RAM copy of a file, written back at barriers (test)",
};

#ifndef PLUGIN_NO_OPEN
struct rc_ctx {
	int fd;
	uint8_t *mem;
};

/* Common checks: the alignment promises of wodan_backend.h. */
static int rc_check(const struct wodan_backend *be, uint64_t off,
		    const void *buf, uint64_t len)
{
	if (off % SECTOR || len % SECTOR || (buf && (uintptr_t)buf % 4096))
		return -EINVAL;
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	return 0;
}

static int rc_read(struct wodan_backend *be, uint64_t off, void *buf,
		   size_t len)
{
	struct rc_ctx *c = be->ctx;
	int r = rc_check(be, off, buf, len);
	if (!r)
		memcpy(buf, c->mem + off, len);
	return r;
}

static int rc_write(struct wodan_backend *be, uint64_t off, const void *buf,
		    size_t len)
{
	struct rc_ctx *c = be->ctx;
	int r = rc_check(be, off, buf, len);
	if (!r)
		memcpy(c->mem + off, buf, len);
	return r;
}

static int rc_discard(struct wodan_backend *be, uint64_t off, uint64_t len)
{
	struct rc_ctx *c = be->ctx;
	int r = rc_check(be, off, NULL, len);
	if (!r)
		memset(c->mem + off, 0, len);
	return r;
}

static int rc_barrier(struct wodan_backend *be)
{
	struct rc_ctx *c = be->ctx;
	uint64_t done = 0;
	while (done < be->size_bytes) {
		ssize_t n = pwrite(c->fd, c->mem + done,
				   be->size_bytes - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += (uint64_t)n;
	}
	return fdatasync(c->fd) ? -errno : 0;
}

static void rc_close(struct wodan_backend *be)
{
	struct rc_ctx *c = be->ctx;
	close(c->fd);
	free(c->mem);
	free(c);
	free(be);
}

int wodan_backend_plugin_open(const char *path, unsigned flags,
			      uint64_t size_bytes, struct wodan_backend **out)
{
	int create = (flags & WODAN_BACKEND_CREATE) &&
		     !(flags & WODAN_BACKEND_RDONLY);
	int fd = open(path, (flags & WODAN_BACKEND_RDONLY ? O_RDONLY : O_RDWR) |
			    (create ? O_CREAT : 0) | O_CLOEXEC, 0644);
	if (fd < 0)
		return wodan_backend_error(WODAN_E_IO_READ, "ramcopy: %s: %s",
					   path, strerror(errno));
	struct stat st;
	uint64_t size = 0;
	if (fstat(fd, &st) == 0)
		size = (uint64_t)st.st_size;
	if (size_bytes > size && create) {
		if (ftruncate(fd, (off_t)size_bytes)) {
			close(fd);
			return wodan_backend_error(WODAN_E_IO_WRITE,
						   "ramcopy: %s: cannot extend",
						   path);
		}
		size = size_bytes;
	}
	size -= size % SECTOR;
	struct wodan_backend *be = calloc(1, sizeof *be);
	struct rc_ctx *c = calloc(1, sizeof *c);
	uint8_t *mem = size ? aligned_alloc(4096, size) : NULL;
	if (!be || !c || !mem) {
		free(be);
		free(c);
		free(mem);
		close(fd);
		return wodan_backend_error(size ? WODAN_E_NOMEM : WODAN_E_INVAL,
					   "ramcopy: %s: %s", path,
					   size ? "out of memory"
						: "empty file");
	}
	for (uint64_t done = 0; done < size;) {
		ssize_t n = pread(fd, mem + done, size - done, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) { /* short file: the rest reads as zeros */
			memset(mem + done, 0, size - done);
			break;
		}
		done += (uint64_t)n;
	}
	c->fd = fd;
	c->mem = mem;
	be->abi_version = WODAN_BACKEND_ABI_VERSION;
	be->name = PLUGIN_NAME;
	be->ctx = c;
	be->size_bytes = size;
	be->io_size_bytes = SECTOR;
	be->phys_sector_bytes = SECTOR;
	be->read = rc_read;
	be->write = rc_write;
	be->discard = rc_discard;
	be->barrier = rc_barrier;
	be->close = rc_close;
	*out = be;
	return 0;
}
#endif /* PLUGIN_NO_OPEN */
