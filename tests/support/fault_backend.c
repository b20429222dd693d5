/*
 * fault_backend.c -- fault-injection backend (see fault_backend.h).
 *
 * Model: writes go through to the lower device at once, each with an undo
 * copy, and stay "pending" until a successful barrier.  A power cut undoes
 * the pending ops newest first (which restores the durable image exactly,
 * overlaps included) and re-applies what the cut mode keeps.
 *
 * Uses only the public headers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fault_backend.h"

struct pend {
	uint64_t op;        /* index into ops */
	uint64_t off, len;
	uint8_t *old;       /* what the device held before */
	uint8_t *data;      /* what the op wrote; NULL: zeros (discard) */
};

struct fdev {
	struct wodan_backend be; /* first: handed to libwodan */
	struct wodan_backend *lower;
	struct fault_params p;
	uint64_t rng;
	uint32_t sector;
	int dead;
	uint64_t epoch;
	struct fault_op *ops;
	size_t nops, opcap;
	struct pend *pend;
	size_t npend, pendcap;
	uint64_t nreads;
	uint32_t flips_left;
	uint8_t *zero, *junk; /* one sector each, aligned */
	struct fault_counters c;
};

static struct fdev *F(struct wodan_backend *be)
{
	return (struct fdev *)be;
}

static const struct fdev *CF(const struct wodan_backend *be)
{
	return (const struct fdev *)be;
}

static uint64_t rnd(struct fdev *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(struct fdev *d, uint64_t n)
{
	return n ? rnd(d) % n : 0;
}

static int chance_ppm(struct fdev *d, uint32_t ppm)
{
	return ppm && below(d, 1000000) < ppm;
}

static void *balloc(size_t len)
{
	size_t n = (len + 4095) / 4096 * 4096;
	return aligned_alloc(4096, n ? n : 4096);
}

/* ------------------------------------------------------------ parameters */

void fault_params_init(struct fault_params *p, uint64_t seed)
{
	memset(p, 0, sizeof *p);
	p->seed = seed;
	p->cut_at = FAULT_NEVER;
	p->cut_mode = FAULT_CUT_RANDOM;
	p->fail_op = FAULT_NEVER;
	p->flip_read = FAULT_NEVER;
	p->eio_read = FAULT_NEVER;
}

static const char *const mode_names[FAULT_CUT_NMODES] = {
	"lose", "keep", "torn", "random", "reorder"
};

int fault_params_parse(const char *s, struct fault_params *p, char *err,
		       size_t errlen)
{
	char buf[512];
	if (!s)
		return 0;
	if (strlen(s) >= sizeof buf) {
		snprintf(err, errlen, "option string too long");
		return -1;
	}
	strcpy(buf, s);
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		if (!eq) {
			snprintf(err, errlen, "option \"%s\": expected key=value",
				 t);
			return -1;
		}
		*eq = 0;
		const char *k = t, *v = eq + 1;
		if (!strcmp(k, "mode")) {
			int m = -1;
			for (int i = 0; i < FAULT_CUT_NMODES; i++)
				if (!strcmp(v, mode_names[i]))
					m = i;
			if (m < 0 && v[0] >= '0' && v[0] <= '4' && !v[1])
				m = v[0] - '0';
			if (m < 0) {
				snprintf(err, errlen, "unknown cut mode \"%s\"", v);
				return -1;
			}
			p->cut_mode = (enum fault_cut_mode)m;
			continue;
		}
		char *end;
		errno = 0;
		uint64_t x = !strcmp(v, "never") ? FAULT_NEVER
						 : strtoull(v, &end, 0);
		if (strcmp(v, "never") && (errno || end == v || *end)) {
			snprintf(err, errlen, "option %s: bad number \"%s\"", k, v);
			return -1;
		}
		if (!strcmp(k, "seed"))
			p->seed = x;
		else if (!strcmp(k, "cut"))
			p->cut_at = x;
		else if (!strcmp(k, "write_eio"))
			p->write_eio_ppm = (uint32_t)x;
		else if (!strcmp(k, "barrier_eio"))
			p->barrier_eio_ppm = (uint32_t)x;
		else if (!strcmp(k, "read_eio"))
			p->read_eio_ppm = (uint32_t)x;
		else if (!strcmp(k, "read_flip"))
			p->read_flip_ppm = (uint32_t)x;
		else if (!strcmp(k, "fail_op"))
			p->fail_op = x;
		else if (!strcmp(k, "flip_read"))
			p->flip_read = x;
		else if (!strcmp(k, "eio_read"))
			p->eio_read = x;
		else if (!strcmp(k, "flip_off"))
			p->flip_off = x;
		else if (!strcmp(k, "flip_len"))
			p->flip_len = x;
		else if (!strcmp(k, "flip_count"))
			p->flip_count = (uint32_t)x;
		else if (!strcmp(k, "sector"))
			p->sector_bytes = (uint32_t)x;
		else {
			snprintf(err, errlen, "unknown option \"%s\"", k);
			return -1;
		}
	}
	return 0;
}

