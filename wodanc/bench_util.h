/*
 * bench_util.h -- helpers of `wodanc bench` (cmd_bench.c): the seeded
 * key/value streams shared with other stores' harnesses, lookup orders, a
 * log-linear latency histogram, a nanosecond clock and memory figures.
 *
 * Key and value derivation (stable: other harnesses reproduce it to
 * measure the same work).  G = 0x9e3779b97f4a7c15.  splitmix64 step
 * (dr_splitmix64, fuzz/detrand.h):
 *     s += G; z = s;
 *     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
 *     z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *     output z ^ (z >> 31)
 * A stream seeded with S starts with s = S and yields outputs o1, o2, ...;
 * its bytes are o1 little-endian (8 bytes), then o2, ..., cut at the
 * wanted length.  All arithmetic is modulo 2^64.
 *   - key i (i = 0, 1, ...):          stream S = seed ^ (i * G)
 *   - absent key j (never inserted):  key (2^63 + j), i.e. S = seed ^
 *     ((2^63 | j) * G).  Present keys use i < 2^63, and o1 = mix(S + G) is
 *     a bijection of i, so for keys of 8 bytes or more absent keys never
 *     equal present ones and present keys are all distinct.
 *   - sequential key i (dbbench fillseq): i as a big-endian 64-bit number
 *     in the last 8 bytes, zero bytes before it.
 *   - value of key i, version v (v = 0 first fill, 1 overwrite):
 *     S = seed ^ 0x6a09e667f3bcc909 ^ (v * 0xbb67ae8584caa73b) ^ (i * G);
 *     all zero bytes with --zero-values.
 *   - lookup order of N present keys: the j-th lookup (j = 0 .. N-1) reads
 *     key (j * P + off) mod N, where P is the first number >= (G mod N)
 *     coprime with N, and off = o1 of the stream seed ^ salt, mod N (salt
 *     0x6c6f6f6b7570 "lookup" for index lookup, 0x72656164 "read" for
 *     dbbench readrandom, 0x6f76657277 "overw" for dbbench overwrite).
 *   - mixed phase op j: r = o1 of the stream seed ^ 0x6d69786564 ("mixed")
 *     ^ (j * G); an insert of the next new key (N, N+1, ...) when r is odd,
 *     else a lookup of key (r >> 1) mod (keys present now).
 */
#ifndef WODANC_BENCH_UTIL_H
#define WODANC_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "../fuzz/detrand.h"   /* dr_splitmix64: the step above */

#define BENCH_GOLDEN DR_GOLDEN
#define BENCH_ABSENT_BASE 0x8000000000000000ull
#define BENCH_VALUE_SALT 0x6a09e667f3bcc909ull
#define BENCH_VERSION_MUL 0xbb67ae8584caa73bull
#define BENCH_SALT_LOOKUP 0x6c6f6f6b7570ull
#define BENCH_SALT_READ 0x72656164ull
#define BENCH_SALT_OVERWRITE 0x6f76657277ull
#define BENCH_SALT_MIXED 0x6d69786564ull

/* len bytes of the stream seeded with `state` into buf. */
void bench_stream(uint64_t state, uint8_t *buf, size_t len);

/* Key i (random stream); absent keys are bench_key(seed, 2^63 + j). */
void bench_key(uint64_t seed, uint64_t i, uint8_t *buf, size_t len);

/* Sequential key i: big-endian i right-aligned, zero padded (len >= 8). */
void bench_seq_key(uint64_t i, uint8_t *buf, size_t len);

/* Value of key i, version v; zeros when `zero`. */
void bench_value(uint64_t seed, uint64_t i, uint64_t v, int zero,
		 uint8_t *buf, size_t len);

/* Lookup order: a bijection of [0, n) (see above). */
struct bench_perm {
	uint64_t n, mul, off;
};

void bench_perm_init(struct bench_perm *p, uint64_t n, uint64_t seed,
		     uint64_t salt);

static inline uint64_t bench_perm_at(const struct bench_perm *p, uint64_t j)
{
	return (uint64_t)(((unsigned __int128)j * p->mul + p->off) % p->n);
}

/* First output of the stream seeded with `state`. */
static inline uint64_t bench_first(uint64_t state)
{
	return dr_splitmix64(&state);
}

/* ------------------------------------------------------ latency histogram */

/* Log-linear buckets in nanoseconds: exact below 64 ns, then 64 buckets per
 * power of two (at most 1/64 = 1.6 % relative error). */
#define BENCH_HIST_SUB 64
#define BENCH_HIST_BUCKETS (BENCH_HIST_SUB + 58 * BENCH_HIST_SUB)

struct bench_hist {
	uint64_t count, sum_ns, min_ns, max_ns;
	uint64_t b[BENCH_HIST_BUCKETS];
};

void bench_hist_reset(struct bench_hist *h);

static inline void bench_hist_add(struct bench_hist *h, uint64_t ns)
{
	unsigned idx;

	if (ns < BENCH_HIST_SUB) {
		idx = (unsigned)ns;
	} else {
		unsigned e = 63u - (unsigned)__builtin_clzll(ns); /* >= 6 */
		idx = BENCH_HIST_SUB + (e - 6) * BENCH_HIST_SUB +
		      (unsigned)((ns >> (e - 6)) - BENCH_HIST_SUB);
	}
	h->b[idx]++;
	h->count++;
	h->sum_ns += ns;
	if (ns < h->min_ns)
		h->min_ns = ns;
	if (ns > h->max_ns)
		h->max_ns = ns;
}

/* The q-quantile (0 < q <= 1) in nanoseconds: the middle of the bucket
 * holding the ceil(q * count)-th smallest sample, clamped to [min, max].
 * 0 when empty. */
double bench_hist_quantile(const struct bench_hist *h, double q);

/* ------------------------------------------------------------ clock, memory */

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bench_now_ns(void);

/* Peak resident set size of the process so far (getrusage), KiB. */
uint64_t bench_peak_rss_kib(void);

/* Current resident set size (/proc/self/statm), KiB; 0 if unknown. */
uint64_t bench_rss_kib(void);

#endif /* WODANC_BENCH_UTIL_H */
