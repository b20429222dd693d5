/*
 * keyarg.h -- keys on the wodanc command line (get, put, del, ls): parsing
 * KEY arguments and key-range prefixes, printing keys, and the open/close
 * helpers these commands share.  Only the public libwodan API is used.
 *
 * Two spellings of a key:
 *  - hex (the default): exactly 2 * key_size hex digits (either case) for
 *    a whole key; for a prefix (ls --from/--to/--prefix) 2..2 * key_size
 *    digits, an even number;
 *  - text (--key-text): the bytes of the argument, where "\xNN" is the
 *    byte NN (two hex digits) and "\\" a backslash; no other escape.  A
 *    whole key shorter than the key size is padded with zero bytes; a
 *    prefix is taken as it is.  Printed the same way (keyarg_format), so
 *    that a printed key can be pasted back: bytes 0x21..0x7e other than
 *    the backslash as themselves, every other byte (space included) as
 *    \xNN, trailing zero bytes left out (they are the padding), but at
 *    least one byte printed.
 * Both are bounded: an argument longer than the key size allows is
 * refused after looking at no more than that many characters plus one.
 */
#ifndef WODANC_KEYARG_H
#define WODANC_KEYARG_H

#include <stddef.h>
#include <stdint.h>
#include "wodan.h"

#define KEYARG_MAX_KEY 255u   /* the largest key size of the format */

/*
 * Parse ARG as a key of `ks` bytes (1..KEYARG_MAX_KEY) into out[0..ks).
 * text: 0 hex, 1 text (see above).  prefix: 0 a whole key (hex: exactly
 * 2 * ks digits; text: 1..ks bytes, zero-padded); 1 a prefix of 1..ks bytes
 * (out[len..ks) are zeroed).  *len (may be NULL) gets the number of bytes
 * given (ks for a whole hex key).  Returns 0, or -1 with a one-line reason
 * in err[0..n) (e.g. "key 'abc': need exactly 8 hex digits (the image's
 * key size is 4 bytes), got 3"), quoting at most 32 characters of ARG.
 */
int keyarg_parse(const char *arg, int text, uint32_t ks, int prefix,
		 uint8_t *out, size_t *len, char *err, size_t n);

/* Bytes keyarg_format() may write for a key of `ks` bytes, terminating
 * NUL included (4 * ks + 1: every byte escaped). */
#define KEYARG_FMT_SIZE(ks) (4u * (size_t)(ks) + 1u)

/* Write the key key[0..ks) into buf (KEYARG_FMT_SIZE(ks) bytes), as
 * lower-case hex (text 0) or text (text 1), NUL-terminated. */
void keyarg_format(const uint8_t *key, uint32_t ks, int text, char *buf);

/* Pad a prefix of `len` bytes in key[0..ks) with `fill` (0x00 or 0xff) up
 * to ks bytes. */
void keyarg_pad(uint8_t *key, size_t len, uint32_t ks, uint8_t fill);

/* Replace key[0..ks) by the next key in memcmp order (add one, big
 * endian).  Returns 0, or -1 when key is all 0xff (no next key; key is then
 * all zeros). */
int keyarg_next(uint8_t *key, uint32_t ks);

/* Quote at most 32 characters of ARG into buf, for messages: 'ARG', or
 * 'FIRST32...' (N characters) for a longer one. */
#define KEYARG_QUOTE_SIZE 80
void keyarg_quote(const char *arg, char buf[KEYARG_QUOTE_SIZE]);

/*
 * Open DEVICE for a key command: backend and image, read-only
 * (WODAN_BACKEND_RDONLY, WODAN_OPEN_READONLY | WODAN_OPEN_FAST_SCAN: only
 * inner nodes are read at mount) or writable (default options: one writer
 * at a time, WODAN_E_LOCKED otherwise).  On success returns 0 and sets *be,
 * *w.  On failure prints one line (cli_open_failed: missing file,
 * directory, not an image, truncated image, locked, ...) and returns the
 * exit code (8, 4, 1); *be and *w are NULL.
 */
int kv_open(const char *cmd, const char *dev, int writable,
	    struct wodan_backend **be, wodan_t **w);

/*
 * Close what kv_open() opened (either may be NULL).  A writable handle is
 * flushed by wodan_close(); a failure is reported ("closing the image
 * failed: ...") and its exit code returned.  Returns 0 otherwise.
 */
int kv_close(const char *cmd, const char *dev, struct wodan_backend *be,
	     wodan_t *w);

/* The number of attempts of a read-only command whose lookup or scan met
 * WODAN_E_CHANGED (its writer reused a block): close, reopen, retry. */
#define KV_CHANGED_RETRIES 3

#endif /* WODANC_KEYARG_H */
