/*
 * plugin.c -- backend plugins: shared objects loaded with dlopen that export
 * wodan_plugin_info and wodan_backend_plugin_open (wodan_backend.h).
 *
 * Loaded plugins are kept in a small table guarded by a mutex and are never
 * unloaded (backends they opened may outlive any caller's interest in the
 * plugin), so info pointers stay valid until the process exits.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "backend_util.h"

#define MAX_PLUGINS 64

struct plugin {
	void *dl;
	const struct wodan_plugin_info *info;
	wodan_backend_plugin_open_fn open;
	char path[256];
};

static struct plugin plugins[MAX_PLUGINS];
static unsigned n_plugins;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The loaded plugin named `name`, or NULL.  Caller holds the lock. */
static struct plugin *by_name(const char *name)
{
	for (unsigned i = 0; i < n_plugins; i++)
		if (!strcmp(plugins[i].info->name, name))
			return &plugins[i];
	return NULL;
}

/* Unload a refused object once its error is recorded; returns rc. */
static int refuse(void *dl, int rc)
{
	dlclose(dl);
	return rc;
}

/* Refuse the object `dl`: record the error (which may quote its info),
 * then unload it. */
#define REFUSE(dl, code, ...) \
	refuse((dl), wodan_backend_error((code), __VA_ARGS__))

/* Load so_path; when expect is non-NULL the plugin must be named so.
 * Caller holds the lock. */
static int load_locked(const char *so_path, const char *expect)
{
	struct plugin *p;
	const char *e;

	dlerror();
	void *dl = dlopen(so_path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		e = dlerror();
		return wodan_backend_error(WODAN_E_INVAL,
					   "plugin %s: cannot load: %s",
					   so_path, e ? e : "dlopen failed");
	}
	for (unsigned i = 0; i < n_plugins; i++) {
		if (plugins[i].dl != dl)
			continue;
		dlclose(dl); /* drop the extra reference */
		if (expect && strcmp(expect, plugins[i].info->name))
			return wodan_backend_error(
				WODAN_E_INVAL, "plugin %s provides backend "
				"'%s', not '%s'", so_path,
				plugins[i].info->name, expect);
		return 0;
	}
	dlerror();
	const struct wodan_plugin_info *info =
		dlsym(dl, WODAN_PLUGIN_INFO_SYMBOL);
	if (!info)
		return REFUSE(dl, WODAN_E_INVAL,
			      "plugin %s: not a wodan backend plugin: missing "
			      "symbol %s", so_path, WODAN_PLUGIN_INFO_SYMBOL);
	if (info->abi_version != WODAN_BACKEND_ABI_VERSION)
		return REFUSE(dl, WODAN_E_NOT_SUPPORTED,
			      "plugin %s: built for backend ABI version %u, "
			      "but libwodan %s uses version %u (rebuild it "
			      "against this wodan_backend.h)", so_path,
			      info->abi_version, WODAN_VERSION_STRING,
			      WODAN_BACKEND_ABI_VERSION);
	wodan_backend_plugin_open_fn fn =
		(wodan_backend_plugin_open_fn)dlsym(dl,
						    WODAN_PLUGIN_OPEN_SYMBOL);
	if (!fn)
		return REFUSE(dl, WODAN_E_INVAL,
			      "plugin %s: missing symbol %s", so_path,
			      WODAN_PLUGIN_OPEN_SYMBOL);
	if (!wd_backend_name_valid(info->name))
		return REFUSE(dl, WODAN_E_INVAL,
			      "plugin %s: invalid backend name (need 1..%d "
			      "characters of [A-Za-z0-9_])", so_path,
			      WODAN_PLUGIN_NAME_MAX);
	if (wd_backend_builtin(info->name))
		return REFUSE(dl, WODAN_E_INVAL,
			      "plugin %s: backend name '%s' is built in",
			      so_path, info->name);
	if ((p = by_name(info->name)))
		return REFUSE(dl, WODAN_E_INVAL,
			      "plugin %s: backend name '%s' is taken by %s",
			      so_path, info->name, p->path);
	if (expect && strcmp(expect, info->name))
		return REFUSE(dl, WODAN_E_INVAL,
			      "plugin %s provides backend '%s', not '%s'",
			      so_path, info->name, expect);
	if (n_plugins == MAX_PLUGINS)
		return REFUSE(dl, WODAN_E_INVAL,
			      "plugin %s: too many plugins (%d) loaded",
			      so_path, MAX_PLUGINS);
	p = &plugins[n_plugins];
	p->dl = dl;
	p->info = info;
	p->open = fn;
	snprintf(p->path, sizeof p->path, "%s", so_path);
	n_plugins++;
	return 0;
}