void fault_params_format(const struct fault_params *p, char *buf, size_t len)
{
	size_t n = 0;
#define ADD(...)                                                            \
	do {                                                                \
		if (n < len)                                                \
			n += (size_t)snprintf(buf + n, len - n, __VA_ARGS__); \
	} while (0)
	if (len)
		buf[0] = 0;
	ADD("seed=%" PRIu64, p->seed);
	if (p->cut_at != FAULT_NEVER)
		ADD(",cut=%" PRIu64 ",mode=%s", p->cut_at,
		    (unsigned)p->cut_mode < FAULT_CUT_NMODES
			    ? mode_names[p->cut_mode] : "?");
	if (p->write_eio_ppm)
		ADD(",write_eio=%u", p->write_eio_ppm);
	if (p->barrier_eio_ppm)
		ADD(",barrier_eio=%u", p->barrier_eio_ppm);
	if (p->read_eio_ppm)
		ADD(",read_eio=%u", p->read_eio_ppm);
	if (p->read_flip_ppm)
		ADD(",read_flip=%u", p->read_flip_ppm);
	if (p->fail_op != FAULT_NEVER)
		ADD(",fail_op=%" PRIu64, p->fail_op);
	if (p->flip_read != FAULT_NEVER)
		ADD(",flip_read=%" PRIu64, p->flip_read);
	if (p->eio_read != FAULT_NEVER)
		ADD(",eio_read=%" PRIu64, p->eio_read);
	if (p->flip_len)
		ADD(",flip_off=%" PRIu64 ",flip_len=%" PRIu64 ",flip_count=%u",
		    p->flip_off, p->flip_len, p->flip_count);
	if (p->sector_bytes)
		ADD(",sector=%u", p->sector_bytes);
#undef ADD
}

/* --------------------------------------------------------------- op log */

static struct fault_op *new_op(struct fdev *d, enum fault_op_type t,
			       uint64_t off, uint64_t len)
{
	if (d->nops == d->opcap) {
		size_t nc = d->opcap ? d->opcap * 2 : 256;
		struct fault_op *o = realloc(d->ops, nc * sizeof *o);
		if (!o)
			return NULL;
		d->ops = o;
		d->opcap = nc;
	}
	struct fault_op *o = &d->ops[d->nops++];
	memset(o, 0, sizeof *o);
	o->type = t;
	o->state = FAULT_ST_PENDING;
	o->off_bytes = off;
	o->len_bytes = len;
	o->epoch = d->epoch;
	if (t != FAULT_OP_BARRIER)
		o->nsectors = (uint32_t)(len / d->sector);
	return o;
}

static void free_pending(struct fdev *d)
{
	for (size_t i = 0; i < d->npend; i++) {
		free(d->pend[i].old);
		free(d->pend[i].data);
	}
	d->npend = 0;
}

/* ------------------------------------------------------------- the cut */

enum { SA_OLD = 0, SA_NEW = 1, SA_JUNK = 2 };

/* Write sectors [s, e) of pending op x with action a (never SA_OLD). */
static int put_sectors(struct fdev *d, const struct pend *x, uint32_t s,
		       uint32_t e, int a)
{
	uint32_t sec = d->sector;
	if (a == SA_NEW && x->data)
		return d->lower->write(d->lower, x->off + (uint64_t)s * sec,
				       x->data + (size_t)s * sec,
				       (size_t)(e - s) * sec);
	for (uint32_t i = s; i < e; i++) {
		const uint8_t *src = d->zero;
		if (a == SA_JUNK) {
			for (uint32_t b = 0; b < sec; b += 8) {
				uint64_t v = rnd(d);
				memcpy(d->junk + b, &v, 8);
			}
			src = d->junk;
		}
		int r = d->lower->write(d->lower, x->off + (uint64_t)i * sec,
					src, sec);
		if (r)
			return r;
	}
	return 0;
}

