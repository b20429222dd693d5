/*
 * bench_util.c -- key/value streams, lookup orders, latency histogram,
 * clock and memory figures of `wodanc bench` (see bench_util.h for the
 * exact derivation of keys and values).
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "bench_util.h"

/* ------------------------------------------------------------- streams */

void bench_stream(uint64_t state, uint8_t *buf, size_t len)
{
	while (len >= 8) {
		uint64_t z = dr_splitmix64(&state);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		memcpy(buf, &z, 8);
#else
		int k;

		for (k = 0; k < 8; k++)
			buf[k] = (uint8_t)(z >> (8 * k));
#endif
		buf += 8;
		len -= 8;
	}
	if (len) {
		uint64_t z = dr_splitmix64(&state);
		size_t k;

		for (k = 0; k < len; k++)
			buf[k] = (uint8_t)(z >> (8 * k));
	}
}

void bench_key(uint64_t seed, uint64_t i, uint8_t *buf, size_t len)
{
	bench_stream(seed ^ (i * BENCH_GOLDEN), buf, len);
}

void bench_seq_key(uint64_t i, uint8_t *buf, size_t len)
{
	size_t k;

	memset(buf, 0, len);
	for (k = 0; k < 8 && k < len; k++)
		buf[len - 1 - k] = (uint8_t)(i >> (8 * k));
}

void bench_value(uint64_t seed, uint64_t i, uint64_t v, int zero,
		 uint8_t *buf, size_t len)
{
	if (zero) {
		memset(buf, 0, len);
		return;
	}
	bench_stream(seed ^ BENCH_VALUE_SALT ^ (v * BENCH_VERSION_MUL) ^
		     (i * BENCH_GOLDEN), buf, len);
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
	while (b) {
		uint64_t t = a % b;
		a = b;
		b = t;
	}
	return a;
}

void bench_perm_init(struct bench_perm *p, uint64_t n, uint64_t seed,
		     uint64_t salt)
{
	p->n = n ? n : 1;
	p->mul = BENCH_GOLDEN % p->n;
	while (gcd64(p->mul, p->n) != 1)
		p->mul++; /* terminates: mul = n + 1 ... is coprime at worst */
	p->off = bench_first(seed ^ salt) % p->n;
}

/* ----------------------------------------------------------- histogram */

void bench_hist_reset(struct bench_hist *h)
{
	memset(h, 0, sizeof *h);
	h->min_ns = UINT64_MAX;
}

/* Lower bound and width of bucket idx. */
static void bucket_range(unsigned idx, double *lo, double *width)
{
	unsigned e, sub;

	if (idx < BENCH_HIST_SUB) {
		*lo = idx;
		*width = 1;
		return;
	}
	e = (idx - BENCH_HIST_SUB) / BENCH_HIST_SUB + 6;
	sub = (idx - BENCH_HIST_SUB) % BENCH_HIST_SUB;
	*lo = (double)((uint64_t)(BENCH_HIST_SUB + sub) << (e - 6));
	*width = (double)(1ull << (e - 6));
}

double bench_hist_quantile(const struct bench_hist *h, double q)
{
	uint64_t rank, cum = 0;
	unsigned i;

	if (!h->count)
		return 0;
	rank = (uint64_t)(q * (double)h->count + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > h->count)
		rank = h->count;
	for (i = 0; i < BENCH_HIST_BUCKETS; i++) {
		cum += h->b[i];
		if (cum >= rank) {
			double lo, w, v;
			bucket_range(i, &lo, &w);
			v = w > 1 ? lo + w / 2 : lo;
			if (v < (double)h->min_ns)
				v = (double)h->min_ns;
			if (v > (double)h->max_ns)
				v = (double)h->max_ns;
			return v;
		}
	}
	return (double)h->max_ns;
}

/* ------------------------------------------------------- clock, memory */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t bench_peak_rss_kib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (uint64_t)ru.ru_maxrss; /* Linux: KiB */
}

uint64_t bench_rss_kib(void)
{
	unsigned long long size, resident;
	long page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/statm", "r");
	int ok;

	if (!f)
		return 0;
	ok = fscanf(f, "%llu %llu", &size, &resident) == 2;
	fclose(f);
	if (!ok || page <= 0)
		return 0;
	return resident * (unsigned long long)page / 1024;
}
