/*
 * backend_util.h -- helpers shared by the shipped backends.  Backends use only
 * the public backend interface of wodan.h plus these helpers.
 */
#ifndef WD_BACKEND_UTIL_H
#define WD_BACKEND_UTIL_H

#include <stdint.h>
#include "wodan.h"

/* Parse a size with optional K/M/G/T suffix (powers of 1024).  0 on success,
 * -1 on a malformed or overflowing string. */
int wd_parse_size(const char *s, uint64_t *out);

#endif
