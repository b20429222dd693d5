/* spec.c -- device strings "[BACKEND:]PATH" and size parsing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "backend_util.h"
#include "lock.h"   /* wd_lock_forget (lib/) */

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

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

int wd_backend_name_valid(const char *s)
{
	size_t n = 0;
	if (!s)
		return 0;
	for (; s[n]; n++)
		if (n >= WODAN_PLUGIN_NAME_MAX || !name_char(s[n]))
			return 0;
	return n > 0;
}

int wd_backend_builtin(const char *name)
{
	return !strcmp(name, "file") || !strcmp(name, "ram") ||
	       !strcmp(name, "direct");
}

int wd_spec_split(const char *spec, char name[WODAN_PLUGIN_NAME_MAX + 1],
		  const char **rest)
{
	size_t n = 0;
	name[0] = 0;
	*rest = spec;
	while (n <= WODAN_PLUGIN_NAME_MAX && name_char(spec[n]))
		n++;
	if (n == 0 || n > WODAN_PLUGIN_NAME_MAX || spec[n] != ':')
		return 0;
	memcpy(name, spec, n);
	name[n] = 0;
	*rest = spec + n + 1;
	return 1;
}

/* A bare PATH: a block device selects direct, anything else file. */
static int open_bare(const char *path, unsigned flags, uint64_t size_bytes,
		     struct wodan_backend **out)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode))
		return wodan_backend_direct_open(path, flags, size_bytes, out);
	return wodan_backend_file_open(path, flags, size_bytes, out);
}

int wodan_backend_open(const char *spec, unsigned flags, uint64_t size_bytes,
		       struct wodan_backend **out)
{
	char name[WODAN_PLUGIN_NAME_MAX + 1];
	const char *rest;
	struct stat st;
	int rc;

	wodan_backend_error(0, NULL);
	if (!out)
		return wodan_backend_error(WODAN_E_INVAL, "no result pointer");
	*out = NULL;
	if (!spec || !*spec)
		return wodan_backend_error(WODAN_E_INVAL, "no device given");
	if (!wd_spec_split(spec, name, &rest))
		return open_bare(spec, flags, size_bytes, out);
	if (!strcmp(name, "ram")) {
		uint64_t sz;
		if (wd_parse_size(rest, &sz))
			return wodan_backend_error(WODAN_E_INVAL,
						   "%s: bad RAM size (examples: "
						   "ram:64M, ram:1G)", spec);
		return wodan_backend_ram_create(sz, out);
	}
	if (!strcmp(name, "file"))
		return wodan_backend_file_open(rest, flags, size_bytes, out);
	if (!strcmp(name, "direct"))
		return wodan_backend_direct_open(rest, flags, size_bytes, out);
	if (wd_plugin_open(name, rest, flags, size_bytes, out, &rc))
		return rc;
	/* "img:1" naming an existing file is a path, not a backend */
	if (stat(spec, &st) == 0)
		return open_bare(spec, flags, size_bytes, out);
	rc = wodan_plugin_find(name);
	if (rc < 0)
		return rc;
	if (wd_plugin_open(name, rest, flags, size_bytes, out, &rc))
		return rc;
	return wodan_backend_error(WODAN_E_INVAL, "unknown backend '%s'",
				   name);
}

void wodan_backend_close(struct wodan_backend *be)
{
	wd_lock_forget(be); /* its lock dies with it */
	if (be && be->close)
		be->close(be);
}