int wodan_plugin_load(const char *so_path)
{
	char buf[4096];
	int rc;

	wodan_backend_error(0, NULL);
	if (!so_path || !*so_path)
		return wodan_backend_error(WODAN_E_INVAL, "no plugin path");
	if (!strchr(so_path, '/')) { /* a file here, not a library search */
		if ((size_t)snprintf(buf, sizeof buf, "./%s", so_path) >=
		    sizeof buf)
			return wodan_backend_error(WODAN_E_INVAL,
						   "plugin path too long");
		so_path = buf;
	}
	pthread_mutex_lock(&lock);
	rc = load_locked(so_path, NULL);
	pthread_mutex_unlock(&lock);
	return rc;
}

/* Search WODAN_PLUGIN_PATH for name.  Caller holds the lock. */
static int find_locked(const char *name)
{
	const char *env = getenv("WODAN_PLUGIN_PATH");
	char path[4096];

	if (by_name(name))
		return 0;
	for (const char *d = env; d && *d;) {
		int n = (int)strcspn(d, ":");
		for (int k = 0; n && k < 2; k++) {
			int len = snprintf(path, sizeof path, "%.*s/%s%s.so",
					   n, d, k ? "libwodan-" : "", name);
			if (len > 0 && (size_t)len < sizeof path &&
			    access(path, F_OK) == 0)
				return load_locked(path, name);
		}
		d += n;
		if (*d == ':')
			d++;
	}
	return wodan_backend_error(WODAN_E_INVAL,
				   "unknown backend '%s': not built in (file, "
				   "ram, direct), not loaded, and no %s.so or "
				   "libwodan-%s.so in WODAN_PLUGIN_PATH (%s)",
				   name, name, name,
				   env && *env ? env : "not set");
}

int wodan_plugin_find(const char *name)
{
	int rc;

	wodan_backend_error(0, NULL);
	if (!wd_backend_name_valid(name))
		return wodan_backend_error(WODAN_E_INVAL,
					   "invalid backend name '%s'",
					   name ? name : "(null)");
	if (wd_backend_builtin(name))
		return 0;
	pthread_mutex_lock(&lock);
	rc = find_locked(name);
	pthread_mutex_unlock(&lock);
	return rc;
}

const struct wodan_plugin_info *wodan_plugin_lookup(const char *name)
{
	const struct wodan_plugin_info *info = NULL;

	if (!name)
		return NULL;
	pthread_mutex_lock(&lock);
	struct plugin *p = by_name(name);
	if (p)
		info = p->info;
	pthread_mutex_unlock(&lock);
	return info;
}

/* Refuse a backend a plugin returned: close it, record why. */
static int bad_backend(struct wodan_backend *be, const char *name,
		       const char *why)
{
	wodan_backend_close(be);
	return wodan_backend_error(WODAN_E_INVAL,
				   "plugin backend '%s' is unusable: %s",
				   name, why);
}

int wd_plugin_open(const char *name, const char *path, unsigned flags,
		   uint64_t size_bytes, struct wodan_backend **out, int *rc)
{
	wodan_backend_plugin_open_fn fn = NULL;
	const char *pname = NULL;

	pthread_mutex_lock(&lock);
	struct plugin *p = by_name(name);
	if (p) {
		fn = p->open;
		pname = p->info->name;
	}
	pthread_mutex_unlock(&lock);
	if (!fn)
		return 0;
	struct wodan_backend *be = NULL;
	*out = NULL;
	*rc = fn(path, flags, size_bytes, &be);
	if (*rc) {
		const struct wodan_error_detail *d = wodan_last_error();
		if (*rc > 0)
			*rc = WODAN_E_INVAL;
		if (d->code != *rc || !d->message[0])
			wodan_backend_error(*rc, "%s:%s: cannot open (%s)",
					    pname, path, wodan_strerror(*rc));
		return 1; /* on failure the plugin kept nothing for us */
	}
	uint32_t io = be ? be->io_size_bytes : 0;
	if (!be)
		*rc = wodan_backend_error(WODAN_E_INVAL, "plugin backend '%s' "
					  "returned no backend", pname);
	else if (be->abi_version != WODAN_BACKEND_ABI_VERSION)
		*rc = bad_backend(be, pname, "wrong abi_version");
	else if (!be->read || !be->write)
		*rc = bad_backend(be, pname, "no read or write function");
	else if (io < 512 || io > 65536 || (io & (io - 1)))
		*rc = bad_backend(be, pname, "io_size_bytes is not a power "
				  "of two in 512..65536");
	else if (be->size_bytes % io)
		*rc = bad_backend(be, pname, "size_bytes is not a multiple "
				  "of io_size_bytes");
	else {
		if (!be->name)
			be->name = pname;
		*out = be;
	}
	return 1;
}