/* Apply op x with per-sector actions act[] (runs merged). */
static int apply_actions(struct fdev *d, const struct pend *x,
			 const uint8_t *act, uint32_t ns)
{
	uint32_t i = 0;
	while (i < ns) {
		uint32_t j = i + 1;
		while (j < ns && act[j] == act[i])
			j++;
		if (act[i] != SA_OLD) {
			int r = put_sectors(d, x, i, j, act[i]);
			if (r)
				return r;
		}
		i = j;
	}
	return 0;
}

/* Decide the per-sector fate of op x (index i of n pending, `inflight`
 * when it is the op the cut interrupted). */
static void decide(struct fdev *d, enum fault_cut_mode mode, int inflight,
		   uint8_t *act, uint32_t ns)
{
	memset(act, SA_OLD, ns);
	switch (mode) {
	case FAULT_CUT_LOSE:
		return;
	case FAULT_CUT_KEEP:
		if (!inflight)
			memset(act, SA_NEW, ns);
		return;
	case FAULT_CUT_TORN:
		if (!inflight)
			memset(act, SA_NEW, ns);
		else if (ns > 1)
			memset(act, SA_NEW, 1 + below(d, ns - 1));
		return;
	case FAULT_CUT_REORDER:
		if (below(d, 2))
			memset(act, SA_NEW, ns);
		return;
	case FAULT_CUT_RANDOM:
	default: {
		uint64_t r = below(d, 100);
		if (r < 25) {
			/* lost */
		} else if (r < 60) {
			memset(act, SA_NEW, ns);
		} else if (r < 75) {
			/* torn: a strict prefix of the sectors */
			if (ns > 1)
				memset(act, SA_NEW, 1 + below(d, ns - 1));
		} else if (r < 90) {
			for (uint32_t s = 0; s < ns; s++)
				act[s] = below(d, 2) ? SA_NEW : SA_OLD;
		} else {
			int junk = 0;
			for (uint32_t s = 0; s < ns; s++) {
				act[s] = (uint8_t)below(d, 3);
				junk |= act[s] == SA_JUNK;
			}
			if (!junk)
				act[below(d, ns)] = SA_JUNK;
		}
		return;
	}
	}
}

static int count_intact(struct fdev *d, const struct pend *x, uint32_t ns,
			uint8_t *tmp)
{
	uint32_t sec = d->sector, n = 0;
	for (uint32_t s = 0; s < ns; s++) {
		if (d->lower->read(d->lower, x->off + (uint64_t)s * sec, tmp,
				   sec))
			continue;
		const uint8_t *want = x->data ? x->data + (size_t)s * sec
					      : d->zero;
		n += memcmp(tmp, want, sec) == 0;
	}
	return (int)n;
}

/* Resolve the volatile cache with `mode`; the last pending op is in flight
 * when `inflight`.  The device is dead afterwards. */
static int do_cut(struct fdev *d, enum fault_cut_mode mode, int inflight)
{
	int r = 0;
	d->dead = 1;
	d->c.cuts++;
	/* 1. undo, newest first: the lower device is the durable image */
	for (size_t i = d->npend; i-- > 0;) {
		const struct pend *x = &d->pend[i];
		int e = d->lower->write(d->lower, x->off, x->old, x->len);
		if (e && !r)
			r = e;
	}
	/* 2. decide every op's sectors */
	size_t n = d->npend;
	uint8_t **acts = calloc(n ? n : 1, sizeof *acts);
	uint8_t *tmp = balloc(d->sector);
	if (!acts || !tmp) {
		free(acts);
		free(tmp);
		free_pending(d);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pend *x = &d->pend[i];
		uint32_t ns = (uint32_t)(x->len / d->sector);
		acts[i] = malloc(ns ? ns : 1);
		if (acts[i])
			decide(d, mode, inflight && i == n - 1, acts[i], ns);
	}
	/* 3. apply, in issue order: a drive's cache holds one copy per
	 * sector, so where two cached writes overlap the later one wins if it
	 * persisted at all (the earlier one may persist alone).  Reordering
	 * is the freedom of *which* writes persist: any subset, whatever
	 * their issue order. */
	for (size_t k = 0; k < n; k++) {
		const struct pend *x = &d->pend[k];
		if (!acts[k])
			continue;
		int e = apply_actions(d, x, acts[k],
				      (uint32_t)(x->len / d->sector));
		if (e && !r)
			r = e;
	}
	/* 4. report */
	for (size_t i = 0; i < n; i++) {
		const struct pend *x = &d->pend[i];
		struct fault_op *o = &d->ops[x->op];
		uint32_t ns = (uint32_t)(x->len / d->sector);
		uint32_t junk = 0, keep = 0;
		if (acts[i])
			for (uint32_t s = 0; s < ns; s++) {
				junk += acts[i][s] == SA_JUNK;
				keep += acts[i][s] == SA_NEW;
			}
		o->state = FAULT_ST_CUT;
		o->garbage_sectors = junk;
		o->intact_sectors = (uint32_t)count_intact(d, x, ns, tmp);
		if (junk)
			d->c.cut_garbage++;
		else if (keep == 0)
			d->c.cut_lost++;
		else if (keep == ns)
			d->c.cut_whole++;
		else
			d->c.cut_torn++;
		free(acts[i]);
	}
	free(acts);
	free(tmp);
	free_pending(d);
	return r;
}

