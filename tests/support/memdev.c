/*
 * memdev.c -- RAM devices for the tests (see memdev.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "memdev.h"

static struct memdev *md_of(struct wodan_backend *be)
{
	return (struct memdev *)be;
}

static int bad_range(const struct wodan_backend *be, uint64_t off,
		     uint64_t len)
{
	return off > be->size_bytes || len > be->size_bytes - off;
}

static void md_log(struct memdev *d, enum md_kind kind, uint64_t off,
		   const void *buf, uint64_t len)
{
	if (!d->recording)
		return;
	if (d->nlog == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 1024;
		d->log = realloc(d->log, d->cap * sizeof *d->log);
		if (!d->log)
			abort();
	}
	struct md_op *x = &d->log[d->nlog++];
	x->kind = kind;
	x->epoch = d->nbar;
	x->off = off;
	x->len = len;
	x->data = NULL;
	if (kind == MD_WRITE) {
		x->data = malloc(len ? len : 1);
		if (!x->data)
			abort();
		memcpy(x->data, buf, len);
	}
}

static int md_read(struct wodan_backend *be, uint64_t off, void *buf,
		   size_t len)
{
	if (bad_range(be, off, len))
		return -EINVAL;
	memcpy(buf, md_of(be)->mem + off, len);
	return 0;
}

static int md_write(struct wodan_backend *be, uint64_t off, const void *buf,
		    size_t len)
{
	struct memdev *d = md_of(be);
	if (bad_range(be, off, len) || off % be->io_size_bytes ||
	    len % be->io_size_bytes)
		return -EINVAL;
	md_log(d, MD_WRITE, off, buf, len);
	memcpy(d->mem + off, buf, len);
	return 0;
}

static int md_discard(struct wodan_backend *be, uint64_t off, uint64_t len)
{
	struct memdev *d = md_of(be);
	d->discard_calls++;
	if (d->discard_err) {
		int r = d->discard_err;
		if (d->discard_err_once)
			d->discard_err = d->discard_err_once = 0;
		return r;
	}
	if (bad_range(be, off, len) || off % be->io_size_bytes ||
	    len % be->io_size_bytes || len == 0)
		return -EINVAL;
	md_log(d, MD_DISCARD, off, NULL, len);
	d->discards++;
	memset(d->mem + off, 0, len);
	return 0;
}

static int md_barrier(struct wodan_backend *be)
{
	struct memdev *d = md_of(be);
	if (d->fail_barrier_in > 0 && --d->fail_barrier_in == 0)
		return -EIO;
	if (d->log_barriers)
		md_log(d, MD_BARRIER, 0, NULL, 0);
	if (d->recording)
		d->nbar++;
	return 0;
}

void memdev_init(struct memdev *d, uint8_t *mem, uint64_t size,
		 const char *name)
{
	memset(d, 0, sizeof *d);
	d->be.abi_version = WODAN_BACKEND_ABI_VERSION;
	d->be.name = name ? name : "test-ram";
	d->be.ctx = d;
	d->be.size_bytes = size;
	d->be.io_size_bytes = 512;
	d->be.phys_sector_bytes = 512;
	d->be.read = md_read;
	d->be.write = md_write;
	d->be.discard = md_discard;
	d->be.barrier = md_barrier;
	d->mem = mem;
}

void memdev_clear_log(struct memdev *d)
{
	for (size_t i = 0; i < d->nlog; i++)
		free(d->log[i].data);
	free(d->log);
	d->log = NULL;
	d->nlog = d->cap = 0;
}

void memdev_apply(uint8_t *img, const struct md_op *x, uint64_t len)
{
	if (len > x->len)
		len = x->len;
	if (x->kind == MD_WRITE)
		memcpy(img + x->off, x->data, len);
	else if (x->kind == MD_DISCARD)
		memset(img + x->off, 0, len);
}
