/*
 * blockio.h -- whole-block I/O with CRC-32C (internal).  Every read is
 * checked; a CRC mismatch is re-read once before it is declared corrupt
 * (doc/SPEC.md §11.1: transient errors exist).  Counters go to w->st.
 */
#ifndef WD_BLOCKIO_H
#define WD_BLOCKIO_H

#include <stdint.h>
#include "handle.h"

/* Read block L (bs bytes) into buf and verify its CRC.  Errors:
 * WODAN_E_IO_READ, WODAN_E_BAD_CRC (detail.block = L). */
int wd_read_block(struct wodan *w, uint64_t L, uint8_t *buf);
/* Read block L without checking the CRC (root search); 1 if the CRC is
 * valid, 0 if not, or WODAN_E_IO_READ. */
int wd_read_block_raw(struct wodan *w, uint64_t L, uint8_t *buf);
/* Write bs bytes at block L.  WODAN_E_IO_WRITE on failure. */
int wd_write_block(struct wodan *w, uint64_t L, const uint8_t *buf);
/* Write n consecutive blocks L .. L + n - 1 (n * bs bytes) with one backend
 * call.  WODAN_E_IO_WRITE on failure (then any of them may have landed,
 * whole, torn or not at all). */
int wd_write_blocks(struct wodan *w, uint64_t L, const uint8_t *buf,
		    uint32_t n);
int wd_barrier(struct wodan *w);

#endif
