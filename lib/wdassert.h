/*
 * wdassert.h -- internal invariant checks (internal).
 *
 * WD_ASSERT(cond, what) checks an invariant of lib/node.h (N1..N8) or
 * lib/cache.h (C1..C6) at a point where it must hold.  It is compiled in
 * when WD_ASSERTS is defined -- configure --enable-sanitizers adds
 * -DWD_ASSERTS, so the sanitizer build and CI run with it -- and is then
 * fatal: a message naming the rule, file and line on stderr, then abort().
 * Otherwise it is a no-op that does not evaluate cond (sizeof keeps the
 * names used, so no unused-variable warnings).  Only cheap checks belong
 * here (O(1) or O(depth) per call, O(node) where the caller is O(node)
 * anyway); wd_cache_check is the expensive whole-cache verification.
 */
#ifndef WD_WDASSERT_H
#define WD_WDASSERT_H

#ifdef WD_ASSERTS
void wd_assert_fail(const char *cond, const char *what, const char *file,
		    int line) __attribute__((noreturn));
#define WD_ASSERT(cond, what)                                                \
	((cond) ? (void)0 : wd_assert_fail(#cond, what, __FILE__, __LINE__))
#define WD_ASSERTS_ON 1
#else
#define WD_ASSERT(cond, what) ((void)sizeof(!(cond)))
#define WD_ASSERTS_ON 0
#endif

#endif
