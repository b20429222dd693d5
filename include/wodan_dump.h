/*
 * wodan_dump.h -- the CBOR dump format of `wodanc dump` / `wodanc restore`
 * (doc/DUMP.md, version 1): a CBOR sequence of a tagged header
 * map, [key, value] records, and a trailer map with the record count and the
 * CRC32C of the record bytes.  Encoding uses libcbor's encoders; decoding
 * uses a small bounded CBOR item-head parser (libcbor's streaming decoder
 * needs a whole definite-length string in memory before it reports its
 * length, so lengths could not be checked before buffering).
 *
 * Thread-safety: a reader or writer object is used by one thread at a time.
 * Every byte read is hostile: every declared length is bounded before it is
 * read; the reader holds one record plus a 64 KiB input window (about
 * 128 KiB, fixed), whatever the input says.
 */
#ifndef WODAN_DUMP_H
#define WODAN_DUMP_H

#include <stdint.h>
#include <stdio.h>
#include "wodan.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Header fields (doc/DUMP.md §2).  Optional fields have a has_ flag. */
struct wodan_dump_header {
	uint32_t version;          /* 1 */
	uint32_t key_size_bytes;   /* 1..255 */
	int tombstones;
	int has_block_size;  uint32_t block_size_bytes;
	int has_generation;  uint64_t generation;
	int has_fsid;        uint8_t fsid[16];
};

/* ----------------------------------------------------------------- writer */

typedef struct wodan_dump_writer wodan_dump_writer;

/* Write callback: write len bytes; return 0 or a negative errno. */
typedef int (*wodan_write_fn)(void *arg, const void *buf, size_t len);

/* Start a dump: encodes and writes the header.  Errors: WODAN_E_INVAL (bad
 * header: key size 0/>255), WODAN_E_IO_WRITE (callback failed), _NOMEM.
 * *out owned by the caller until wodan_dump_writer_finish/_free. */
int wodan_dump_writer_new(const struct wodan_dump_header *h,
			  wodan_write_fn fn, void *arg,
			  wodan_dump_writer **out);

/* Append a record.  key_len must equal the header's key size; val_len <=
 * 65535.  Errors: WODAN_E_BAD_KEY, _VALUE_TOO_LARGE, _IO_WRITE. */
int wodan_dump_writer_record(wodan_dump_writer *wr, const void *key,
			     size_t key_len, const void *val, size_t val_len);

/* Write the trailer and free the writer (always freed).  *records (may be
 * NULL) gets the record count.  Errors: WODAN_E_IO_WRITE. */
int wodan_dump_writer_finish(wodan_dump_writer *wr, uint64_t *records);

/* Free without writing a trailer (the output is then an invalid dump). */
void wodan_dump_writer_free(wodan_dump_writer *wr);

/* ----------------------------------------------------------------- reader */

typedef struct wodan_dump_reader wodan_dump_reader;

/* Read callback: read up to len bytes into buf; return the count (0 = end of
 * input) or a negative errno. */
typedef long (*wodan_read_fn)(void *arg, void *buf, size_t len);

/*
 * Start reading: reads and validates the header (tag 55799, map with
 * "wodan-dump" 1, "key-size" 1..255, "tombstones" bool; unknown keys
 * ignored).  max_value_bytes bounds record values (0 = 65535).
 * Errors: WODAN_E_DUMP (detail: message, offset_bytes), WODAN_E_IO_READ,
 * WODAN_E_NOMEM.  *out owned by the caller (wodan_dump_reader_free).
 */
int wodan_dump_reader_new(wodan_read_fn fn, void *arg,
			  uint32_t max_value_bytes, wodan_dump_reader **out);

/* The header read by wodan_dump_reader_new (owned by the reader). */
const struct wodan_dump_header *
wodan_dump_reader_header(const wodan_dump_reader *rd);

/* Change the value bound after the header was read (e.g. once the target
 * image is known).  0 = 65535. */
void wodan_dump_reader_set_max_value(wodan_dump_reader *rd,
				     uint32_t max_value_bytes);

/*
 * Next record.  Returns 1 with *key (key size bytes) and *val (*val_len
 * bytes) pointing into the reader's buffer, valid until the next call; 0 at
 * a valid end (trailer read, record count and CRC32C matched, nothing
 * after); WODAN_E_DUMP on malformed input (detail: message naming the
 * problem, offset_bytes of the offending item, record number), or
 * WODAN_E_VALUE_TOO_LARGE / WODAN_E_BAD_KEY (also with offset and record),
 * or WODAN_E_IO_READ.
 */
int wodan_dump_reader_next(wodan_dump_reader *rd, const uint8_t **key,
			   const uint8_t **val, size_t *val_len);

/* Bytes consumed so far and records returned so far. */
uint64_t wodan_dump_reader_offset(const wodan_dump_reader *rd);
uint64_t wodan_dump_reader_records(const wodan_dump_reader *rd);

void wodan_dump_reader_free(wodan_dump_reader *rd);

/* ------------------------------------------------- image <-> dump helpers */

/*
 * Dump the live keys of `w` in [start, end) (NULL = unbounded, as
 * wodan_iterate) in ascending order, with a header carrying key size,
 * tombstones, block size, generation and fsid.  progress (may be NULL) is
 * called with records written so far and 0 as total.  *records (may be
 * NULL) gets the count.  Errors: as wodan_iterate, WODAN_E_IO_WRITE.
 */
int wodan_dump(wodan_t *w, const void *start, const void *end,
	       wodan_write_fn fn, void *arg, wodan_progress_fn progress,
	       void *progress_arg, uint64_t *records);

/*
 * Insert every record of `rd` (whose header was already read) into `w`,
 * flushing when the library answers WODAN_E_NEEDS_FLUSH and once at the end.
 * The dump's key size must equal the image's (else WODAN_E_BAD_PARAMS); an
 * empty value in a dump whose header says tombstones=true deletes the key
 * (WODAN_E_NOT_SUPPORTED if the image has no tombstones).  progress (may be
 * NULL) gets (records done, 0).  *records gets the count applied.  On error
 * the image holds, durably, every record before the failing one that a flush
 * covered; the error detail names the record and byte offset.
 */
int wodan_restore(wodan_t *w, wodan_dump_reader *rd,
		  wodan_progress_fn progress, void *progress_arg,
		  uint64_t *records);

#ifdef __cplusplus
}
#endif
#endif /* WODAN_DUMP_H */
