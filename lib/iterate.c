/* iterate.c -- merge of logs across levels in key order (see iterate.h). */
#include <string.h>
#include "cache.h"
#include "error.h"
#include "iterate.h"

#define END_REACHED 1

/* Receives one visible (key, item) of a subtree, ascending. */
struct sink;
typedef int (*emit_fn)(struct sink *s, const struct wd_item *it);
struct sink {
	emit_fn emit;
};

/* The output sink: bounds and the user callback. */
struct out_sink {
	struct sink base;
	struct wodan *w;
	const uint8_t *end;
	wodan_iter_fn fn;
	void *arg;
};

/* The merge of one node's log with what its children emit. */
struct node_sink {
	struct sink base;
	struct wodan *w;
	struct wd_node *n;
	uint32_t j;        /* next own log item not yet emitted */
	struct sink *up;
};

static int out_emit(struct sink *s, const struct wd_item *it)
{
	struct out_sink *o = (struct out_sink *)s;
	uint32_t ks = o->w->g.ks;
	if (o->end && memcmp(it->data, o->end, ks) >= 0)
		return END_REACHED;
	if (o->w->g.tombstones && it->len == 0)
		return 0;
	if (o->fn(o->arg, it->data, it->data + ks, it->len))
		return wd_err(WODAN_E_ABORTED, "iteration stopped by callback");
	return 0;
}

/* Emit own items with key < key (or <= key when inclusive). */
static int drain(struct node_sink *ns, const uint8_t *key, int inclusive)
{
	uint32_t ks = ns->w->g.ks;
	struct wd_node *n = ns->n;
	while (ns->j < n->nitems) {
		int c = memcmp(n->items[ns->j]->data, key, ks);
		if (c > 0 || (c == 0 && !inclusive))
			break;
		int r = ns->up->emit(ns->up, n->items[ns->j++]);
		if (r)
			return r;
	}
	return 0;
}

static int node_emit(struct sink *s, const struct wd_item *it)
{
	struct node_sink *ns = (struct node_sink *)s;
	uint32_t ks = ns->w->g.ks;
	int r = drain(ns, it->data, 0);
	if (r)
		return r;
	struct wd_node *n = ns->n;
	if (ns->j < n->nitems && !memcmp(n->items[ns->j]->data, it->data, ks))
		return ns->up->emit(ns->up, n->items[ns->j++]); /* newer */
	return ns->up->emit(ns->up, it);
}

static int iter_node(struct wodan *w, struct wd_node *n, const uint8_t *start,
		     const uint8_t *end, struct sink *up)
{
	uint32_t ks = w->g.ks;
	struct node_sink ns = { { node_emit }, w, n, 0, up };
	if (start) {
		int found;
		ns.j = wd_log_find(n, ks, start, &found);
	}
	int r = 0;
	n->pins++;
	uint32_t first = start ? wd_link_route(n, ks, start) : 0;
	uint32_t last = end ? wd_link_route(n, ks, end) : n->nlinks;
	if (last >= n->nlinks)
		last = n->nlinks ? n->nlinks - 1 : 0;
	for (uint32_t i = first; n->nlinks && i <= last; i++) {
		struct wd_node *c;
		r = wd_cache_child(w, n, i, &c);
		if (r)
			break;
		r = iter_node(w, c, start, end, &ns.base);
		if (r)
			break;
		r = drain(&ns, wd_link_key(n, ks, i), 1);
		if (r)
			break;
		wd_cache_trim(w);
	}
	if (!r)
		r = drain(&ns, n->hi, 1);
	n->pins--;
	return r;
}

int wd_iterate(struct wodan *w, const uint8_t *start, const uint8_t *end,
	       wodan_iter_fn fn, void *arg)
{
	if (start && end && memcmp(start, end, w->g.ks) >= 0)
		return 0;
	struct out_sink o = { { out_emit }, w, end, fn, arg };
	int r = iter_node(w, w->root, start, end, &o.base);
	return r == END_REACHED ? 0 : r;
}
