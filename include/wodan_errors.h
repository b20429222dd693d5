/*
 * wodan_errors.h -- libwodan's error codes (enum wodan_err), their names,
 * and the per-thread error detail.  Included by wodan.h and
 * wodan_backend.h (a backend or plugin needs the codes, not the rest of
 * the API); self-contained, may be included alone.
 *
 * ABI: the enum only gains new codes (existing values never change);
 * struct wodan_error_detail is allocated by the library, never by the
 * caller, so it may grow at its end without a SONAME change.
 */
#ifndef WODAN_ERRORS_H
#define WODAN_ERRORS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes (doc/SPEC.md §11.5).  All are negative. */
enum wodan_err {
	WODAN_OK = 0,
	WODAN_E_BAD_MAGIC = -1,      /* superblock magic is not Wodan's */
	WODAN_E_BAD_VERSION = -2,    /* superblock version != 1 */
	WODAN_E_BAD_FLAGS = -3,      /* unsupported incompat flags */
	WODAN_E_BAD_CRC = -4,        /* CRC32C mismatch; detail.block set */
	WODAN_E_BAD_PARAMS = -5,     /* block/key size differ from expected */
	WODAN_E_IO_READ = -6,        /* backend read failed */
	WODAN_E_IO_WRITE = -7,       /* backend write failed */
	WODAN_E_IO_DISCARD = -8,     /* backend discard failed */
	WODAN_E_IO_BARRIER = -9,     /* backend barrier failed */
	WODAN_E_NEEDS_FLUSH = -10,   /* no room until a flush; nothing changed */
	WODAN_E_OUT_OF_SPACE = -11,  /* no room even after a flush; nothing changed */
	WODAN_E_BAD_KEY = -12,       /* key length != key size */
	WODAN_E_VALUE_TOO_LARGE = -13, /* value longer than max_value_bytes */
	WODAN_E_BAD_NODE_TYPE = -14, /* node type byte is not the expected one */
	WODAN_E_FSID = -15,          /* node fsid differs from superblock fsid */
	WODAN_E_CORRUPT = -16,       /* tree rule violated; detail.block/rule set */
	WODAN_E_INVAL = -17,         /* invalid argument or geometry */
	WODAN_E_NOMEM = -18,         /* allocation failed */
	WODAN_E_NO_ROOT = -19,       /* no valid root found on the device */
	WODAN_E_READONLY = -20,      /* handle opened read-only */
	WODAN_E_NOT_SUPPORTED = -21, /* operation not supported (e.g. delete
	                              * without tombstones, backend lacks op) */
	WODAN_E_DUMP = -22,          /* malformed dump; detail has offset/record */
	WODAN_E_ABORTED = -23,       /* a callback asked to stop */
	WODAN_E_LOCKED = -24,        /* the device is in use: another writer
	                              * (or, for mkfs and other exclusive
	                              * opens, any reader) holds its lock;
	                              * detail.message names the device and,
	                              * when the system tells, the pid.
	                              * Never waits.  Locks: one writer,
	                              * readers beside it, mkfs and rollback
	                              * alone (wodan_backend.h, WODAN_LOCK_*) */
	WODAN_E_CHANGED = -25,       /* read-only handle: the image's writer
	                              * reused a block this handle still
	                              * needed; nothing wrong was returned:
	                              * close, reopen and retry */
};

/* Static English name of `err` ("needs flush", ...).  Never NULL; unknown
 * codes give "unknown error".  Thread-safe. */
const char *wodan_strerror(int err);

/* Details of the last error raised on the calling thread. */
struct wodan_error_detail {
	int code;            /* the enum wodan_err value, 0 if none */
	uint64_t block;      /* block address (L) involved, UINT64_MAX if none */
	uint64_t offset_bytes; /* byte offset in a dump, UINT64_MAX if none */
	uint64_t record;     /* dump record number (0-based), UINT64_MAX if none */
	char message[256];   /* one-line human readable description */
};

/* Returns a pointer to the calling thread's last error detail (thread-local
 * storage owned by the library; valid until the thread's next wodan call). */
const struct wodan_error_detail *wodan_last_error(void);

#ifdef __cplusplus
}
#endif
#endif /* WODAN_ERRORS_H */
