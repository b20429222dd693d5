/*
 * wodan_backend.h -- the storage backend ABI of libwodan, the shipped
 * backends ("file", "ram", "direct"), device strings, and backend plugins.
 *
 * A backend is a device of `size_bytes` bytes addressed by byte offset: a
 * struct of geometry plus function pointers (a vtable).  libwodan calls it
 * from the thread that calls into the wodan_t handle using it; a backend
 * need not be thread-safe (one handle, one backend).  Third-party backends
 * may be linked into the program (fill in a struct wodan_backend and pass it
 * to wodan_mkfs()/wodan_open()) or shipped as plugins (shared objects loaded
 * with dlopen, see "Plugins" below).  They need only this header.
 *
 * Promises libwodan makes to every backend (tests/test_backends.c checks
 * them against the "direct" backend, which refuses anything else):
 *  - every offset and length passed to read/write/discard is a multiple of
 *    io_size_bytes, and off + len <= size_bytes;
 *  - every buffer passed to read/write starts at an address aligned to
 *    4096 bytes (enough for O_DIRECT on devices with logical sectors up to
 *    4 KiB and for any DMA alignment the kernel asks for);
 *  - the superblock is read and written as one I/O of io_size_bytes at 0.
 *
 * ABI: struct wodan_backend grows only at its end, and every change raises
 * WODAN_BACKEND_ABI_VERSION (below) once per release; libwodan refuses a
 * backend of another version (doc/DESIGN.md, "ABI policy").
 *
 * Included by wodan.h; a plugin may include just this file (it pulls in
 * wodan_errors.h for the WODAN_E_* error codes; the calls on a handle,
 * wodan_mkfs(), wodan_open(), are in wodan.h).
 */
#ifndef WODAN_BACKEND_H
#define WODAN_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include "wodan_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version of struct wodan_backend and struct wodan_plugin_info.  Raised on
 * every incompatible change, at most once per release (all of a release's
 * backend changes share one number, however many features they add);
 * libwodan accepts exactly its own version.  The struct grows only at its
 * end (doc/DESIGN.md, "ABI policy").
 * History: 1 = wodan 0.1.0 draft; 2 = phys_sector_bytes added; 3 = lock
 * added. */
#define WODAN_BACKEND_ABI_VERSION 3u

/*
 * Lock modes of wodan_backend.lock: who else may use the device meanwhile.
 * One writer, readers beside it, wholesale rewrites alone:
 *   WODAN_LOCK_NONE       release whatever this backend holds;
 *   WODAN_LOCK_SHARED     a reader (read-only open, wodan_check): excludes
 *                         only EXCLUSIVE holders;
 *   WODAN_LOCK_WRITER     the one writer (writable open): excludes other
 *                         WRITER and EXCLUSIVE holders, readers may stay;
 *   WODAN_LOCK_EXCLUSIVE  alone (wodan_mkfs, a writable rollback open while
 *                         it rewrites): excludes every other holder,
 *                         readers included.
 * A backend holds at most one mode at a time; a call with another mode
 * converts (upgrades or downgrades) what it holds.
 */
#define WODAN_LOCK_NONE 0u
#define WODAN_LOCK_SHARED 1u
#define WODAN_LOCK_WRITER 2u
#define WODAN_LOCK_EXCLUSIVE 3u

