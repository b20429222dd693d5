/*
 * cli.h -- shared helpers of the wodanc multitool: exit codes, error and
 * usage messages, number/size/hex parsing, device opening, progress lines on
 * a terminal, and a tiny JSON emitter.  Only the public libwodan API
 * (wodan.h, wodan_dump.h) is used here and in the commands.
 */
#ifndef WODANC_CLI_H
#define WODANC_CLI_H

#include <stdint.h>
#include <stdio.h>
#include "wodan.h"
#include "wodan_dump.h"

#if defined(__GNUC__)
#define CLI_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CLI_PRINTF(a, b)
#endif

/* Exit codes: one table for every command (printed by `wodanc --help`
 * and in wodanc(1)):
 *   0  done;
 *   1  the operation failed (a key not found by get, out of space, a
 *      malformed dump, a model divergence in fuzz, ...);
 *   4  problems found: the image is damaged (check, and any command that
 *      met a bad CRC or a broken tree rule);
 *   8  operational error: cannot run (I/O error, the device is locked by
 *      another process, out of memory, cannot write the output);
 *   16 usage error (bad command line). */
#define CLI_EXIT_OK 0
#define CLI_EXIT_FAIL 1          /* the operation failed */
#define CLI_EXIT_PROBLEMS 4      /* problems found: the image is damaged */
#define CLI_EXIT_OPERATIONAL 8   /* I/O, lock, out of memory, output */
#define CLI_EXIT_USAGE 16        /* bad command line */

/* The line every command's --help ends its option list with. */
#define CLI_EXIT_STATUS_HELP \
	"Exit status: 0 done, 1 failed, 4 problems found, 8 operational\n" \
	"error, 16 usage (see wodanc --help).\n"

/* The exit code for a failed library call returning `err` (a negative
 * WODAN_E_* value): IO_*, NOMEM, LOCKED, CHANGED -> OPERATIONAL; BAD_CRC,
 * CORRUPT, BAD_NODE_TYPE, FSID, NO_ROOT -> PROBLEMS; anything else ->
 * FAIL.  0 gives OK. */
int cli_exit_code(int err);

