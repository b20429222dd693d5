#!/usr/bin/env bash
# scripts/coverage.sh -- gcov line coverage of lib/ after `make check`.
#
#   bash scripts/coverage.sh [BUILD-DIR]      (default build-cov)
#
# Configures BUILD-DIR (a VPATH build) with --coverage when it has no
# Makefile yet, runs `make check` there (failures are reported but the
# figure is still computed), then prints one line per lib/*.c file and the
# total: "lib line coverage: P% (X of N lines)".  Needs gcov (gcc).
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bd=${1:-build-cov}
case $bd in /*) ;; *) bd=$top/$bd ;; esac
mkdir -p "$bd"
cd "$bd" || exit 1
if [ ! -f Makefile ]; then
	"$top/configure" -q CFLAGS="-O0 -g --coverage" LDFLAGS="--coverage" || exit 1
fi
find . -name '*.gcda' -delete
make -j"${JOBS:-2}" >/dev/null || exit 1
make -j"${JOBS:-2}" check >/dev/null 2>&1 || echo "coverage: note: make check had failures" >&2
objdir=$(dirname "$(find . -path '*lib*' -name 'tree.gcda' | head -1)")
[ -n "$objdir" ] && [ "$objdir" != . ] || { echo "coverage: no lib/*.gcda found" >&2; exit 1; }
total=0 covered=0
for src in $(find "$top/lib" -name '*.c' | sort); do
	base=lib/$(basename "$src")
	line=$(gcov -n -o "$objdir" "$src" 2>/dev/null |
	       awk -v f="$base'" 'index($0, "File ") == 1 && substr($0, length($0) - length(f) + 1) == f {getline; print; exit}')
	[ -n "$line" ] || continue
	pct=${line#*:}; pct=${pct%%%*}; n=${line##* }
	c=$(awk -v p="$pct" -v n="$n" 'BEGIN { printf "%d", p * n / 100 + 0.5 }')
	printf '%-22s %6s%% of %5d lines\n' "${src#$top/}" "$pct" "$n"
	total=$((total + n)); covered=$((covered + c))
done
awk -v c="$covered" -v t="$total" 'BEGIN { printf "lib line coverage: %.2f%% (%d of %d lines)\n", 100 * c / t, c, t }'
