/*
 * keyarg.c -- keys on the wodanc command line and the open/close helpers
 * of the key commands (see keyarg.h).
 */
#include <stdio.h>
#include <string.h>
#include "cli.h"
#include "keyarg.h"

/* Quote an argument for a message (see keyarg.h). */
void keyarg_quote(const char *arg, char buf[KEYARG_QUOTE_SIZE])
{
	size_t len = strnlen(arg, 33);

	if (len <= 32) {
		snprintf(buf, KEYARG_QUOTE_SIZE, "'%s'", arg);
		return;
	}
	snprintf(buf, KEYARG_QUOTE_SIZE, "'%.32s...' (%zu characters)", arg,
		 strlen(arg));
}

/* Hex spelling: whole key or prefix. */
static int parse_hex(const char *arg, uint32_t ks, int prefix, uint8_t *out,
		     size_t *len, char *err, size_t n)
{
	size_t max = 2 * (size_t)ks, dig = strnlen(arg, max + 1), i;
	char q[KEYARG_QUOTE_SIZE];

	keyarg_quote(arg, q);
	for (i = 0; i < dig; i++)
		if (cli_hex_digit((unsigned char)arg[i]) < 0) {
			snprintf(err, n, "key %s: '%c' (character %zu) is not "
				 "a hex digit%s", q, arg[i], i + 1,
				 prefix ? "" : " (--key-text takes keys as "
				 "text)");
			return -1;
		}
	if (prefix ? dig == 0 || dig > max || dig % 2 : dig != max) {
		char got[48];

		if (dig > max)
			snprintf(got, sizeof got, "more than %zu", max);
		else
			snprintf(got, sizeof got, "%zu", dig);
		if (prefix)
			snprintf(err, n, "key prefix %s: need an even number "
				 "of hex digits, 2 to %zu (the image's key "
				 "size is %u bytes), got %s", q, max, ks, got);
		else
			snprintf(err, n, "key %s: need exactly %zu hex digits "
				 "(the image's key size is %u bytes), got %s",
				 q, max, ks, got);
		return -1;
	}
	memset(out, 0, ks);
	for (i = 0; i < dig / 2; i++)
		out[i] = (uint8_t)(cli_hex_digit((unsigned char)arg[2 * i]) << 4 |
				   cli_hex_digit((unsigned char)arg[2 * i + 1]));
	if (len)
		*len = dig / 2;
	return 0;
}

/* Text spelling with \xNN and \\ escapes. */
static int parse_text(const char *arg, uint32_t ks, int prefix,
		      uint8_t *out, size_t *len, char *err, size_t n)
{
	const char *p = arg;
	size_t k = 0;
	char q[KEYARG_QUOTE_SIZE];

	keyarg_quote(arg, q);
	memset(out, 0, ks);
	while (*p) {
		uint8_t b;

		if (*p == '\\') {
			if (p[1] == '\\') {
				b = '\\';
				p += 2;
			} else if (p[1] == 'x' &&
				   cli_hex_digit((unsigned char)p[2]) >= 0 &&
				   cli_hex_digit((unsigned char)p[3]) >= 0) {
				b = (uint8_t)(cli_hex_digit((unsigned char)p[2])
					      << 4 |
					      cli_hex_digit((unsigned char)p[3]));
				p += 4;
			} else {
				snprintf(err, n, "key %s: a backslash must be "
					 "followed by \\ or xNN (two hex "
					 "digits), at character %zu", q,
					 (size_t)(p - arg) + 1);
				return -1;
			}
		} else {
			b = (uint8_t)*p++;
		}
		if (k == ks) {
			snprintf(err, n, "key %s: longer than the image's key "
				 "size (%u bytes)", q, ks);
			return -1;
		}
		out[k++] = b;
	}
	if (k == 0) {
		snprintf(err, n, "empty key%s", prefix ? " prefix" :
			 " (the key of zero bytes is written \\x00)");
		return -1;
	}
	if (len)
		*len = k;
	return 0;
}

/* Parse a KEY argument (see keyarg.h). */
int keyarg_parse(const char *arg, int text, uint32_t ks, int prefix,
		 uint8_t *out, size_t *len, char *err, size_t n)
{
	if (ks == 0 || ks > KEYARG_MAX_KEY) {
		snprintf(err, n, "key size %u is out of range", ks);
		return -1;
	}
	return text ? parse_text(arg, ks, prefix, out, len, err, n)
		    : parse_hex(arg, ks, prefix, out, len, err, n);
}

/* Print a key as hex or text (see keyarg.h). */
void keyarg_format(const uint8_t *key, uint32_t ks, int text, char *buf)
{
	static const char hx[] = "0123456789abcdef";
	uint32_t i, end = ks;
	char *o = buf;

	if (!text) {
		for (i = 0; i < ks; i++) {
			*o++ = hx[key[i] >> 4];
			*o++ = hx[key[i] & 15];
		}
		*o = 0;
		return;
	}
	while (end > 1 && key[end - 1] == 0)
		end--;
	for (i = 0; i < end; i++) {
		uint8_t b = key[i];

		if (b > 0x20 && b < 0x7f && b != '\\') {
			*o++ = (char)b;
		} else if (b == '\\') {
			*o++ = '\\';
			*o++ = '\\';
		} else {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = hx[b >> 4];
			*o++ = hx[b & 15];
		}
	}
	*o = 0;
}

void keyarg_pad(uint8_t *key, size_t len, uint32_t ks, uint8_t fill)
{
	if (len < ks)
		memset(key + len, fill, ks - len);
}

int keyarg_next(uint8_t *key, uint32_t ks)
{
	uint32_t i = ks;

	while (i-- > 0) {
		if (key[i] != 0xff) {
			key[i]++;
			return 0;
		}
		key[i] = 0;
	}
	return -1;
}

/* ------------------------------------------------------------ open/close */

int kv_open(const char *cmd, const char *dev, int writable,
	    struct wodan_backend **be, wodan_t **w)
{
	struct wodan_open_opts oo;
	int rc;

	*w = NULL;
	rc = cli_open_device(cmd, dev, writable ? 0 : WODAN_BACKEND_RDONLY, 0,
			     be);
	if (rc)
		return rc;
	memset(&oo, 0, sizeof oo);
	if (!writable)
		oo.flags = WODAN_OPEN_READONLY | WODAN_OPEN_FAST_SCAN;
	rc = wodan_open(*be, &oo, w);
	if (rc < 0) {
		int ex = cli_open_failed(cmd, dev, rc);

		*w = NULL;
		wodan_backend_close(*be);
		*be = NULL;
		return ex;
	}
	return 0;
}

int kv_close(const char *cmd, const char *dev, struct wodan_backend *be,
	     wodan_t *w)
{
	int rc = 0;

	if (w)
		rc = wodan_close(w);
	if (rc < 0)
		cli_error(cmd, dev, rc, "closing the image failed");
	if (be)
		wodan_backend_close(be);
	return rc < 0 ? cli_exit_code(rc) : 0;
}
