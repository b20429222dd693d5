/* spacemap.c -- bitmap of used blocks and the circular allocator. */
#include <stdlib.h>
#include <string.h>
#include "error.h"
#include "spacemap.h"

int wd_sm_init(struct wd_spacemap *sm, uint64_t nblocks)
{
	sm->nblocks = nblocks;
	sm->bits = calloc((nblocks + 63) / 64, sizeof(uint64_t));
	sm->freed = calloc((nblocks + 63) / 64, sizeof(uint64_t));
	if (!sm->bits || !sm->freed) {
		free(sm->bits);
		free(sm->freed);
		sm->bits = sm->freed = NULL;
		return WODAN_E_NOMEM;
	}
	sm->freed_count = 0;
	sm->bits[0] = 1;
	sm->free_count = nblocks - 1;
	sm->cursor = 1;
	sm->pending = NULL;
	sm->npending = sm->pending_cap = 0;
	return 0;
}

void wd_sm_destroy(struct wd_spacemap *sm)
{
	free(sm->bits);
	free(sm->pending);
	free(sm->freed);
	sm->bits = NULL;
	sm->pending = NULL;
	sm->freed = NULL;
	sm->npending = sm->pending_cap = 0;
	sm->freed_count = 0;
}

static void freed_drop(struct wd_spacemap *sm, uint64_t L)
{
	uint64_t m = 1ull << (L & 63);
	if (sm->freed[L >> 6] & m) {
		sm->freed[L >> 6] &= ~m;
		sm->freed_count--;
	}
}

void wd_sm_set(struct wd_spacemap *sm, uint64_t L)
{
	if (!wd_sm_used(sm, L)) {
		sm->bits[L >> 6] |= 1ull << (L & 63);
		sm->free_count--;
	}
	freed_drop(sm, L); /* used again: nothing to trim there */
}

void wd_sm_clear(struct wd_spacemap *sm, uint64_t L)
{
	if (L != 0 && wd_sm_used(sm, L)) {
		sm->bits[L >> 6] &= ~(1ull << (L & 63));
		sm->free_count++;
	}
}

uint64_t wd_sm_next_free(const struct wd_spacemap *sm, uint64_t L)
{
	if (sm->free_count == 0)
		return 0;
	L = L + 1 >= sm->nblocks ? 1 : L + 1;
	for (uint64_t n = 0; n < sm->nblocks; n++) {
		if ((L & 63) == 0 && L + 64 <= sm->nblocks &&
		    sm->bits[L >> 6] == ~0ull) {
			L += 64; /* whole word used */
			n += 63;
		} else if (!wd_sm_used(sm, L)) {
			return L;
		} else {
			L++;
		}
		if (L >= sm->nblocks)
			L = 1;
	}
	return 0;
}

void wd_sm_seek(struct wd_spacemap *sm, uint64_t L)
{
	sm->cursor = L == 0 || L >= sm->nblocks ? 1 : L;
}

uint64_t wd_sm_alloc(struct wd_spacemap *sm)
{
	uint64_t L = sm->cursor;
	if (L == 0 || L >= sm->nblocks)
		L = 1;
	/* the cursor's block itself, else the next free one round the ring */
	if (sm->free_count && wd_sm_used(sm, L))
		L = wd_sm_next_free(sm, L);
	if (sm->free_count == 0 || L == 0)
		return 0;
	wd_sm_set(sm, L);
	wd_sm_seek(sm, L + 1);
	return L;
}

int wd_sm_defer_free(struct wd_spacemap *sm, uint64_t L)
{
	if (sm->npending == sm->pending_cap) {
		uint64_t nc = sm->pending_cap ? sm->pending_cap * 2 : 64;
		uint64_t *p = realloc(sm->pending, nc * sizeof *p);
		if (!p)
			return WODAN_E_NOMEM;
		sm->pending = p;
		sm->pending_cap = nc;
	}
	sm->pending[sm->npending++] = L;
	return 0;
}

void wd_sm_release_pending(struct wd_spacemap *sm)
{
	for (uint64_t i = 0; i < sm->npending; i++) {
		uint64_t L = sm->pending[i];
		if (L == 0 || L >= sm->nblocks || !wd_sm_used(sm, L))
			continue; /* never block 0; never twice */
		wd_sm_clear(sm, L);
		sm->freed[L >> 6] |= 1ull << (L & 63);
		sm->freed_count++;
	}
	sm->npending = 0;
}


uint64_t wd_sm_next_freed(const struct wd_spacemap *sm, uint64_t L)
{
	while (L < sm->nblocks) {
		uint64_t w = sm->freed[L >> 6] >> (L & 63);
		if (w) {
			L += (uint64_t)__builtin_ctzll(w);
			return L < sm->nblocks ? L : sm->nblocks;
		}
		L = (L | 63) + 1; /* rest of this word is empty */
	}
	return sm->nblocks;
}

void wd_sm_forget_freed(struct wd_spacemap *sm, uint64_t L, uint64_t n)
{
	for (uint64_t i = 0; i < n && L + i < sm->nblocks; i++)
		freed_drop(sm, L + i);
}

void wd_sm_forget_all_freed(struct wd_spacemap *sm)
{
	memset(sm->freed, 0, (sm->nblocks + 63) / 64 * sizeof(uint64_t));
	sm->freed_count = 0;
}
