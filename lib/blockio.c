/* blockio.c -- block reads/writes through the backend, CRC checked. */
#include <string.h>
#include "blockio.h"
#include "crc.h"
#include "error.h"

static int relax(const struct wodan *w)
{
	return (w->flags & WODAN_OPEN_RELAX_MAGIC_CRC) != 0;
}

int wd_read_block_raw(struct wodan *w, uint64_t L, uint8_t *buf)
{
	uint32_t bs = w->g.bs;
	int r = w->be->read(w->be, L * bs, buf, bs);
	w->st.blocks_read++;
	w->st.bytes_read += bs;
	if (r)
		return wd_err_block(WODAN_E_IO_READ, L,
				    "read of block %llu failed: %s",
				    (unsigned long long)L, strerror(-r));
	return wd_crc_valid(buf, bs, relax(w));
}

int wd_read_block(struct wodan *w, uint64_t L, uint8_t *buf)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		int r = wd_read_block_raw(w, L, buf);
		if (r < 0)
			return r;
		if (r == 1)
			return 0;
	}
	return wd_err_block(WODAN_E_BAD_CRC, L, "block %llu: CRC mismatch",
			    (unsigned long long)L);
}

int wd_write_blocks(struct wodan *w, uint64_t L, const uint8_t *buf,
		    uint32_t n)
{
	uint64_t len = (uint64_t)n * w->g.bs;
	int r = w->be->write(w->be, L * w->g.bs, buf, (size_t)len);
	if (r)
		return wd_err_block(WODAN_E_IO_WRITE, L,
				    "write of blocks %llu..%llu failed: %s",
				    (unsigned long long)L,
				    (unsigned long long)(L + n - 1),
				    strerror(-r));
	w->st.blocks_written += n;
	w->st.bytes_written += len;
	return 0;
}

int wd_write_block(struct wodan *w, uint64_t L, const uint8_t *buf)
{
	uint32_t bs = w->g.bs;
	int r = w->be->write(w->be, L * bs, buf, bs);
	if (r)
		return wd_err_block(WODAN_E_IO_WRITE, L,
				    "write of block %llu failed: %s",
				    (unsigned long long)L, strerror(-r));
	w->st.blocks_written++;
	w->st.bytes_written += bs;
	return 0;
}

int wd_barrier(struct wodan *w)
{
	int r = w->be->barrier ? w->be->barrier(w->be) : 0;
	w->st.barriers++;
	if (r)
		return wd_err(WODAN_E_IO_BARRIER, "barrier failed: %s",
			      strerror(-r));
	return 0;
}

