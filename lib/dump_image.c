/*
 * dump_image.c -- image <-> dump helpers (wodan_dump, wodan_restore;
 * wodan_dump.h) over the writer and reader of dump_write.c and dump_read.c.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "dump.h"
#include "error.h"

/* Re-raise the current error `code` with a dump byte offset and record
 * number, keeping the original message (and block).  final: the error is
 * from the final flush, after rec records. */
static int annotate(int code, uint64_t off, uint64_t rec, int final)
{
	const struct wodan_error_detail *d = wodan_last_error();
	char msg[300];

	if (d->code != code)
		snprintf(msg, sizeof msg, "%s", wodan_strerror(code));
	else if (d->block != UINT64_MAX)
		snprintf(msg, sizeof msg, "%s (block %" PRIu64 ")", d->message,
			 d->block);
	else
		snprintf(msg, sizeof msg, "%s", d->message);
	if (final)
		return wd_err_dump(code, off, rec, "final flush after %" PRIu64
				   " records (byte %" PRIu64 "): %s", rec, off,
				   msg);
	return wd_err_dump(code, off, rec, "record %" PRIu64 " at byte %"
			   PRIu64 ": %s", rec, off, msg);
}

/* wodan_dump's iteration state. */
struct dump_ctx {
	wodan_dump_writer *wr;
	uint32_t key_size_bytes;
	wodan_progress_fn progress;
	void *progress_arg;
	struct wodan_error_detail fail;  /* why the callback stopped */
};

/* wodan_iter_fn: write one record; progress every PROGRESS_EVERY. */
static int dump_one(void *arg, const uint8_t *key, const uint8_t *val,
		    size_t val_len)
{
	struct dump_ctx *c = arg;
	int r = wodan_dump_writer_record(c->wr, key, c->key_size_bytes, val,
					 val_len);

	if (!r && c->progress && c->wr->records % PROGRESS_EVERY == 0 &&
	    c->progress(c->progress_arg, c->wr->records, 0))
		r = wd_err(WODAN_E_ABORTED, "dump aborted by the progress "
			   "callback after %" PRIu64 " records", c->wr->records);
	if (r)
		c->fail = *wodan_last_error();
	return r != 0;
}

/* Dump the live keys of w in [start, end) with a full header.  Errors: as
 * wodan_iterate, WODAN_E_IO_WRITE, _ABORTED (progress).  See wodan_dump.h. */
int wodan_dump(wodan_t *w, const void *start, const void *end,
	       wodan_write_fn fn, void *arg, wodan_progress_fn progress,
	       void *progress_arg, uint64_t *records)
{
	struct wodan_dump_header h;
	struct wodan_info info;
	struct dump_ctx c;
	int r;

	wd_err_clear();
	if (records)
		*records = 0;
	TRY(wodan_get_info(w, &info));
	memset(&h, 0, sizeof h);
	h.version = DUMP_VERSION;
	h.key_size_bytes = info.key_size_bytes;
	h.tombstones = info.tombstones;
	h.has_block_size = h.has_generation = h.has_fsid = 1;
	h.block_size_bytes = info.block_size_bytes;
	h.generation = info.generation;
	memcpy(h.fsid, info.fsid, 16);
	memset(&c, 0, sizeof c);
	TRY(wodan_dump_writer_new(&h, fn, arg, &c.wr));
	c.key_size_bytes = info.key_size_bytes;
	c.progress = progress;
	c.progress_arg = progress_arg;
	r = wodan_iterate(w, start, end, dump_one, &c);
	if (r == WODAN_E_ABORTED && c.fail.code)   /* the callback's reason */
		r = wd_err_dump(c.fail.code, c.fail.offset_bytes, c.fail.record,
				"%s", c.fail.message);
	if (r) {
		if (records)
			*records = c.wr->records;
		wodan_dump_writer_free(c.wr);
		return r;
	}
	return wodan_dump_writer_finish(c.wr, records);
}

