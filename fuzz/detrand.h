/*
 * detrand.h -- deterministic randomness and a reference CRC for the code
 * outside the library that must not depend on its internals: the random
 * operation model (fuzz/opmodel.c), the image exercise, `wodanc fuzz` and
 * `wodanc bench`.  Tests keep their own independent copies (an oracle must
 * not share code with what it checks).
 *
 * splitmix64 (stable: `wodanc bench` documents its key streams with it and
 * other harnesses reproduce them).  G = 0x9e3779b97f4a7c15:
 *     s += G; z = s;
 *     z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
 *     z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *     output z ^ (z >> 31)
 * All arithmetic modulo 2^64.  Thread-safe (the state is the caller's).
 */
#ifndef WODAN_FUZZ_DETRAND_H
#define WODAN_FUZZ_DETRAND_H

#include <stddef.h>
#include <stdint.h>

#define DR_GOLDEN 0x9e3779b97f4a7c15ull

/* One splitmix64 step on *s: advances the state, returns the output. */
static inline uint64_t dr_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += DR_GOLDEN);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A number in [0, n) (modulo bias accepted: n is small); 0 without a
 * step when n is 0. */
static inline uint64_t dr_below(uint64_t *s, uint64_t n)
{
	return n ? dr_splitmix64(s) % n : 0;
}

/*
 * Standard CRC-32C (Castagnoli, reflected polynomial 0x82f63b78, initial
 * value and final xor 0xffffffff) of the n bytes at p, computed with a
 * 256-entry table built bitwise on first use (slow and simple: used to
 * recognise valid trailers, never on a hot path).  A Wodan unit whose last
 * 4 bytes are its CRC has dr_crc32c(unit, len) == 0xffffffff (the residue
 * of doc/SPEC.md §4's trailer).  Thread-safe after the first call (the
 * table is written once, with the same values, by whichever call is
 * first).
 */
uint32_t dr_crc32c(const uint8_t *p, size_t n);

#endif