struct wodan_backend {
	/* WODAN_BACKEND_ABI_VERSION the backend was compiled against.  Stays
	 * the first member in every ABI version.  wodan_mkfs()/wodan_open()
	 * refuse a backend whose version differs (WODAN_E_INVAL). */
	uint32_t abi_version;
	/* Backend name ("file", "ram", "direct", a plugin's name): a static
	 * string used in messages. */
	const char *name;
	/* Private state of the backend; libwodan never touches it. */
	void *ctx;
	/* Usable size of the device in bytes, a multiple of io_size_bytes.
	 * Fixed for the lifetime of the backend. */
	uint64_t size_bytes;
	/* Logical sector size in bytes: the smallest unit of I/O and the
	 * alignment of every offset and length libwodan passes to read, write
	 * and discard.  A power of two, 512..65536 (BLKSSZGET for a block
	 * device).  Block sizes that are not multiples of it are refused at
	 * mkfs and at open. */
	uint32_t io_size_bytes;
	/* Physical sector size in bytes: the unit the device writes
	 * atomically (BLKPBSZGET); a write smaller than it may cost a
	 * read-modify-write, and a power cut can tear a write at this
	 * granularity.  A power of two >= io_size_bytes, or 0 when unknown
	 * (treated as io_size_bytes).  Advisory: libwodan does not require
	 * writes to be aligned to it. */
	uint32_t phys_sector_bytes;
	/* Read len bytes at off into buf.  Returns 0, or a negative errno
	 * value (-EIO, -EINVAL for a misaligned or out-of-range request, ...).
	 * A short read is an error; a region never written reads as zeros or
	 * as whatever the device holds. */
	int (*read)(struct wodan_backend *be, uint64_t off_bytes, void *buf,
		    size_t len_bytes);
	/* Write len bytes from buf at off.  Returns 0 or a negative errno.
	 * Not durable before a successful barrier(); a power cut may lose,
	 * reorder or tear (at phys_sector_bytes granularity) writes issued
	 * since the last barrier. */
	int (*write)(struct wodan_backend *be, uint64_t off_bytes,
		     const void *buf, size_t len_bytes);
	/* Tell the device a byte range is unused.  Afterwards the range reads
	 * as zeros or as its old contents (unspecified).  Returns 0 or a
	 * negative errno.  NULL when the device cannot discard. */
	int (*discard)(struct wodan_backend *be, uint64_t off_bytes,
		       uint64_t len_bytes);
	/* When it returns 0, every write issued before it is durable (a
	 * device cache flush).  Returns 0 or a negative errno.  NULL means
	 * writes are durable when write() returns. */
	int (*barrier)(struct wodan_backend *be);
	/* Release ctx and, if it was allocated, the struct itself.  No
	 * implicit barrier.  NULL for a static struct with nothing to free. */
	void (*close)(struct wodan_backend *be);
	/* (ABI version 3) Take, convert or release the device lock: mode is
	 * one of WODAN_LOCK_* (above).  Never waits: returns 0, -EWOULDBLOCK
	 * (== -EAGAIN) when another holder's lock conflicts, or another
	 * negative errno (e.g. -ENOLCK, -EINVAL for an unknown mode).  A
	 * conversion that fails keeps the mode held before (a lock is never
	 * dropped before its replacement is obtained); release cannot fail.
	 * On failure the backend should record a message with
	 * wodan_backend_error(WODAN_E_LOCKED, ...) naming the device and,
	 * when known, the holder's pid; libwodan then fails with
	 * WODAN_E_LOCKED and that message.  Locks are advisory, held by this
	 * backend (not the process: two backends opened on the same device
	 * in one process exclude each other) and vanish when it is closed.
	 * libwodan takes SHARED in read-only wodan_open() and wodan_check(),
	 * WRITER in a writable wodan_open(), EXCLUSIVE in wodan_mkfs() and
	 * in a writable WODAN_OPEN_ROLLBACK open until its rollback is done,
	 * and releases in wodan_close()/wodan_abandon(), at the end of
	 * wodan_check() and of a failed wodan_mkfs(); a successful
	 * wodan_mkfs() downgrades to WRITER and keeps it until the next
	 * writable wodan_open() on the backend takes it over or the backend
	 * is closed (wodan.h, wodan_mkfs).  NULL when the device cannot lock (ram,
	 * plugins that need no locking): every request then succeeds. */
	int (*lock)(struct wodan_backend *be, unsigned mode);
};

/* Backend open flags. */
#define WODAN_BACKEND_CREATE 0x1u   /* file, direct: create when missing */
#define WODAN_BACKEND_RDONLY 0x2u   /* open read-only */

/*
 * Record an error detail for wodan_last_error() on the calling thread and
 * return `code`: for backends (built in or plugins) that want their open
 * errors to carry a message.  code is a negative WODAN_E_* value; fmt is a
 * printf format (the message is truncated to 255 bytes).  code 0 clears the
 * calling thread's detail (fmt is then ignored and may be NULL); a non-zero
 * code with fmt NULL records wodan_strerror(code).  Thread-safe (the detail
 * is per thread).
 */
