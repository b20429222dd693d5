/*
 * backend_error.c -- wodan_backend_error(), the one bridge from the public
 * backend ABI to libwodan's per-thread error detail (lib/error.c).  The
 * backends themselves use only wodan_backend.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include "error.h"
#include "wodan_backend.h"

int wodan_backend_error(int code, const char *fmt, ...)
{
	char msg[sizeof wodan_last_error()->message];
	va_list ap;

	if (code == 0) {
		wd_err_clear();
		return 0;
	}
	if (!fmt)
		return wd_err(code, "%s", wodan_strerror(code));
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return wd_err(code, "%s", msg);
}
