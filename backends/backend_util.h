/*
 * backend_util.h -- helpers shared by the shipped backends and the device
 * string/plugin code in backends/.  Everything here uses only the public
 * headers (wodan_backend.h); errors are recorded with the public
 * wodan_backend_error().  Internal: not installed, not exported.
 */
#ifndef WD_BACKEND_UTIL_H
#define WD_BACKEND_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "wodan.h"   /* the backend ABI (wodan_backend.h) and the library calls */

/* Parse a size with optional K/M/G/T suffix (powers of 1024, optionally
 * followed by "B" or "iB").  0 on success, -1 on a malformed or overflowing
 * string. */
int wd_parse_size(const char *s, uint64_t *out);

/* 1 when s is a valid backend name: 1..WODAN_PLUGIN_NAME_MAX characters of
 * [A-Za-z0-9_]. */
int wd_backend_name_valid(const char *s);

/* 1 when name is a built-in backend ("file", "ram", "direct"). */
int wd_backend_builtin(const char *name);

/*
 * Split a device string "[BACKEND:]PATH".  When spec starts with a valid
 * backend name followed by ':', copies the name into name[] (NUL-terminated,
 * at most WODAN_PLUGIN_NAME_MAX characters), points *rest after the colon
 * and returns 1.  Otherwise (a bare path) sets name[0] = 0, *rest = spec and
 * returns 0.  Pure string work: no lookups, no I/O.
 */
int wd_spec_split(const char *spec, char name[WODAN_PLUGIN_NAME_MAX + 1],
		  const char **rest);

/* Open "PATH" with the loaded plugin providing `name` (see plugin.c).
 * Returns 1 with *rc set when such a plugin is loaded, 0 when not. */
int wd_plugin_open(const char *name, const char *path, unsigned flags,
		   uint64_t size_bytes, struct wodan_backend **out, int *rc);

/*
 * The device lock of the file and direct backends (ofdlock.c): take,
 * convert or release WODAN_LOCK_* `mode` with OFD locks on the file of fd.
 * *held is the mode this descriptor holds (updated on success).  Returns 0,
 * -EWOULDBLOCK on a conflict (message recorded with wodan_backend_error:
 * WODAN_E_LOCKED, naming path and, when found, the holder's pid), another
 * negative errno, -EINVAL for an unknown mode.  Contract of
 * wodan_backend.lock.
 */
int wd_ofd_lock(int fd, const char *path, unsigned *held, unsigned mode);

/* 1 (message recorded as by wd_ofd_lock) when another open file holds
 * the writer byte of fd's file, else 0: tells a wodan writer apart from
 * other users of a busy block device. */
int wd_ofd_writer_busy(int fd, const char *path);

#endif