int fault_backend_cut_now(struct wodan_backend *be, enum fault_cut_mode mode)
{
	struct fdev *d = F(be);
	if (d->dead)
		return 0;
	return do_cut(d, mode, 0);
}

int fault_backend_dead(const struct wodan_backend *be)
{
	return CF(be)->dead;
}

struct wodan_backend *fault_backend_lower(struct wodan_backend *be)
{
	return CF(be)->lower;
}

static void make_durable(struct fdev *d)
{
	for (size_t i = 0; i < d->npend; i++)
		d->ops[d->pend[i].op].state = FAULT_ST_DURABLE;
	free_pending(d);
	d->epoch++;
}

int fault_backend_settle(struct wodan_backend *be)
{
	struct fdev *d = F(be);
	if (d->dead)
		return -EIO;
	int r = d->lower->barrier ? d->lower->barrier(d->lower) : 0;
	if (!r)
		make_durable(d);
	return r;
}

void fault_backend_set_rates(struct wodan_backend *be, uint32_t write_eio,
			     uint32_t barrier_eio, uint32_t read_eio,
			     uint32_t read_flip)
{
	struct fdev *d = F(be);
	d->p.write_eio_ppm = write_eio;
	d->p.barrier_eio_ppm = barrier_eio;
	d->p.read_eio_ppm = read_eio;
	d->p.read_flip_ppm = read_flip;
}

void fault_backend_arm_flip(struct wodan_backend *be, uint64_t off,
			    uint64_t len, uint32_t count)
{
	struct fdev *d = F(be);
	d->p.flip_off = off;
	d->p.flip_len = len;
	d->p.flip_count = count;
	d->flips_left = count;
}

uint64_t fault_backend_nops(const struct wodan_backend *be)
{
	return CF(be)->nops;
}

const struct fault_op *fault_backend_op(const struct wodan_backend *be,
					uint64_t i)
{
	const struct fdev *d = CF(be);
	return i < d->nops ? &d->ops[i] : NULL;
}

uint64_t fault_backend_nreads(const struct wodan_backend *be)
{
	return CF(be)->nreads;
}

void fault_backend_counters(const struct wodan_backend *be,
			    struct fault_counters *c)
{
	*c = CF(be)->c;
}

/* ------------------------------------------------------------- the ops */

static int fb_read(struct wodan_backend *be, uint64_t off, void *buf,
		   size_t len)
{
	struct fdev *d = F(be);
	if (d->dead)
		return -EIO;
	uint64_t i = d->nreads++;
	d->c.reads++;
	if (i == d->p.eio_read || chance_ppm(d, d->p.read_eio_ppm)) {
		d->c.read_eio++;
		return -EIO;
	}
	int r = d->lower->read(d->lower, off, buf, len);
	if (r || !len)
		return r;
	uint64_t lo = 0, n = len;
	int flip = i == d->p.flip_read || chance_ppm(d, d->p.read_flip_ppm);
	if (!flip && d->p.flip_len && d->flips_left &&
	    off < d->p.flip_off + d->p.flip_len &&
	    d->p.flip_off < off + len) {
		uint64_t a = off > d->p.flip_off ? off : d->p.flip_off;
		uint64_t b = off + len < d->p.flip_off + d->p.flip_len
				     ? off + len : d->p.flip_off + d->p.flip_len;
		lo = a - off;
		n = b - a;
		d->flips_left--;
		flip = 1;
	}
	if (flip) {
		int bits = 1 + (int)below(d, 3);
		for (int k = 0; k < bits; k++) {
			uint64_t bit = lo * 8 + below(d, n * 8);
			((uint8_t *)buf)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		}
		d->c.read_flips++;
	}
	return 0;
}

