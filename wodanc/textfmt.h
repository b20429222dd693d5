/*
 * textfmt.h -- the text form of a wodan dump (`wodanc dump --format text`,
 * `wodanc restore --format text`): one line per record, in hex, for people
 * and shell pipelines (like `mdb_dump -p` / `mdb_load -T`).  The CBOR dump
 * (wodan_dump.h) stays the default and the reference.
 *
 * Format, version 1.  Every line ends with a line feed (LF, also the last
 * one); no carriage returns, tabs, comments or blank lines:
 *
 *   wodan-dump-text 1 key_size=K tombstones=T [block_size=B]
 *       [generation=G] [fsid=F]                  (one line)
 *   KEY VALUE                                   (one line per record)
 *   ...
 *   end records=N
 *
 *  - The header is the first line, at most 256 characters: the words
 *    "wodan-dump-text" and "1", then NAME=VALUE fields separated by one
 *    space, each at most once, in any order.  key_size (decimal 1..255) and
 *    tombstones (0 or 1) are required; block_size, generation (decimal)
 *    and fsid (32 hex digits) are informational; any other name is refused.
 *    The fields mean what the CBOR header's fields mean.
 *  - A record line is KEY, one space, VALUE.  KEY is exactly 2*K hex
 *    digits.  VALUE is "-" for an empty value (with tombstones=1 a
 *    deletion, as in a CBOR dump), else an even number of hex digits: 1 to
 *    65535 bytes (and at most the target image's value limit on restore).
 *    Hex digits are written in lower case; either case is read.  The
 *    writer emits records in ascending key order; the reader, like the
 *    CBOR reader, accepts any order (a later record for a key wins).
 *  - The last line is "end records=N" with N (decimal) the number of record
 *    lines; nothing may follow it.  A missing end line means the input was
 *    cut short, a wrong count that lines were lost or added: both are
 *    refused.  A pipeline that removes or adds records on purpose ends
 *    with a bare "end" line instead (e.g. sed 's/^end .*$/end/'), which
 *    the reader accepts without a count.
 * The reader refuses anything else, naming the line (1-based) and, for a
 * bad character, its column; a line longer than the format allows is
 * refused as soon as the bound is passed (memory stays bounded: one line
 * buffer of 2*255 + 1 + 2*65535 + 1 bytes plus one record).
 *
 * Thread-safety: one reader or dump call per thread at a time.
 */
#ifndef WODANC_TEXTFMT_H
#define WODANC_TEXTFMT_H

#include <stdint.h>
#include <stdio.h>
#include "wodan.h"
#include "wodan_dump.h"

#define TEXTFMT_MAGIC "wodan-dump-text"
#define TEXTFMT_MAX_VALUE 65535u

/*
 * Write the live keys of `w` in [start, end) (NULL = unbounded) in the text
 * form, header and end line included, through fn(arg, ...) (one call per
 * line).  progress (may be NULL) gets (records written, 0) every 1000
 * records; non-zero stops.  *records (may be NULL) gets the count written.
 * Errors: as wodan_iterate (WODAN_E_IO_READ, _BAD_CRC, _CORRUPT, ...),
 * WODAN_E_IO_WRITE (fn failed; its errno is then the caller's to report),
 * WODAN_E_ABORTED (progress asked to stop), WODAN_E_NOMEM.
 */
int textfmt_dump(wodan_t *w, const void *start, const void *end,
		 wodan_write_fn fn, void *arg, wodan_progress_fn progress,
		 void *progress_arg, uint64_t *records);

typedef struct textfmt_reader textfmt_reader;

/*
 * Start reading a text dump from f (borrowed; read with getc): reads and
 * checks the header line.  Returns 0 with *out (free with
 * textfmt_reader_free), or WODAN_E_DUMP (malformed), WODAN_E_IO_READ (the
 * stream failed; errno kept in textfmt_reader_errno), WODAN_E_NOMEM; then
 * *out is still set (when not NOMEM) so that textfmt_reader_error() can
 * name the problem, and must be freed.
 */
int textfmt_reader_new(FILE *f, textfmt_reader **out);

/* The header read (owned by the reader; has_ flags as in a CBOR header). */
const struct wodan_dump_header *textfmt_reader_header(const textfmt_reader *r);

/* Bound record values (0 = 65535), e.g. by the target image's limit. */
void textfmt_reader_set_max_value(textfmt_reader *r, uint32_t max_value_bytes);

/*
 * Next record: returns 1 with *key (key_size bytes) and *val (*val_len
 * bytes) in the reader's buffers, valid until the next call; 0 after a
 * valid end line at the end of the input; WODAN_E_DUMP (malformed line),
 * WODAN_E_BAD_KEY (key of the wrong length), WODAN_E_VALUE_TOO_LARGE or
 * WODAN_E_IO_READ, with textfmt_reader_error() naming the line.  Errors
 * are sticky.
 */
int textfmt_reader_next(textfmt_reader *r, const uint8_t **key,
			const uint8_t **val, size_t *val_len);

/* The message of the last error ("line 7: ..."), "" if none. */
const char *textfmt_reader_error(const textfmt_reader *r);

/* errno of a failed read, 0 if none. */
int textfmt_reader_errno(const textfmt_reader *r);

/* Bytes consumed so far, and the number of the line last read (1-based). */
uint64_t textfmt_reader_offset(const textfmt_reader *r);
uint64_t textfmt_reader_line(const textfmt_reader *r);

void textfmt_reader_free(textfmt_reader *r);

#endif /* WODANC_TEXTFMT_H */
