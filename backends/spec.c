/* spec.c -- device strings "[BACKEND:]PATH" and size parsing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "../lib/error.h"
#include "backend_util.h"

int wd_parse_size(const char *s, uint64_t *out)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	unsigned shift = 0;
	if (*end) {
		switch (*end) {
		case 'k': case 'K': shift = 10; break;
		case 'm': case 'M': shift = 20; break;
		case 'g': case 'G': shift = 30; break;
		case 't': case 'T': shift = 40; break;
		default: return -1;
		}
		end++;
		if (*end == 'i' && end[1] == 'B')
			end += 2;
		else if (*end == 'B')
			end++;
		if (*end)
			return -1;
	}
	if (shift && v > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

int wodan_backend_open(const char *spec, unsigned flags, uint64_t size_bytes,
		       struct wodan_backend **out)
{
	wd_err_clear();
	*out = NULL;
	if (!spec)
		return wd_err(WODAN_E_INVAL, "no device given");
	if (!strncmp(spec, "ram:", 4)) {
		uint64_t sz;
		if (wd_parse_size(spec + 4, &sz))
			return wd_err(WODAN_E_INVAL,
				      "%s: bad RAM size (examples: ram:64M, "
				      "ram:1G)", spec);
		return wodan_backend_ram_create(sz, out);
	}
	if (!strncmp(spec, "file:", 5))
		return wodan_backend_file_open(spec + 5, flags, size_bytes, out);
	return wodan_backend_file_open(spec, flags, size_bytes, out);
}

void wodan_backend_close(struct wodan_backend *be)
{
	if (be && be->close)
		be->close(be);
}
