/*
 * error.h -- raising errors with details (internal).
 *
 * Every failure path in libwodan returns a negative enum wodan_err and, at the
 * point where the failure is first detected, records details in the calling
 * thread's wodan_error_detail with wd_err()/wd_err_block().  Callers up the
 * stack just propagate the code; the first (innermost) message wins because
 * outer layers never overwrite a detail that is already set for the same code.
 */
#ifndef WD_ERROR_H
#define WD_ERROR_H

#include <stdint.h>
#include "wodan.h"

#if defined(__GNUC__)
#define WD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define WD_PRINTF(a, b)
#endif

/* Record code + message (no block); returns code. */
int wd_err(int code, const char *fmt, ...) WD_PRINTF(2, 3);
/* Record code + block address + message; returns code. */
int wd_err_block(int code, uint64_t block, const char *fmt, ...)
	WD_PRINTF(3, 4);
/* Record code + dump byte offset + record number + message; returns code. */
int wd_err_dump(int code, uint64_t offset, uint64_t record, const char *fmt,
		...) WD_PRINTF(4, 5);
/* Forget the calling thread's detail (start of a public call). */
void wd_err_clear(void);

#endif
