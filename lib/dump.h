/*
 * dump.h -- internal to lib/dump_*.c: the CBOR dump format of `wodanc dump`
 * / `wodanc restore` (doc/DUMP.md, version 1; API and ownership in
 * wodan_dump.h), split in three files:
 *   dump_write.c  the writer (wodan_dump_writer_*);
 *   dump_read.c   the reader (wodan_dump_reader_*);
 *   dump_image.c  image <-> dump helpers (wodan_dump, wodan_restore), which
 *                 read the writer's and reader's counters below.
 *
 *
 * A dump is a CBOR sequence (doc/DUMP.md §1): tag 55799 + header
 * map, zero or more [key, value] records, then a trailer map {records,
 * crc32c} whose crc32c covers the exact encoded bytes of every record item.
 *
 * Writer: libcbor's encoders (cbor_encode_*) into a 64 KiB buffer handed to
 * the write callback in large chunks; definite lengths only.
 *
 * Reader (doc/DUMP.md §6): a small hand-written CBOR item-head
 * parser over a 64 KiB input window refilled from the read callback.  It
 * replaces libcbor's cbor_stream_decode, which reports a definite string only
 * once all of it sits in its buffer, so a declared length could not be
 * bounded before buffering.  Here every declared length is checked against
 * its bound (key size, maximum value) before any payload byte is read, and
 * unknown items are skipped by streaming through them (nesting bounded),
 * never by allocating: memory is the window plus one record (255 + 65535
 * bytes).  Indefinite-length strings (chunks), arrays and maps are accepted
 * wherever CBOR allows them.  The absolute byte offset of every item is
 * tracked; the CRC32C is computed over record bytes as they are consumed.
 *
 * Errors set wodan_last_error(): offset_bytes = offset of the offending item
 * (end of input when truncated), record = 0-based number of the record being
 * read (the count read so far in the trailer; UINT64_MAX in the header).
 */
#ifndef WD_DUMP_H
#define WD_DUMP_H

#include <stddef.h>
#include <stdint.h>
#include "wodan_dump.h"

#define DUMP_VERSION 1u
#define DUMP_TAG 55799u          /* self-described CBOR: d9 d9 f7 */
#define DUMP_MAX_VALUE 65535u    /* largest value any image holds, bytes */
#define IOBUF_BYTES 65536u       /* writer buffer and reader input window */
#define PROGRESS_EVERY 1000u     /* records between progress callbacks */

/* Evaluate e (an int expression); return its value from the caller if
 * non-zero. */
#define TRY(e) do { int try_r_ = (e); if (try_r_) return try_r_; } while (0)

/* The writer's state (owned by dump_write.c; dump_image.c reads records). */
struct wodan_dump_writer {
	wodan_write_fn fn;
	void *arg;
	uint32_t key_size_bytes;
	int err;             /* sticky: first failure, 0 if none */
	uint64_t records;    /* records written */
	uint64_t off;        /* bytes encoded so far (written + buffered) */
	uint32_t crc;        /* CRC32C of all record bytes so far */
	size_t len;          /* bytes buffered in buf */
	uint8_t buf[IOBUF_BYTES];
};

/* The reader's state (owned by dump_read.c; dump_image.c reads h, records,
 * rec_off and OFF()). */
enum { PH_HEADER, PH_RECORDS, PH_TRAILER, PH_DONE };

struct wodan_dump_reader {
	wodan_read_fn fn;
	void *arg;
	struct wodan_dump_header h;
	uint32_t max_value_bytes;
	int phase;           /* PH_*: which part is being read */
	int eof;             /* the read callback returned 0 */
	int in_rec;          /* consumed bytes go into crc */
	uint32_t crc;        /* CRC32C of the record bytes so far */
	uint64_t records;    /* records returned */
	uint64_t rec_off;    /* offset of the last record returned */
	uint64_t base;       /* absolute offset of buf[0] */
	size_t pos, len;     /* unread input is buf[pos..len) */
	struct wodan_error_detail fail; /* sticky error (fail.code != 0) */
	uint8_t key[255];
	uint8_t val[DUMP_MAX_VALUE];
	uint8_t buf[IOBUF_BYTES];
};

/* Absolute offset of the next unread byte. */
#define OFF(rd) ((rd)->base + (rd)->pos)

#endif