/* Common part of write and discard (data NULL: zeros). */
static int fb_modify(struct fdev *d, enum fault_op_type t, uint64_t off,
		     const void *data, uint64_t len)
{
	if (d->dead)
		return -EIO;
	if (off > d->be.size_bytes || len > d->be.size_bytes - off ||
	    off % d->sector || len % d->sector)
		return -EINVAL;
	struct fault_op *o = new_op(d, t, off, len);
	if (!o)
		return -ENOMEM;
	uint64_t idx = d->nops - 1;
	if (t == FAULT_OP_WRITE)
		d->c.writes++;
	else
		d->c.discards++;
	if (d->npend == d->pendcap) {
		size_t nc = d->pendcap ? d->pendcap * 2 : 64;
		struct pend *p = realloc(d->pend, nc * sizeof *p);
		if (!p)
			return -ENOMEM;
		d->pend = p;
		d->pendcap = nc;
	}
	struct pend *x = &d->pend[d->npend];
	x->op = idx;
	x->off = off;
	x->len = len;
	x->old = balloc(len);
	x->data = data ? balloc(len) : NULL;
	if (!x->old || (data && !x->data)) {
		free(x->old);
		free(x->data);
		return -ENOMEM;
	}
	int r = d->lower->read(d->lower, off, x->old, len);
	if (r) {
		free(x->old);
		free(x->data);
		return r;
	}
	if (data)
		memcpy(x->data, data, len);
	d->npend++;
	/* write through: the cache serves later reads */
	if (data)
		r = d->lower->write(d->lower, off, x->data, len);
	else if (d->lower->discard)
		r = d->lower->discard(d->lower, off, len);
	else
		r = put_sectors(d, x, 0, (uint32_t)(len / d->sector), SA_NEW);
	if (r)
		return r;
	if (idx == d->p.cut_at) {
		o->in_flight = 1;
		do_cut(d, d->p.cut_mode, 1);
		return -EIO;
	}
	if (idx == d->p.fail_op || chance_ppm(d, d->p.write_eio_ppm)) {
		/* a failed write: what reached the medium is anybody's
		 * guess -- nothing, some sectors, or garbage */
		o->failed = 1;
		d->c.write_eio++;
		uint32_t ns = (uint32_t)(len / d->sector);
		uint8_t *act = malloc(ns ? ns : 1);
		if (act) {
			d->lower->write(d->lower, off, x->old, len);
			decide(d, FAULT_CUT_RANDOM, 1, act, ns);
			apply_actions(d, x, act, ns);
			free(act);
		}
		return -EIO;
	}
	return 0;
}

static int fb_write(struct wodan_backend *be, uint64_t off, const void *buf,
		    size_t len)
{
	return fb_modify(F(be), FAULT_OP_WRITE, off, buf, len);
}

static int fb_discard(struct wodan_backend *be, uint64_t off, uint64_t len)
{
	return fb_modify(F(be), FAULT_OP_DISCARD, off, NULL, len);
}

static int fb_barrier(struct wodan_backend *be)
{
	struct fdev *d = F(be);
	if (d->dead)
		return -EIO;
	struct fault_op *o = new_op(d, FAULT_OP_BARRIER, 0, 0);
	if (!o)
		return -ENOMEM;
	uint64_t idx = d->nops - 1;
	d->c.barriers++;
	if (idx == d->p.cut_at) {
		o->state = FAULT_ST_NEVER;
		o->in_flight = 1;
		do_cut(d, d->p.cut_mode, 0);
		return -EIO;
	}
	if (idx == d->p.fail_op || chance_ppm(d, d->p.barrier_eio_ppm)) {
		o->failed = 1;
		d->c.barrier_eio++;
		return -EIO;
	}
	int r = d->lower->barrier ? d->lower->barrier(d->lower) : 0;
	if (r) {
		o->failed = 1;
		return r;
	}
	o->state = FAULT_ST_DURABLE;
	make_durable(d);
	return 0;
}

