/* node.c -- in-memory node: per-child sorted buckets of logged items and
 * sorted links (see node.h). */
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "keys.h"
#include "node.h"
#include "wdassert.h"

struct wd_node *wd_node_new(uint32_t ks, const uint8_t *lo, const uint8_t *hi,
			    uint32_t rdepth, int is_root)
{
	struct wd_node *n = calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->lo = calloc(2, ks);
	if (!n->lo || wd_link_reserve(n, ks, 1)) {
		/* wd_link_reserve may have allocated some of its arrays */
		free(n->lkeys);
		free(n->laddr);
		free(n->lchild);
		free(n->bk);
		free(n->lo);
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
	for (uint32_t b = 0; b < wd_node_nbuckets(n); b++) {
		for (uint32_t i = 0; i < n->bk[b].n; i++)
			free(n->bk[b].sl[i].it);
		free(n->bk[b].sl);
	}
	free(n->bk);
	free(n->lkeys);
	free(n->laddr);
	free(n->lchild);
	free(n->lo);
	free(n);
}

uint64_t wd_node_mem(const struct wd_node *n, uint32_t ks)
{
	/* malloc overhead of an item is about 16 bytes; slot arrays grow by
	 * doubling, so count 1.5 slots (16 bytes each) per item */
	return sizeof *n + 2ull * ks + n->log_bytes + 40ull * n->nitems +
	       (uint64_t)n->links_cap * (ks + 16 + sizeof(struct wd_bucket));
}

uint64_t wd_node_mem_max(const struct wd_geom *g)
{
	uint32_t ks = g->ks;
	uint64_t items = g->block_end / (ks + 2u);
	uint64_t links = 2ull * (g->cmax + 1) + 8;
	return sizeof(struct wd_node) + 2ull * ks + g->block_end + 40 * items +
	       links * (ks + 16 + sizeof(struct wd_bucket));
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

uint32_t wd_node_bucket_of(const struct wd_node *n, uint32_t ks,
			   const uint8_t *key)
{
	if (!n->nlinks)
		return 0;
	uint32_t i = wd_link_route(n, ks, key);
	return i < n->nlinks ? i : n->nlinks - 1;
}

uint32_t wd_bucket_find(const struct wd_bucket *b, uint32_t ks,
			const uint8_t *key, int *found)
{
	uint64_t kp = wd_key_pfx(key, ks);
	uint32_t lo = 0, hi = b->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = wd_slot_cmp(&b->sl[mid], kp, key, ks);
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

struct wd_item *wd_log_get(const struct wd_node *n, uint32_t ks,
			   const uint8_t *key)
{
	const struct wd_bucket *b = &n->bk[wd_node_bucket_of(n, ks, key)];
	int found;
	uint32_t i = wd_bucket_find(b, ks, key, &found);
	return found ? b->sl[i].it : NULL;
}

struct wd_item *wd_item_new(uint32_t ks, const uint8_t *key,
			    const uint8_t *val, uint32_t len)
{
	struct wd_item *it = malloc(sizeof *it + ks + 2 + len);
	if (!it)
		return NULL;
	it->len = (uint16_t)len;
	memcpy(it->data, key, ks);
	wd_put16(it->data + ks, (uint16_t)len);
	if (len)
		memcpy(it->data + ks + 2, val, len);
	return it;
}

int wd_bucket_reserve(struct wd_bucket *b, uint32_t cap)
{
	if (cap <= b->cap)
		return 0;
	uint32_t nc = b->cap ? b->cap : 8;
	while (nc < cap)
		nc *= 2;
	struct wd_slot *p = realloc(b->sl, (size_t)nc * sizeof *p);
	if (!p)
		return WODAN_E_NOMEM;
	b->sl = p;
	b->cap = nc;
	return 0;
}

int wd_log_put(struct wd_node *n, uint32_t ks, const uint8_t *key,
	       const uint8_t *val, uint32_t len)
{
	struct wd_bucket *b = &n->bk[wd_node_bucket_of(n, ks, key)];
	int found;
	uint32_t idx = wd_bucket_find(b, ks, key, &found);
	return wd_log_put_at(n, b, idx, found, ks, key, val, len);
}

int wd_log_put_at(struct wd_node *n, struct wd_bucket *b, uint32_t idx,
		  int found, uint32_t ks, const uint8_t *key,
		  const uint8_t *val, uint32_t len)
{
	if (!found && wd_bucket_reserve(b, b->n + 1))
		return WODAN_E_NOMEM;
	struct wd_item *it = wd_item_new(ks, key, val, len);
	if (!it)
		return WODAN_E_NOMEM;
	uint64_t sz = wd_item_size(it, ks);
	if (found) {
		uint64_t old = wd_item_size(b->sl[idx].it, ks);
		free(b->sl[idx].it);
		b->sl[idx].it = it;
		b->bytes += sz - old;
		n->log_bytes += sz - old;
		return 0;
	}
	memmove(b->sl + idx + 1, b->sl + idx,
		(size_t)(b->n - idx) * sizeof *b->sl);
	b->sl[idx] = wd_slot_of(it, ks);
	b->n++;
	b->bytes += sz;
	n->nitems++;
	n->log_bytes += sz;
	return 0;
}

int wd_log_del(struct wd_node *n, uint32_t ks, const uint8_t *key)
{
	struct wd_bucket *b = &n->bk[wd_node_bucket_of(n, ks, key)];
	int found;
	uint32_t idx = wd_bucket_find(b, ks, key, &found);
	if (!found)
		return 0;
	uint64_t sz = wd_item_size(b->sl[idx].it, ks);
	free(b->sl[idx].it);
	memmove(b->sl + idx, b->sl + idx + 1,
		(size_t)(b->n - idx - 1) * sizeof *b->sl);
	b->n--;
	b->bytes -= sz;
	n->nitems--;
	n->log_bytes -= sz;
	return 1;
}

struct wd_item *wd_node_item(const struct wd_node *n, uint32_t idx)
{
	for (uint32_t b = 0; b < wd_node_nbuckets(n); b++) {
		if (idx < n->bk[b].n)
			return n->bk[b].sl[idx].it;
		idx -= n->bk[b].n;
	}
	return NULL;
}

int wd_node_set_log(struct wd_node *n, uint32_t ks, struct wd_item **items,
		    uint32_t count)
{
	uint32_t nb = wd_node_nbuckets(n);
	/* sizes first, so a failure leaves n unchanged */
	uint32_t j = 0;
	for (uint32_t b = 0; b < nb; b++) {
		uint32_t s = j;
		if (n->nlinks && b + 1 < nb)
			while (j < count &&
			       wd_kcmp(items[j]->data, wd_link_key(n, ks, b), ks) <= 0)
				j++;
		else
			j = count;
		if (wd_bucket_reserve(&n->bk[b], n->bk[b].n + (j - s)))
			return WODAN_E_NOMEM;
	}
	j = 0;
	for (uint32_t b = 0; b < nb; b++) {
		struct wd_bucket *bk = &n->bk[b];
		while (j < count &&
		       (!n->nlinks || b + 1 == nb ||
			wd_kcmp(items[j]->data, wd_link_key(n, ks, b), ks) <= 0)) {
			uint64_t sz = wd_item_size(items[j], ks);
			bk->sl[bk->n++] = wd_slot_of(items[j++], ks);
			bk->bytes += sz;
			n->log_bytes += sz;
			n->nitems++;
		}
	}
	return 0;
}

uint32_t wd_bucket_gallop(const struct wd_bucket *b, uint32_t from,
			  uint64_t kp, const uint8_t *key, uint32_t ks)
{
	/* exponential steps from `from`, then a binary search of the last
	 * step: O(log distance) (Bentley and Yao's unbounded search) */
	uint32_t lo = from, hi = from, step = 1, n = b->n;
	while (hi < n && wd_slot_cmp(&b->sl[hi], kp, key, ks) < 0) {
		lo = hi + 1;
		hi = step > n - hi ? n : hi + step;
		step *= 2;
	}
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (wd_slot_cmp(&b->sl[mid], kp, key, ks) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Merge src[0..cnt) (sorted) into bucket b, writing the result into out
 * (b->n + cnt slots, allocated by the caller); cannot fail.  A spill
 * brings a few hundred items into a bucket of thousands, so the existing
 * runs between incoming keys are found by galloping and copied whole,
 * instead of comparing every existing item (a branchy merge was 23 % of
 * an insert profile). */
static void merge_bucket(struct wd_node *n, struct wd_bucket *b, uint32_t ks,
			 const struct wd_slot *src, uint32_t cnt,
			 int drop_tombs, struct wd_slot *out)
{
	uint32_t alloc = b->n + cnt;
	uint32_t i = 0, o = 0;
	uint64_t bytes = b->bytes;
	for (uint32_t j = 0; j < cnt; j++) {
		struct wd_item *it = src[j].it;
		uint32_t p = wd_bucket_gallop(b, i, src[j].pfx, it->data, ks);
		if (p > i)
			memcpy(out + o, b->sl + i, (size_t)(p - i) * sizeof *out);
		o += p - i;
		i = p;
		if (i < b->n && wd_slot_cmp(&b->sl[i], src[j].pfx, it->data,
					    ks) == 0) {
			/* the incoming item is newer */
			bytes -= wd_item_size(b->sl[i].it, ks);
			free(b->sl[i++].it);
		}
		if (drop_tombs && it->len == 0) {
			free(it); /* nothing older lies below a leaf */
			continue;
		}
		out[o++] = src[j];
		bytes += wd_item_size(it, ks);
	}
	if (b->n > i)
		memcpy(out + o, b->sl + i, (size_t)(b->n - i) * sizeof *out);
	o += b->n - i;
	n->nitems = n->nitems - b->n + o;
	n->log_bytes = n->log_bytes - b->bytes + bytes;
	free(b->sl);
	b->sl = out;
	b->n = o;
	b->cap = alloc ? alloc : 1;
	b->bytes = bytes;
}

/* End of the run of src[j..count) that routes to bucket b of n. */
static uint32_t run_end(const struct wd_node *n, uint32_t ks,
			const struct wd_slot *src, uint32_t count, uint32_t j,
			uint32_t b)
{
	uint32_t e = j + 1;
	if (n->nlinks && b + 1 < n->nlinks) {
		const uint8_t *lk = wd_link_key(n, ks, b);
		uint64_t lp = wd_key_pfx(lk, ks);
		while (e < count && wd_slot_cmp(&src[e], lp, lk, ks) <= 0)
			e++;
	} else {
		e = count;
	}
	return e;
}

int wd_log_merge(struct wd_node *n, uint32_t ks, const struct wd_slot *src,
		 uint32_t count, int tombstones)
{
	int drop = tombstones && n->nlinks == 0;
	/* all or nothing: every output array is allocated before any item
	 * moves, so a failure leaves n and the items untouched */
	uint32_t runs = 0;
	for (uint32_t j = 0; j < count; runs++)
		j = run_end(n, ks, src, count, j,
			    wd_node_bucket_of(n, ks, src[j].it->data));
	struct wd_slot **outs = calloc(runs ? runs : 1, sizeof *outs);
	if (!outs)
		return WODAN_E_NOMEM;
	uint32_t r = 0;
	for (uint32_t j = 0; j < count; r++) {
		uint32_t b = wd_node_bucket_of(n, ks, src[j].it->data);
		uint32_t e = run_end(n, ks, src, count, j, b);
		size_t sz = (size_t)n->bk[b].n + (e - j);
		outs[r] = malloc(sz * sizeof **outs);
		if (!outs[r]) {
			for (uint32_t k = 0; k < r; k++)
				free(outs[k]);
			free(outs);
			return WODAN_E_NOMEM;
		}
		j = e;
	}
	r = 0;
	for (uint32_t j = 0; j < count; r++) {
		uint32_t b = wd_node_bucket_of(n, ks, src[j].it->data);
		uint32_t e = run_end(n, ks, src, count, j, b);
		merge_bucket(n, &n->bk[b], ks, src + j, e - j, drop, outs[r]);
		j = e;
	}
	free(outs);
	return 0;
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
	struct wd_bucket *b = realloc(n->bk, (size_t)nc * sizeof *b);
	if (!b)
		return WODAN_E_NOMEM;
	memset(b + n->links_cap, 0, (size_t)(nc - n->links_cap) * sizeof *b);
	n->bk = b;
	n->links_cap = nc;
	return 0;
}

int wd_link_insert(struct wd_node *n, uint32_t ks, uint32_t idx,
		   const uint8_t *key, uint64_t addr, struct wd_node *child)
{
	if (wd_link_reserve(n, ks, n->nlinks + 1))
		return WODAN_E_NOMEM;
	if (n->nlinks) {
		/* split bucket idx (range it cuts) at key: items <= key move
		 * to a new bucket at idx.  A link appended above the last one
		 * cuts no range: its bucket starts empty (the last bucket's
		 * items are all <= its link key, N7) */
		struct wd_bucket *old = &n->bk[idx < n->nlinks ? idx : n->nlinks - 1];
		int found = 0;
		uint32_t m = idx < n->nlinks
				     ? wd_bucket_find(old, ks, key, &found) : 0;
		if (found)
			m++;
		struct wd_bucket nb = { 0 };
		if (m && wd_bucket_reserve(&nb, m))
			return WODAN_E_NOMEM;
		for (uint32_t j = 0; j < m; j++) {
			nb.sl[j] = old->sl[j];
			nb.bytes += wd_item_size(old->sl[j].it, ks);
		}
		nb.n = m;
		if (m)
			memmove(old->sl, old->sl + m,
				(size_t)(old->n - m) * sizeof *old->sl);
		old->n -= m;
		old->bytes -= nb.bytes;
		memmove(n->bk + idx + 1, n->bk + idx,
			(size_t)(n->nlinks - idx) * sizeof *n->bk);
		n->bk[idx] = nb;
	}
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

#if WD_ASSERTS_ON
void wd_node_assert_valid(const struct wd_node *n, uint32_t ks)
{
	/* (mkfs encodes a stack node without buckets or bounds) */
	if (!n->bk)
		return;
	WD_ASSERT(!n->nlinks == !n->rdepth, "N4: links iff rdepth > 0");
	uint64_t bytes = 0, items = 0;
	for (uint32_t i = 0; i < n->nlinks; i++) {
		WD_ASSERT(i == 0 || memcmp(wd_link_key(n, ks, i - 1),
					   wd_link_key(n, ks, i), ks) < 0,
			  "N2: link keys strictly ascending");
		const struct wd_node *c = n->lchild[i];
		WD_ASSERT(!c || (c->parent == n &&
				 memcmp(c->hi, wd_link_key(n, ks, i), ks) == 0),
			  "N5: cached child's parent and hi");
	}
	WD_ASSERT(!n->nlinks || memcmp(wd_link_key(n, ks, n->nlinks - 1),
				       n->hi, ks) == 0,
		  "N2: the last link key is hi");
	for (uint32_t b = 0; b < wd_node_nbuckets(n); b++) {
		const struct wd_bucket *bk = &n->bk[b];
		const uint8_t *lo = n->nlinks ? wd_link_lo(n, ks, b)
					      : (n->has_lo ? n->lo : NULL);
		const uint8_t *hi = n->nlinks ? wd_link_key(n, ks, b) : n->hi;
		uint64_t bb = 0;
		for (uint32_t i = 0; i < bk->n; i++) {
			const struct wd_item *it = bk->sl[i].it;
			const uint8_t *k = wd_item_key(it);
			WD_ASSERT(bk->sl[i].pfx == wd_key_pfx(k, ks),
				  "N8: slot prefix");
			WD_ASSERT(i == 0 || memcmp(wd_item_key(bk->sl[i - 1].it),
						   k, ks) < 0,
				  "N1: bucket strictly ascending");
			WD_ASSERT((!lo || memcmp(lo, k, ks) < 0) &&
				  memcmp(k, hi, ks) <= 0,
				  "N1/N7: key within its link's range");
			bb += wd_item_size(it, ks);
		}
		WD_ASSERT(bb == bk->bytes, "N3: bucket bytes");
		bytes += bb;
		items += bk->n;
	}
	WD_ASSERT(bytes == n->log_bytes, "N3: log_bytes");
	WD_ASSERT(items == n->nitems, "N7: nitems is the buckets' total");
}
#else
void wd_node_assert_valid(const struct wd_node *n, uint32_t ks)
{
	(void)n;
	(void)ks;
}
#endif