/* Apply record number rec (at byte off) to w: insert, or delete for an
 * empty value in a tombstone dump; on NEEDS_FLUSH flush and retry.  A
 * retry that needs a flush again has reorganised the tree (what it did is
 * kept); after RESTORE_MAX_FLUSHES rounds the record counts as out of
 * space (the library itself answers OUT_OF_SPACE once nothing is dirty). */
#define RESTORE_MAX_FLUSHES 16
static int restore_one(wodan_t *w, const struct wodan_info *info,
		       const struct wodan_dump_header *h, uint64_t off,
		       uint64_t rec, const uint8_t *key, const uint8_t *val,
		       size_t val_len)
{
	int del = val_len == 0 && h->tombstones, flushed = 0, r;


	/* an empty value means deletion on one side only: not restorable */
	if (val_len == 0 && !h->tombstones != !info->tombstones)
		return wd_err_dump(WODAN_E_NOT_SUPPORTED, off, rec, "record %"
				   PRIu64 " at byte %" PRIu64 ": %s", rec, off,
				   h->tombstones ? "empty value (a deletion) but "
				   "the image has no tombstones" : "empty value, "
				   "but the image has tombstones: it would "
				   "delete the key");
	for (;;) {
		r = del ? wodan_delete(w, key, info->key_size_bytes)
			: wodan_insert(w, key, info->key_size_bytes, val,
				       val_len);
		if (r != WODAN_E_NEEDS_FLUSH)
			break;
		if (flushed >= RESTORE_MAX_FLUSHES)
			return wd_err_dump(WODAN_E_OUT_OF_SPACE, off, rec,
					   "record %" PRIu64 " at byte %" PRIu64
					   ": no room after %d flushes",
					   rec, off, flushed);
		if ((r = wodan_flush(w, NULL)))
			break;
		flushed++;
	}
	return r ? annotate(r, off, rec, 0) : 0;
}

/* Insert every record of rd into w, flush at the end.  *records gets the
 * count applied.  Errors: WODAN_E_BAD_PARAMS (key size), reader errors,
 * insert/delete/flush errors (annotated with record and offset),
 * _NOT_SUPPORTED, _OUT_OF_SPACE, _ABORTED (progress).  See wodan_dump.h. */
int wodan_restore(wodan_t *w, wodan_dump_reader *rd,
		  wodan_progress_fn progress, void *progress_arg,
		  uint64_t *records)
{
	const uint8_t *key, *val;
	struct wodan_info info;
	uint64_t done = 0;
	size_t val_len;
	int r;

	wd_err_clear();
	if (records)
		*records = 0;
	if (!w || !rd)
		return wd_err(WODAN_E_INVAL, "restore: NULL argument");
	TRY(wodan_get_info(w, &info));
	if (rd->h.key_size_bytes != info.key_size_bytes)
		return wd_err(WODAN_E_BAD_PARAMS, "dump key size is %" PRIu32
			      " bytes, the image's key size is %" PRIu32 " bytes",
			      rd->h.key_size_bytes, info.key_size_bytes);
	wodan_dump_reader_set_max_value(rd, info.max_value_bytes);
	while ((r = wodan_dump_reader_next(rd, &key, &val, &val_len)) == 1) {
		r = restore_one(w, &info, &rd->h, rd->rec_off, rd->records - 1,
				key, val, val_len);
		if (r)
			break;
		done++;
		if (progress && done % PROGRESS_EVERY == 0 &&
		    progress(progress_arg, done, 0)) {
			r = wd_err_dump(WODAN_E_ABORTED, OFF(rd), done, "restore "
					"aborted by the progress callback after %"
					PRIu64 " records", done);
			break;
		}
	}
	if (r == 0 && (r = wodan_flush(w, NULL)))
		r = annotate(r, OFF(rd), done, 1);
	if (records)
		*records = done;
	return r;
}