int wodan_backend_error(int code, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/* ------------------------------------------------------ shipped backends */

/*
 * "file": a regular file through the page cache (pread/pwrite).
 * size_bytes: when non-zero and the file is created or shorter, the file is
 * extended (sparse) to size_bytes; 0 keeps the current size.
 * io_size_bytes = 512, phys_sector_bytes = the file system's block size.
 * Barrier = fdatasync, discard = punch hole (zeros where unsupported).
 * lock = open file description locks (fcntl F_OFD_SETLK) on bytes 0 (the
 * writer byte) and 1 (the reader byte) of the file: SHARED read-locks
 * byte 1, WRITER write-locks byte 0, EXCLUSIVE write-locks both; they
 * exclude other backends on the same file, in this process or another
 * (advisory: programs that do not lock are not stopped).  A conflict
 * returns -EWOULDBLOCK with a message such as "img: in use by another
 * writer (pid 1234)" (the pid is found in /proc when it can be).  Opened
 * with WODAN_BACKEND_RDONLY, it cannot write and takes SHARED whatever mode
 * it is asked for.
 * On success *out is owned by the caller (release with wodan_backend_close).
 * Errors: WODAN_E_INVAL (empty path, not a regular file), WODAN_E_IO_READ
 * (open/stat failed; detail.message has strerror(errno)), WODAN_E_IO_WRITE
 * (cannot extend), WODAN_E_NOMEM.  Thread-safe (no shared state).
 */
int wodan_backend_file_open(const char *path, unsigned flags,
			    uint64_t size_bytes, struct wodan_backend **out);

/*
 * "ram": a zero-filled RAM device of size_bytes (a non-zero multiple of 512,
 * at most 64 GiB), io and physical sector 512.  Barrier does nothing;
 * discard zeroes.  *out is owned by the caller.  Errors: WODAN_E_INVAL,
 * WODAN_E_NOMEM.  Thread-safe.
 */
int wodan_backend_ram_create(uint64_t size_bytes, struct wodan_backend **out);

/*
 * "direct": a block device or a regular file opened with O_DIRECT (no page
 * cache).  Block devices: size from BLKGETSIZE64, io_size_bytes = logical
 * sector (BLKSSZGET), phys_sector_bytes = BLKPBSZGET; a writable open is
 * exclusive (O_EXCL: refused while the device is mounted); size_bytes larger
 * than the device is an error, smaller is ignored; discard = BLKDISCARD
 * (NULL when the queue reports no discard support).  Regular files:
 * io_size_bytes = 4096, or the file system's direct-I/O offset alignment
 * (statx STATX_DIOALIGN) when larger, so that an image made on a file also
 * fits a 4Kn device; size_bytes as for "file" (must then be a multiple of
 * io_size_bytes); size = st_size rounded down to io_size_bytes; discard =
 * punch hole (zeros where unsupported).  Both: lock as for "file" (block
 * devices also keep O_EXCL on writable opens); barrier = fdatasync (a device
 * cache flush); read/write return -EINVAL for an offset or length that is
 * not a multiple of io_size_bytes, a buffer not aligned to
 * min(io_size_bytes, 4096) (or the DIO memory alignment when larger), or a
 * range past size_bytes.  *out is owned by the caller.
 * Errors: WODAN_E_INVAL (empty path; neither a block device nor a regular
 * file; the file system does not support O_DIRECT; unusable sector size;
 * size_bytes too large or misaligned), WODAN_E_IO_READ (open, stat or
 * ioctl failed, device busy; detail.message names the cause),
 * WODAN_E_LOCKED (a writable open of a block device that another wodan
 * backend holds for writing: O_EXCL refuses it, the message names the
 * holder as a lock conflict does),
 * WODAN_E_IO_WRITE (cannot extend), WODAN_E_NOMEM.  Thread-safe.
 */
int wodan_backend_direct_open(const char *path, unsigned flags,
			      uint64_t size_bytes, struct wodan_backend **out);

/*
 * Open a device string "[BACKEND:]PATH":
 *   "file:PATH"     the file backend;
 *   "ram:SIZE"      a RAM device (SIZE with an optional K/M/G/T suffix,
 *                   powers of 1024; size_bytes is ignored);
 *   "direct:PATH"   the direct backend (block device or file, O_DIRECT);
 *   "NAME:PATH"     the plugin backend NAME: loaded with wodan_plugin_load()
 *                   or found by wodan_plugin_find() in WODAN_PLUGIN_PATH;
 *   "PATH"          a block device selects direct, anything else file.
 * NAME is 1..31 characters of [A-Za-z0-9_]; a string whose prefix is not
 * such a name (e.g. "./a:b", "/x/y:z") is a bare PATH, and so is "NAME:..."
 * when NAME is no backend but a file of exactly that name exists.
 * flags and size_bytes are passed to the backend.  *out is owned by the
 * caller (wodan_backend_close).  Errors: as the backend opened, plus
 * WODAN_E_INVAL for an unknown backend name (the message lists where it
 * was looked for) and the plugin loading errors of wodan_plugin_find().
 * Thread-safe.
 */
int wodan_backend_open(const char *spec, unsigned flags, uint64_t size_bytes,
		       struct wodan_backend **out);

/* Close a backend obtained from any wodan_backend_* function or a plugin
 * (calls be->close; NULL is ok).  Not thread-safe for the same backend. */
void wodan_backend_close(struct wodan_backend *be);

/* ---------------------------------------------------------------- plugins */

/*
 * A plugin is a shared object (built e.g. with `libtool -module`, or
 * `cc -shared -fPIC`) that exports two symbols:
 *
 *   const struct wodan_plugin_info wodan_plugin_info = {
 *           .abi_version = WODAN_BACKEND_ABI_VERSION,
 *           .name = "mydev",
 *           .version = "1.0",
 *           .description = "my device",
 *   };
 *   int wodan_backend_plugin_open(const char *path, unsigned flags,
 *                                 uint64_t size_bytes,
 *                                 struct wodan_backend **out);
 *
 * wodan_backend_plugin_open has the contract of wodan_backend_file_open: it
 * opens PATH (the part of "mydev:PATH" after the colon), stores a backend
 * the caller owns in *out and returns 0, or returns a negative WODAN_E_*
 * code (call wodan_backend_error() to give it a message).  The backend it
 * returns must have abi_version = WODAN_BACKEND_ABI_VERSION, read and write
 * set, io_size_bytes a power of two in 512..65536, size_bytes a multiple of
 * it; otherwise libwodan closes it and fails with WODAN_E_INVAL.
 * The plugin must not link libwodan itself: wodan_backend_error() (and any
 * other wodan_* function) resolves to the libwodan of the program loading
 * it, which must export its symbols (a program linking libwodan statically
 * needs -rdynamic).  Plugins stay loaded until the process exits.
 */
#define WODAN_PLUGIN_INFO_SYMBOL "wodan_plugin_info"
#define WODAN_PLUGIN_OPEN_SYMBOL "wodan_backend_plugin_open"
#define WODAN_PLUGIN_NAME_MAX 31

struct wodan_plugin_info {
	/* WODAN_BACKEND_ABI_VERSION the plugin was compiled against; the
	 * first member in every ABI version.  A mismatch refuses the plugin
	 * before any other member is read. */
	uint32_t abi_version;
	/* The backend's name, the NAME of "NAME:PATH": 1..31 characters of
	 * [A-Za-z0-9_], not "file", "ram" or "direct". */
	const char *name;
	/* The plugin's own version and a one-line description (free text,
	 * may be NULL). */
	const char *version;
	const char *description;
};

/* Type of the plugin's open function. */
typedef int (*wodan_backend_plugin_open_fn)(const char *path, unsigned flags,
					    uint64_t size_bytes,
					    struct wodan_backend **out);

/* What a plugin defines (declared here so the compiler checks it). */
extern const struct wodan_plugin_info wodan_plugin_info;
int wodan_backend_plugin_open(const char *path, unsigned flags,
			      uint64_t size_bytes, struct wodan_backend **out);

/*
 * Load the plugin in the shared object so_path (dlopen RTLD_NOW|RTLD_LOCAL)
 * and register its backend name for device strings.  A so_path without '/'
 * is taken relative to the current directory (not searched in the system
 * library path).  Loading the same object again is a no-op returning 0.
 * Errors (detail.message says which, with the path): WODAN_E_INVAL when
 * dlopen fails (the message carries dlerror()'s text, e.g. "cannot open
 * shared object file" or "undefined symbol"), when a required symbol
 * (WODAN_PLUGIN_INFO_SYMBOL, WODAN_PLUGIN_OPEN_SYMBOL) is missing, when the
 * name is invalid, built in, or taken by another loaded plugin, or when 64
 * plugins are loaded already; WODAN_E_NOT_SUPPORTED when the plugin was
 * built for another WODAN_BACKEND_ABI_VERSION (the message names both
 * versions).  A refused object is unloaded again.  Thread-safe.
 */
int wodan_plugin_load(const char *so_path);

/*
 * Make the backend NAME available: returns 0 at once when NAME is built in
 * or a loaded plugin; otherwise searches the directories of the environment
 * variable WODAN_PLUGIN_PATH (colon-separated; empty entries are skipped)
 * in order for NAME.so, then libwodan-NAME.so, and loads the first file
 * that exists with wodan_plugin_load(), which must declare the name NAME.
 * wodan_backend_open() calls this for every "NAME:" prefix it does not know.
 * Errors: WODAN_E_INVAL (no such plugin; the message names NAME and the
 * search path), the errors of wodan_plugin_load().  Thread-safe.
 */
int wodan_plugin_find(const char *name);

/* Info of the loaded plugin providing backend NAME, or NULL (built-in and
 * unknown names).  The pointer stays valid until the process exits.
 * Thread-safe. */
const struct wodan_plugin_info *wodan_plugin_lookup(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* WODAN_BACKEND_H */
