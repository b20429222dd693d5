/*
 * direct.c -- O_DIRECT backend for block devices and regular files
 * (contract in wodan_backend.h, wodan_backend_direct_open).
 *
 * Sector sizes: a block device reports them (BLKSSZGET, BLKPBSZGET).  A
 * regular file uses 4096 bytes, or the file system's direct-I/O offset
 * alignment when that is larger (statx STATX_DIOALIGN): 4096 satisfies
 * O_DIRECT on every common file system (ext4, xfs, btrfs, tmpfs) whatever
 * the disk below, and an image formatted on a file then also fits a 4Kn
 * device.  Requests are never fixed up: a misaligned one is refused with
 * -EINVAL, so a bug in the caller shows instead of being hidden.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "backend_util.h"

#define FILE_SECTOR 4096u
#define MAX_SECTOR 65536u
#define ZERO_CHUNK 65536u

struct direct_ctx {
	int fd;
	unsigned lock;       /* WODAN_LOCK_* held */
	int rdonly;          /* WODAN_BACKEND_RDONLY */
	char *path;          /* for lock messages */
	int is_blk;
	uint32_t mem_align;  /* required buffer alignment */
};

static const uint8_t zeros[ZERO_CHUNK] __attribute__((aligned(4096)));

/* 0 when the request fits the device and its alignment, else -EINVAL. */
static int check(const struct wodan_backend *be, uint64_t off,
		 const void *buf, uint64_t len)
{
	const struct direct_ctx *c = be->ctx;
	uint64_t ss = be->io_size_bytes;
	if (off % ss || len % ss)
		return -EINVAL;
	if (buf && (uintptr_t)buf % c->mem_align)
		return -EINVAL;
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	return 0;
}