/* The device lock is the lower device's (a transparent pass-through). */
static int fb_lock(struct wodan_backend *be, unsigned mode)
{
	struct fdev *d = F(be);
	return d->lower->lock(d->lower, mode);
}

static void fb_close(struct wodan_backend *be)
{
	struct fdev *d = F(be);
	free_pending(d);
	free(d->pend);
	free(d->ops);
	free(d->zero);
	free(d->junk);
	if (d->p.owns_lower && d->lower && d->lower->close)
		d->lower->close(d->lower);
	free(d);
}

int fault_backend_wrap(struct wodan_backend *lower,
		       const struct fault_params *p,
		       struct wodan_backend **out)
{
	if (!out || !lower || !p || !lower->read || !lower->write)
		return WODAN_E_INVAL;
	*out = NULL;
	uint32_t io = lower->io_size_bytes < 512 ? 512 : lower->io_size_bytes;
	uint32_t sec = p->sector_bytes ? p->sector_bytes
		       : lower->phys_sector_bytes ? lower->phys_sector_bytes
						  : io;
	if (sec < 512 || sec % io || (sec & (sec - 1)))
		return WODAN_E_INVAL;
	struct fdev *d = calloc(1, sizeof *d);
	if (!d)
		return WODAN_E_NOMEM;
	d->zero = balloc(sec);
	d->junk = balloc(sec);
	if (!d->zero || !d->junk) {
		free(d->zero);
		free(d->junk);
		free(d);
		return WODAN_E_NOMEM;
	}
	memset(d->zero, 0, sec);
	d->lower = lower;
	d->p = *p;
	d->rng = p->seed ^ 0x6661756c74ull; /* "fault" */
	d->sector = sec;
	d->flips_left = p->flip_count;
	d->be.abi_version = WODAN_BACKEND_ABI_VERSION;
	d->be.name = "fault";
	d->be.ctx = d;
	d->be.size_bytes = lower->size_bytes;
	d->be.io_size_bytes = lower->io_size_bytes;
	d->be.phys_sector_bytes = lower->phys_sector_bytes;
	d->be.read = fb_read;
	d->be.write = fb_write;
	d->be.discard = lower->discard ? fb_discard : NULL;
	d->be.barrier = fb_barrier;
	d->be.close = fb_close;
	d->be.lock = lower->abi_version == WODAN_BACKEND_ABI_VERSION &&
			     lower->lock ? fb_lock : NULL;
	*out = &d->be;
	return 0;
}

/* ------------------------------------------------------------- plugin */
#ifdef FAULT_BACKEND_PLUGIN
const struct wodan_plugin_info wodan_plugin_info = {
	.abi_version = WODAN_BACKEND_ABI_VERSION,
	.name = "fault",
	.version = "1.0",
	.description = "fault injection: fault:OPTIONS@LOWER-DEVICE "
		       "(power cuts, torn writes, I/O errors, bit flips)",
};

/* path: "OPTIONS@LOWER", e.g. "seed=3,cut=50,mode=torn@file:img"; without
 * '@' the whole string is the lower device and OPTIONS come from the
 * environment variable WODAN_FAULT (empty: a transparent wrapper). */
int wodan_backend_plugin_open(const char *path, unsigned flags,
			      uint64_t size_bytes, struct wodan_backend **out)
{
	struct fault_params p;
	fault_params_init(&p, 0);
	char opts[512] = "", err[200];
	const char *lower_spec = path, *at = strchr(path, '@');
	if (at) {
		size_t n = (size_t)(at - path);
		if (n >= sizeof opts)
			return wodan_backend_error(WODAN_E_INVAL,
						   "fault: options too long");
		memcpy(opts, path, n);
		opts[n] = 0;
		lower_spec = at + 1;
	} else if (getenv("WODAN_FAULT")) {
		snprintf(opts, sizeof opts, "%s", getenv("WODAN_FAULT"));
	}
	if (fault_params_parse(opts, &p, err, sizeof err))
		return wodan_backend_error(WODAN_E_INVAL, "fault: %s", err);
	struct wodan_backend *lower;
	int r = wodan_backend_open(lower_spec, flags, size_bytes, &lower);
	if (r)
		return r;
	p.owns_lower = 1;
	r = fault_backend_wrap(lower, &p, out);
	if (r) {
		wodan_backend_close(lower);
		return wodan_backend_error(r, "fault: cannot wrap %s",
					   lower_spec);
	}
	return 0;
}
#endif
