/*
 * gitobj.h -- code shared by the git object tools (wodan-git2dump,
 * wodan-verify-git): git object types, SHA-1 object ids, the parser of
 * `git cat-file --batch` output, and dump files opened for the wodan dump
 * reader/writer (doc/DUMP.md).
 *
 * A git object is stored in a dump as
 *     key   = the object's 20-byte binary SHA-1 (git's object id),
 *     value = one type byte (git's own numbers: 1 commit, 2 tree, 3 blob,
 *             4 tag) followed by the object's raw content.
 * The object id is SHA-1("<type name> <content length>\0" <content>).
 */
#ifndef WODAN_TOOLS_GITOBJ_H
#define WODAN_TOOLS_GITOBJ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "wodan.h"
#include "wodan_dump.h"

#define GITOBJ_KEY_SIZE 20u      /* SHA-1 */
#define GITOBJ_HEX_SIZE 40u      /* SHA-1 in hex */
#define GITOBJ_MAX_VALUE 65535u  /* largest value a dump can carry */

enum gitobj_type {
	GITOBJ_COMMIT = 1,
	GITOBJ_TREE = 2,
	GITOBJ_BLOB = 3,
	GITOBJ_TAG = 4,
};

/* "commit", "tree", "blob", "tag" for 1..4; NULL for anything else. */
const char *gitobj_type_name(int type);

/* The type number of a type name of `len` bytes (not NUL-terminated);
 * 0 when it is not one of the four. */
int gitobj_type_from_name(const char *name, size_t len);

/* Parse exactly GITOBJ_HEX_SIZE hex digits (either case) into 20 bytes.
 * Returns 0, or -1 on a non-hex character. */
int gitobj_hex_to_bin(const char *hex, uint8_t out[GITOBJ_KEY_SIZE]);

/* 40 lowercase hex digits and a NUL. */
void gitobj_bin_to_hex(const uint8_t bin[GITOBJ_KEY_SIZE],
		       char out[GITOBJ_HEX_SIZE + 1]);

/* The git object id of an object of `type` (1..4) with `len` bytes of
 * content.  Returns 0, or -1 for an invalid type. */
int gitobj_hash(int type, const uint8_t *content, size_t len,
		uint8_t out[GITOBJ_KEY_SIZE]);

/* ----------------------------------------------- git cat-file --batch */

/* One object header of `git cat-file --batch` output. */
struct gitobj_entry {
	uint8_t id[GITOBJ_KEY_SIZE];
	int type;               /* enum gitobj_type */
	uint64_t size;          /* content length in bytes */
	const uint8_t *content; /* size bytes, or NULL when skipped (too big);
				 * valid until the next gitobj_batch_next */
};

/* Parser state.  Every length read is bounded before use. */
struct gitobj_batch {
	FILE *in;
	uint64_t offset;        /* bytes consumed so far */
	uint64_t objects;       /* entries returned so far */
	size_t max_content;     /* content above this is skipped, not kept */
	uint8_t *buf;           /* max_content bytes (NULL when 0) */
	char err[256];          /* message of the last error */
};

/* Set up a parser reading `in`; content longer than max_content bytes is
 * read and discarded.  Returns 0, or -1 when out of memory. */
int gitobj_batch_init(struct gitobj_batch *b, FILE *in, size_t max_content);
void gitobj_batch_free(struct gitobj_batch *b);

/*
 * Parse one "<hex-sha> <type> <size>\n<content>\n" entry.  Returns 1 with *e
 * filled, 0 at a clean end of input (between two entries), or -1 with a
 * message in b->err (bad header line, "missing" object, SHA-256 ids,
 * unknown type, truncated content, missing newline, read error).
 */
int gitobj_batch_next(struct gitobj_batch *b, struct gitobj_entry *e);

/* Parse one header line (without its newline) of `len` bytes into *e
 * (content left NULL).  Returns 0, or -1 with a message in err. */
int gitobj_parse_header(const char *line, size_t len, struct gitobj_entry *e,
			char *err, size_t errlen);

/* ------------------------------------------------------- dump files */

/* An input file ("-" = stdin) with a dump reader on it. */
struct gitobj_dump_in {
	const char *name;
	FILE *fp;
	int close_fp;
	int read_errno;         /* errno of a failed read, 0 if none */
	wodan_dump_reader *rd;
};

/*
 * Open `path` ("-" = stdin) and read its dump header; the key size must be
 * GITOBJ_KEY_SIZE.  Values up to GITOBJ_MAX_VALUE are accepted.  Prints a
 * message naming `prog` and the file on failure.  Returns 0 or -1.
 */
int gitobj_dump_open(const char *prog, const char *path,
		     struct gitobj_dump_in *in);
void gitobj_dump_close(struct gitobj_dump_in *in);

/* wodan_read_fn over a struct gitobj_dump_in. */
long gitobj_read_cb(void *arg, void *buf, size_t len);

/* An output file for the dump writer: counts bytes written. */
struct gitobj_dump_out {
	FILE *fp;
	uint64_t bytes;
	int write_errno;        /* errno of a failed write, 0 if none */
};

/* wodan_write_fn over a struct gitobj_dump_out. */
int gitobj_write_cb(void *arg, const void *buf, size_t len);

/* Print "prog: what: <wodan error>[: detail] [at byte O, record R]" to
 * stderr, using wodan_last_error() when its code is err. */
void gitobj_print_wodan_error(const char *prog, const char *what, int err);

#endif /* WODAN_TOOLS_GITOBJ_H */
