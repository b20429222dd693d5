/* node.c -- in-memory node: sorted log and sorted links (see node.h). */
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "keys.h"
#include "node.h"

struct wd_node *wd_node_new(uint32_t ks, const uint8_t *lo, const uint8_t *hi,
			    uint32_t rdepth, int is_root)
{
	struct wd_node *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->lo = calloc(2, ks);
	if (!n->lo) {
		free(n);
		return NULL;
	}
	n->hi = n->lo + ks;
	if (lo) {
		memcpy(n->lo, lo, ks);
		n->has_lo = 1;
	}
	memcpy(n->hi, hi, ks);
	n->rdepth = rdepth;
	n->is_root = (uint8_t)(is_root != 0);
	n->mem_bytes = wd_node_mem(n, ks);
	return n;
}

void wd_node_free(struct wd_node *n)
{
	if (!n)
		return;
	for (uint32_t i = 0; i < n->nitems; i++)
		free(n->items[i]);
	free(n->items);
	free(n->lkeys);
	free(n->laddr);
	free(n->lchild);
	free(n->lo);
	free(n);
}

uint64_t wd_node_mem(const struct wd_node *n, uint32_t ks)
{
	/* malloc overhead of an item is about 16 bytes */
	return sizeof *n + 2ull * ks + n->log_bytes + 24ull * n->nitems +
	       (uint64_t)n->items_cap * sizeof(void *) +
	       (uint64_t)n->links_cap * (ks + 16);
}

int64_t wd_node_log_room(const struct wd_node *n, const struct wd_geom *g)
{
	int64_t limit = n->nlinks ? g->q : g->block_end;
	return limit - (int64_t)wd_node_hdr(n) - (int64_t)n->log_bytes;
}

int64_t wd_node_link_room(const struct wd_node *n, const struct wd_geom *g,
			  uint32_t max_fanout)
{
	uint32_t lim = g->cmax < max_fanout ? g->cmax : max_fanout;
	return (int64_t)lim - (int64_t)n->nlinks;
}

int wd_node_fits(const struct wd_node *n, const struct wd_geom *g,
		 uint32_t max_fanout)
{
	if (wd_node_log_room(n, g) < 0)
		return 0;
	if (n->nlinks && wd_node_link_room(n, g, max_fanout) < 0)
		return 0;
	return 1;
}

uint32_t wd_log_find(const struct wd_node *n, uint32_t ks, const uint8_t *key,
		     int *found)
{
	uint32_t lo = 0, hi = n->nitems;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = wd_kcmp(n->items[mid]->data, key, ks);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

struct wd_item *wd_item_new(uint32_t ks, const uint8_t *key,
			    const uint8_t *val, uint32_t len)
{
	struct wd_item *it = malloc(sizeof *it + ks + len);
	if (!it)
		return NULL;
	it->len = (uint16_t)len;
	memcpy(it->data, key, ks);
	if (len)
		memcpy(it->data + ks, val, len);
	return it;
}

int wd_log_reserve(struct wd_node *n, uint32_t cap)
{
	if (cap <= n->items_cap)
		return 0;
	uint32_t nc = n->items_cap ? n->items_cap : 16;
	while (nc < cap)
		nc *= 2;
	struct wd_item **p = realloc(n->items, (size_t)nc * sizeof *p);
	if (!p)
		return WODAN_E_NOMEM;
	n->items = p;
	n->items_cap = nc;
	return 0;
}

int wd_log_insert_item(struct wd_node *n, uint32_t ks, uint32_t idx,
		       struct wd_item *it)
{
	if (wd_log_reserve(n, n->nitems + 1))
		return WODAN_E_NOMEM;
	memmove(n->items + idx + 1, n->items + idx,
		(size_t)(n->nitems - idx) * sizeof *n->items);
	n->items[idx] = it;
	n->nitems++;
	n->log_bytes += wd_item_size(it, ks);
	return 0;
}

int wd_log_put(struct wd_node *n, uint32_t ks, const uint8_t *key,
	       const uint8_t *val, uint32_t len)
{
	int found;
	uint32_t idx = wd_log_find(n, ks, key, &found);
	struct wd_item *it = wd_item_new(ks, key, val, len);
	if (!it)
		return WODAN_E_NOMEM;
	if (found) {
		n->log_bytes -= wd_item_size(n->items[idx], ks);
		free(n->items[idx]);
		n->items[idx] = it;
		n->log_bytes += wd_item_size(it, ks);
		return 0;
	}
	if (wd_log_insert_item(n, ks, idx, it)) {
		free(it);
		return WODAN_E_NOMEM;
	}
	return 0;
}

struct wd_item *wd_log_take(struct wd_node *n, uint32_t ks, uint32_t idx)
{
	struct wd_item *it = n->items[idx];
	memmove(n->items + idx, n->items + idx + 1,
		(size_t)(n->nitems - idx - 1) * sizeof *n->items);
	n->nitems--;
	n->log_bytes -= wd_item_size(it, ks);
	return it;
}

void wd_log_remove(struct wd_node *n, uint32_t ks, uint32_t idx)
{
	free(wd_log_take(n, ks, idx));
}

uint32_t wd_link_route(const struct wd_node *n, uint32_t ks,
		       const uint8_t *key)
{
	uint32_t lo = 0, hi = n->nlinks;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (wd_kcmp(n->lkeys + (size_t)mid * ks, key, ks) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int wd_link_reserve(struct wd_node *n, uint32_t ks, uint32_t cap)
{
	if (cap <= n->links_cap)
		return 0;
	uint32_t nc = n->links_cap ? n->links_cap : 8;
	while (nc < cap)
		nc *= 2;
	uint8_t *k = realloc(n->lkeys, (size_t)nc * ks);
	if (!k)
		return WODAN_E_NOMEM;
	n->lkeys = k;
	uint64_t *a = realloc(n->laddr, (size_t)nc * sizeof *a);
	if (!a)
		return WODAN_E_NOMEM;
	n->laddr = a;
	struct wd_node **c = realloc(n->lchild, (size_t)nc * sizeof *c);
	if (!c)
		return WODAN_E_NOMEM;
	n->lchild = c;
	n->links_cap = nc;
	return 0;
}

int wd_link_insert(struct wd_node *n, uint32_t ks, uint32_t idx,
		   const uint8_t *key, uint64_t addr, struct wd_node *child)
{
	if (wd_link_reserve(n, ks, n->nlinks + 1))
		return WODAN_E_NOMEM;
	uint32_t tail = n->nlinks - idx;
	memmove(n->lkeys + (size_t)(idx + 1) * ks, n->lkeys + (size_t)idx * ks,
		(size_t)tail * ks);
	memmove(n->laddr + idx + 1, n->laddr + idx, tail * sizeof *n->laddr);
	memmove(n->lchild + idx + 1, n->lchild + idx, tail * sizeof *n->lchild);
	memcpy(n->lkeys + (size_t)idx * ks, key, ks);
	n->laddr[idx] = addr;
	n->lchild[idx] = child;
	n->nlinks++;
	return 0;
}