/* Commands: argv[0] is the command name, options and operands follow. */
int cmd_mkfs(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_trim(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_fuzz(int argc, char **argv);
int cmd_info(int argc, char **argv);   /* cmd_info.c */
int cmd_get(int argc, char **argv);    /* cmd_kv.c */
int cmd_put(int argc, char **argv);    /* cmd_kv.c */
int cmd_del(int argc, char **argv);    /* cmd_kv.c */
int cmd_ls(int argc, char **argv);     /* cmd_ls.c */

/* ------------------------------------------------------------ messages */

/* Print "wodanc CMD: DEV: <fmt>: <wodan_strerror(code)> (<detail>)" on
 * stderr.  DEV may be NULL (omitted); code 0 omits the error name and the
 * detail.  The detail (message, block, byte offset, record) is taken from
 * wodan_last_error(), so call this right after the failing call. */
void cli_error(const char *cmd, const char *dev, int code, const char *fmt,
	       ...) CLI_PRINTF(4, 5);

/* JSON error mode (commands call it when --json is given): afterwards
 * every cli_error() also prints one JSON object on stdout,
 *   {"error": {"code": -6, "name": "io-read", "message": "...",
 *              "device": "img", "block": 12, "offset": 4096}}
 * (device, block and offset only when known), besides the stderr line.
 * Only the first error of a run is printed as JSON, so stdout holds one
 * object.  Returns nothing; not thread-safe (wodanc is single-threaded). */
void cli_json_errors(int on);

/* 1 when a JSON error object has been printed on stdout (so the command
 * must not print its own JSON result after it). */
int cli_json_error_printed(void);

/* Flush stdout and check that everything written to it arrived (a full
 * disk, a closed pipe, /dev/full).  Call once at the end of a command that
 * printed on stdout.  Returns 0, or CLI_EXIT_OPERATIONAL after printing
 * "wodanc CMD: cannot write to standard output: <strerror>". */
int cli_finish_stdout(const char *cmd);

/* A command's --help: print `text` on stdout and return
 * cli_finish_stdout(cmd) (0, or 8 when stdout cannot be written). */
int cli_help(const char *cmd, const char *text);

/* Print "wodanc CMD: <fmt>" and a hint to run --help on stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage(const char *cmd, const char *fmt, ...) CLI_PRINTF(2, 3);

/* Report a getopt_long() failure (c is '?' or ':'); returns CLI_EXIT_USAGE. */
int cli_getopt_error(const char *cmd, int c, char **argv);

/* Check the operands getopt_long() left, argv[optind] .. argv[argc - 1]:
 * at least n_need of them (their names, in order, in need[0..n_need-1])
 * and at most `most`.  Too few prints "wodanc CMD: missing A and B" (the
 * names from the first one missing on), too many "wodanc CMD: unexpected
 * argument 'ARG'" (the first one past `most`), both through cli_usage().
 * Returns 0 or CLI_EXIT_USAGE.  Reads the global optind. */
int cli_operands(const char *cmd, int argc, char **argv,
		 const char *const *need, int n_need, int most);

/* cli_operands() for the commands taking one DEVICE operand: on success
 * *dev = argv[optind] (not copied) and 0 is returned, else CLI_EXIT_USAGE
 * after the message ("missing DEVICE", "unexpected argument '...'"). */
int cli_device_operand(const char *cmd, int argc, char **argv,
		       const char **dev);

/* ------------------------------------------------------------- parsing */

/* Parse a decimal unsigned number, the whole string ("12x", "-1", "",
 * " 1" and overflow are refused).  Returns 0 or -1. */
int cli_parse_u64(const char *s, uint64_t *out);

/* Parse a size: a decimal number with an optional K, M, G or T suffix
 * (powers of 1024; "K", "KiB" and "KB" are all 1024).  Returns 0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);

/* The value 0..15 of the hex digit c ('0'-'9', 'a'-'f', 'A'-'F'), or -1
 * for any other character. */
int cli_hex_digit(int c);

/* Parse exactly `len` bytes written as 2*len hex digits.  Returns 0 or -1. */
int cli_parse_hex(const char *s, uint8_t *out, size_t len);

/* Check a block size the way mkfs does (512 .. 64 MiB, a multiple of 512,
 * a multiple of 4096 once >= 4096).  Returns 0 or -1. */
int cli_check_block_size(uint64_t bs);

/* ---------------------------------------------------------- formatting */

/* "12 MiB", "1.5 GiB", "512 B" (like fstrim -v / util-linux). */
void cli_human_size(uint64_t bytes, char *buf, size_t n);

/* fsid as UUID-style hex: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx (37 bytes). */
void cli_fsid_str(const uint8_t fsid[16], char buf[37]);

/* Monotonic clock in seconds. */
double cli_now(void);

/* ------------------------------------------------------------- devices */

/* 1 when `spec` names a plain file ("PATH" or "file:PATH") that does not
 * exist; 0 otherwise (exists, or another backend such as "ram:"). */
int cli_device_missing(const char *spec);

/* The file path of a plain-file device spec, or NULL for other backends. */
const char *cli_device_path(const char *spec);

/* wodan_backend_open() that prints what went wrong on failure, the way
 * cli_open_failed() does ("wodanc CMD: DEV: No such file or directory",
 * "...: is a directory", ...).  Returns 0 or the negative error; on
 * failure *out is NULL.  Pass the error to cli_open_failed() for the exit
 * code (it then prints nothing more). */
int cli_open_backend(const char *cmd, const char *dev, unsigned flags,
		     uint64_t size_bytes, struct wodan_backend **out);

/* cli_open_backend() and, when it fails, cli_open_failed(): returns 0
 * with *out open, or the exit code after the one message (*out NULL). */
int cli_open_device(const char *cmd, const char *dev, unsigned flags,
		    uint64_t size_bytes, struct wodan_backend **out);

/* Report a failed open of DEV and return the exit code: call it with the
 * negative error of cli_open_backend() (already reported: only the code is
 * returned) or of wodan_open()/wodan_check() (right after the call, so the
 * wodan_last_error() detail is still that call's).  For a plain file or a
 * block device it stat()s the path and reads its first 512 bytes to name
 * the cause:
 *   "No such file or directory" (or another stat/open strerror)  -> 8
 *   "is a directory"                                              -> 8
 *   "holds no wodan image (no superblock)" (block 0 all zeros, a
 *   fresh ram: device), "holds no wodan image (it contains an ext4
 *   file system ...)" (libblkid), "is empty: holds no wodan image",
 *   "holds no wodan image (the superblock magic is not Wodan's)"  -> 8
 *   "the file is 8 MiB but its superblock records 16 MiB (truncated
 *   or copied short?)"                                            -> 4
 *   anything else: "cannot open: <wodan_strerror> (<detail>)"
 *                                                    -> cli_exit_code(err)
 * One line on stderr (and the JSON error object in JSON error mode).
 * Not thread-safe. */
int cli_open_failed(const char *cmd, const char *dev, int err);

/* Look for a foreign signature on the file or block device PATH before
 * formatting it: anything libblkid recognises (a file system, a partition
 * table, RAID or swap signatures; libblkid only reads), and for a regular
 * file any non-zero byte in its first MiB.  On a find, `what` gets a
 * description such as "contains an ext4 file system (label 'x', UUID
 * ...)", "contains a dos partition table" or "holds data (a non-zero byte
 * at offset 0)".  Returns 1 (found), 0 (nothing: empty, all zeros, or not
 * a file/device, e.g. ram:), or -1 after printing an error (cannot read
 * PATH).  A wodan image is not recognised here: use cli_probe_image(). */
int cli_probe_foreign(const char *cmd, const char *path, char *what,
		      size_t n);

/* Probe whether `be` already holds a wodan image: a read-only mount that
 * succeeds, a valid superblock magic, or a mount failure other than "bad
 * magic"/I/O/invalid geometry.  *gen gets the generation when the mount
 * succeeded (else 0).  Returns 1 (image) or 0. */
int cli_probe_image(struct wodan_backend *be, uint64_t *gen);

/* ------------------------------------------------------------ progress */

/* A throttled progress line on stderr, shown only when stderr is a
 * terminal.  Pass cli_progress_cb and a struct cli_progress * as the
 * wodan_progress_fn and its argument. */
struct cli_progress {
	int on;                       /* stderr is a terminal */
	const char *cmd;              /* "restore", ... */
	const char *unit;             /* "records", "blocks" */
	const wodan_dump_reader *rd;  /* restore: also show bytes read */
	double last;                  /* time of the last line */
	int len;                      /* characters of the last line */
};

void cli_progress_init(struct cli_progress *p, const char *cmd,
		       const char *unit);
int cli_progress_cb(void *arg, uint64_t done, uint64_t total);
/* Erase the progress line (if one was drawn). */
void cli_progress_end(struct cli_progress *p);

/* ---------------------------------------------------------------- JSON */

/* Emits one JSON value (objects/arrays nested up to 16 deep).  `key` is
 * the member name inside an object and NULL inside an array. */
struct cli_json {
	FILE *f;
	int depth;
	int count[16];  /* members emitted so far, per open container */
};

void cj_begin(struct cli_json *j, FILE *f);       /* top-level object */
void cj_end(struct cli_json *j);                  /* close it, newline */
void cj_obj(struct cli_json *j, const char *key); /* open nested object */
void cj_arr(struct cli_json *j, const char *key); /* open nested array */
void cj_close_obj(struct cli_json *j);
void cj_close_arr(struct cli_json *j);
void cj_u64(struct cli_json *j, const char *key, uint64_t v);
void cj_int(struct cli_json *j, const char *key, long long v);
void cj_double(struct cli_json *j, const char *key, double v);
void cj_bool(struct cli_json *j, const char *key, int v);
void cj_str(struct cli_json *j, const char *key, const char *s);
void cj_null(struct cli_json *j, const char *key);

#endif /* WODANC_CLI_H */
