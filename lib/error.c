/* error.c -- error names and the per-thread last-error detail. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "error.h"

static _Thread_local struct wodan_error_detail last = {
	0, UINT64_MAX, UINT64_MAX, UINT64_MAX, ""
};

const char *wodan_version(void)
{
	return WODAN_VERSION_STRING;
}

const char *wodan_strerror(int err)
{
	switch (err) {
	case WODAN_OK: return "success";
	case WODAN_E_BAD_MAGIC: return "bad magic (not a wodan image)";
	case WODAN_E_BAD_VERSION: return "unsupported layout version";
	case WODAN_E_BAD_FLAGS: return "unsupported incompat flags";
	case WODAN_E_BAD_CRC: return "bad CRC";
	case WODAN_E_BAD_PARAMS: return "parameters mismatch";
	case WODAN_E_IO_READ: return "I/O error on read";
	case WODAN_E_IO_WRITE: return "I/O error on write";
	case WODAN_E_IO_DISCARD: return "I/O error on discard";
	case WODAN_E_IO_BARRIER: return "I/O error on barrier";
	case WODAN_E_NEEDS_FLUSH: return "needs flush";
	case WODAN_E_OUT_OF_SPACE: return "out of space";
	case WODAN_E_BAD_KEY: return "bad key (wrong length)";
	case WODAN_E_VALUE_TOO_LARGE: return "value too large";
	case WODAN_E_BAD_NODE_TYPE: return "bad node type";
	case WODAN_E_FSID: return "fsid mismatch";
	case WODAN_E_CORRUPT: return "corrupt tree";
	case WODAN_E_INVAL: return "invalid argument";
	case WODAN_E_NOMEM: return "out of memory";
	case WODAN_E_NO_ROOT: return "no valid root found";
	case WODAN_E_READONLY: return "opened read-only";
	case WODAN_E_NOT_SUPPORTED: return "operation not supported";
	case WODAN_E_DUMP: return "malformed dump";
	case WODAN_E_ABORTED: return "aborted by callback";
	case WODAN_E_LOCKED: return "device in use";
	case WODAN_E_CHANGED: return "image changed by its writer, retry";
	default: return "unknown error";
	}
}

const struct wodan_error_detail *wodan_last_error(void)
{
	return &last;
}

void wd_err_clear(void)
{
	last.code = 0;
	last.block = last.offset_bytes = last.record = UINT64_MAX;
	last.message[0] = 0;
}

static int vset(int code, uint64_t block, uint64_t off, uint64_t rec,
		const char *fmt, va_list ap)
{
	last.code = code;
	last.block = block;
	last.offset_bytes = off;
	last.record = rec;
	vsnprintf(last.message, sizeof last.message, fmt, ap);
	return code;
}

int wd_err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(code, UINT64_MAX, UINT64_MAX, UINT64_MAX, fmt, ap);
	va_end(ap);
	return code;
}

int wd_err_block(int code, uint64_t block, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(code, block, UINT64_MAX, UINT64_MAX, fmt, ap);
	va_end(ap);
	return code;
}

int wd_err_dump(int code, uint64_t offset, uint64_t record, const char *fmt,
		...)
{
	va_list ap;
	va_start(ap, fmt);
	vset(code, UINT64_MAX, offset, record, fmt, ap);
	va_end(ap);
	return code;
}

#ifdef WD_ASSERTS
#include <stdio.h>
#include <stdlib.h>
#include "wdassert.h"

void wd_assert_fail(const char *cond, const char *what, const char *file,
		    int line)
{
	fprintf(stderr, "libwodan: invariant broken: %s (%s) at %s:%d\n",
		what, cond, file, line);
	abort();
}
#endif