static int direct_read(struct wodan_backend *be, uint64_t off, void *buf,
		       size_t len)
{
	struct direct_ctx *c = be->ctx;
	uint8_t *p = buf;
	int r = check(be, off, buf, len);
	if (r)
		return r;
	while (len) {
		ssize_t n = pread(c->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) { /* past the end of a shorter file: zeros */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int direct_write(struct wodan_backend *be, uint64_t off,
			const void *buf, size_t len)
{
	struct direct_ctx *c = be->ctx;
	const uint8_t *p = buf;
	int r = check(be, off, buf, len);
	if (r)
		return r;
	while (len) {
		ssize_t n = pwrite(c->fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int direct_discard(struct wodan_backend *be, uint64_t off,
			  uint64_t len)
{
	struct direct_ctx *c = be->ctx;
	int r = check(be, off, NULL, len);
	if (r || !len)
		return r;
	if (c->is_blk) {
		uint64_t range[2] = { off, len };
		return ioctl(c->fd, BLKDISCARD, range) ? -errno : 0;
	}
	if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	/* no hole punching here: write zeros so the range reads as unused */
	while (len) {
		size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
		r = direct_write(be, off, zeros, n);
		if (r)
			return r;
		off += n;
		len -= n;
	}
	return 0;
}

static int direct_barrier(struct wodan_backend *be)
{
	struct direct_ctx *c = be->ctx;
	return fdatasync(c->fd) ? -errno : 0;
}

static int direct_lock(struct wodan_backend *be, unsigned mode)
{
	struct direct_ctx *c = be->ctx;
	/* a read-only descriptor cannot write (nor take write locks): it
	 * is a reader whatever it is asked for */
	if (c->rdonly && mode > WODAN_LOCK_SHARED)
		mode = WODAN_LOCK_SHARED;
	return wd_ofd_lock(c->fd, c->path, &c->lock, mode);
}

static void direct_close(struct wodan_backend *be)
{
	struct direct_ctx *c = be->ctx;
	if (c) {
		close(c->fd); /* drops the locks too */
		free(c->path);
	}
	free(c);
	free(be);
}

static int pow2_in(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi && !(v & (v - 1));
}

/* Does the request queue of block device `rdev` discard?  1 yes (or
 * unknown), 0 when sysfs says discard_max_bytes is 0. */
static int blk_can_discard(dev_t rdev)
{
	char path[128];
	for (int i = 0; i < 2; i++) { /* the device, or a partition's disk */
		snprintf(path, sizeof path,
			 "/sys/dev/block/%u:%u/%squeue/discard_max_bytes",
			 major(rdev), minor(rdev), i ? "../" : "");
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		unsigned long long v = 1;
		int ok = fscanf(f, "%llu", &v) == 1;
		fclose(f);
		return ok ? v != 0 : 1;
	}
	return 1;
}

/* Geometry of a block device; 0 or an error. */
static int blk_geometry(int fd, const char *path, uint64_t *size,
			uint32_t *lss, uint32_t *pss)
{
	int l = 0;
	unsigned int p = 0;
	if (ioctl(fd, BLKGETSIZE64, size) || ioctl(fd, BLKSSZGET, &l) ||
	    ioctl(fd, BLKPBSZGET, &p))
		return wodan_backend_error(WODAN_E_IO_READ, "%s: cannot read "
					   "the device geometry: %s", path,
					   strerror(errno));
	if (l <= 0 || !pow2_in((uint64_t)l, 512, MAX_SECTOR))
		return wodan_backend_error(WODAN_E_INVAL, "%s: logical sector "
					   "size %d not supported (need a "
					   "power of two in 512..%u)", path,
					   l, MAX_SECTOR);
	*lss = (uint32_t)l;
	*pss = pow2_in(p, *lss, 1u << 30) ? p : *lss;
	return 0;
}

/* Geometry of a regular file (see the top of this file); 0 or an error.
 * mem_align may be raised to the file system's DIO memory alignment. */
static int file_geometry(int fd, const char *path, const struct stat *st,
			 unsigned flags, uint64_t size_bytes, uint64_t *size,
			 uint32_t *lss, uint32_t *pss, uint32_t *mem_align)
{
	uint32_t l = FILE_SECTOR;
#ifdef STATX_DIOALIGN
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
	    (sx.stx_mask & STATX_DIOALIGN)) {
		if (sx.stx_dio_offset_align > l)
			l = sx.stx_dio_offset_align;
		if (sx.stx_dio_mem_align > *mem_align)
			*mem_align = sx.stx_dio_mem_align;
	}
#endif
	if (*mem_align < (l < 4096 ? l : 4096))
		*mem_align = l < 4096 ? l : 4096;
	if (!pow2_in(l, 512, MAX_SECTOR) || *mem_align > 4096)
		return wodan_backend_error(WODAN_E_INVAL, "%s: direct I/O "
					   "alignment %u (memory %u) not "
					   "supported", path, l, *mem_align);
	*lss = l;
	*pss = pow2_in((uint64_t)st->st_blksize, l, MAX_SECTOR)
		       ? (uint32_t)st->st_blksize : l;
	*size = (uint64_t)st->st_size;
	if (size_bytes % l)
		return wodan_backend_error(WODAN_E_INVAL, "%s: size %llu is "
					   "not a multiple of the %u-byte "
					   "sector", path,
					   (unsigned long long)size_bytes, l);
	if (size_bytes > *size && !(flags & WODAN_BACKEND_RDONLY)) {
		if (ftruncate(fd, (off_t)size_bytes))
			return wodan_backend_error(
				WODAN_E_IO_WRITE, "%s: cannot extend to %llu "
				"bytes: %s", path,
				(unsigned long long)size_bytes,
				strerror(errno));
		*size = size_bytes;
	}
	*size -= *size % l;
	return 0;
}

/* open(2) error -> message. */
static int open_error(const char *path, int e)
{
	if (e == EINVAL)
		return wodan_backend_error(WODAN_E_INVAL, "%s: the file system "
					   "does not support O_DIRECT (use "
					   "file:%s)", path, path);
	if (e == EBUSY) {
		/* a wodan writer (its lock is on the device node), or a
		 * mount or another program holding it with O_EXCL? */
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		int ours = fd >= 0 && wd_ofd_writer_busy(fd, path);
		if (fd >= 0)
			close(fd);
		if (ours)
			return WODAN_E_LOCKED;
		return wodan_backend_error(WODAN_E_IO_READ, "%s: device is "
					   "busy (mounted, or opened "
					   "exclusively by another program)",
					   path);
	}
	return wodan_backend_error(WODAN_E_IO_READ, "%s: %s", path,
				   strerror(e));
}

int wodan_backend_direct_open(const char *path, unsigned flags,
			      uint64_t size_bytes, struct wodan_backend **out)
{
	struct stat st;
	uint64_t size = 0;
	uint32_t lss = 0, pss = 0, mem_align = 4096;
	int rdonly = (flags & WODAN_BACKEND_RDONLY) != 0;
	int r;

	wodan_backend_error(0, NULL);
	if (!out)
		return wodan_backend_error(WODAN_E_INVAL, "no result pointer");
	*out = NULL;
	if (!path || !*path)
		return wodan_backend_error(WODAN_E_INVAL, "empty device path");
	int oflags = (rdonly ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC;
	if (stat(path, &st) == 0) {
		if (S_ISBLK(st.st_mode) && !rdonly)
			oflags |= O_EXCL; /* refuse a mounted device */
	} else if ((flags & WODAN_BACKEND_CREATE) && !rdonly) {
		oflags |= O_CREAT;
	}
	int fd = open(path, oflags, 0644);
	if (fd < 0)
		return open_error(path, errno);
	if (fstat(fd, &st)) {
		r = wodan_backend_error(WODAN_E_IO_READ, "%s: %s", path,
					strerror(errno));
		goto fail;
	}
	if (S_ISBLK(st.st_mode)) {
		r = blk_geometry(fd, path, &size, &lss, &pss);
		if (!r && size_bytes > size)
			r = wodan_backend_error(WODAN_E_INVAL, "%s: the device "
						"holds %llu bytes, %llu "
						"requested", path,
						(unsigned long long)size,
						(unsigned long long)size_bytes);
		mem_align = lss < 4096 ? lss : 4096;
	} else if (S_ISREG(st.st_mode)) {
		mem_align = 0;
		r = file_geometry(fd, path, &st, flags, size_bytes, &size,
				  &lss, &pss, &mem_align);
	} else {
		r = wodan_backend_error(WODAN_E_INVAL, "%s: neither a block "
					"device nor a regular file", path);
	}
	if (r)
		goto fail;
	struct wodan_backend *be = calloc(1, sizeof *be);
	struct direct_ctx *c = calloc(1, sizeof *c);
	char *pcopy = strdup(path);
	if (!be || !c || !pcopy) {
		free(be);
		free(c);
		free(pcopy);
		r = wodan_backend_error(WODAN_E_NOMEM, NULL);
		goto fail;
	}
	c->fd = fd;
	c->path = pcopy;
	c->rdonly = (flags & WODAN_BACKEND_RDONLY) != 0;
	c->is_blk = S_ISBLK(st.st_mode);
	c->mem_align = mem_align;
	be->abi_version = WODAN_BACKEND_ABI_VERSION;
	be->name = "direct";
	be->ctx = c;
	be->size_bytes = size;
	be->io_size_bytes = lss;
	be->phys_sector_bytes = pss;
	be->read = direct_read;
	be->write = direct_write;
	be->discard = c->is_blk && !blk_can_discard(st.st_rdev)
			      ? NULL : direct_discard;
	be->barrier = direct_barrier;
	be->close = direct_close;
	be->lock = direct_lock;
	*out = be;
	return 0;
fail:
	close(fd);
	return r;
}
