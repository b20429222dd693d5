/* ram.c -- in-memory device (tests, bench, fuzz). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "backend_util.h"

static int ram_read(struct wodan_backend *be, uint64_t off, void *buf,
		    size_t len)
{
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	memcpy(buf, (uint8_t *)be->ctx + off, len);
	return 0;
}

static int ram_write(struct wodan_backend *be, uint64_t off, const void *buf,
		     size_t len)
{
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	memcpy((uint8_t *)be->ctx + off, buf, len);
	return 0;
}

static int ram_discard(struct wodan_backend *be, uint64_t off, uint64_t len)
{
	if (off > be->size_bytes || len > be->size_bytes - off)
		return -EINVAL;
	memset((uint8_t *)be->ctx + off, 0, len);
	return 0;
}

static int ram_barrier(struct wodan_backend *be)
{
	(void)be;
	return 0;
}

static void ram_close(struct wodan_backend *be)
{
	if (be->ctx)
		munmap(be->ctx, be->size_bytes);
	free(be);
}

int wodan_backend_ram_create(uint64_t size_bytes, struct wodan_backend **out)
{
	wodan_backend_error(0, NULL);
	if (!out)
		return wodan_backend_error(WODAN_E_INVAL, "no result pointer");
	*out = NULL;
	if (size_bytes == 0 || size_bytes % 512 || size_bytes > (64ull << 30))
		return wodan_backend_error(WODAN_E_INVAL,
					   "RAM device size %llu: must be a "
					   "non-zero multiple of 512 up to "
					   "64 GiB",
					   (unsigned long long)size_bytes);
	struct wodan_backend *be = calloc(1, sizeof *be);
	if (!be)
		return wodan_backend_error(WODAN_E_NOMEM, NULL);
	/* anonymous mapping: zero-filled, pages allocated on first touch */
	void *mem = mmap(NULL, size_bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED) {
		free(be);
		return wodan_backend_error(WODAN_E_NOMEM,
					   "cannot map %llu bytes",
					   (unsigned long long)size_bytes);
	}
	be->abi_version = WODAN_BACKEND_ABI_VERSION;
	be->name = "ram";
	be->ctx = mem;
	be->size_bytes = size_bytes;
	be->io_size_bytes = 512;
	be->phys_sector_bytes = 512;
	be->read = ram_read;
	be->write = ram_write;
	be->discard = ram_discard;
	be->barrier = ram_barrier;
	be->close = ram_close;
	*out = be;
	return 0;
}
