#!/usr/bin/env python3
"""Run `wodanc bench --json` several times and print the median ops/s of
every phase with all runs (BENCHMARKS.md section 3).

    python3 scripts/bench-median.py WODANC RUNS BENCH-ARGS...

A file device named by --device file:PATH is removed before every run, so
each run formats a fresh image.  Rates are medians; the amplification and
block columns are those of the first run (they repeat exactly).
"""
import json
import os
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    wodanc, runs, extra = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    path = None
    for i, a in enumerate(extra):
        if a == "--device" and i + 1 < len(extra) and \
                extra[i + 1].startswith("file:"):
            path = extra[i + 1][5:]
    res = {}
    for _ in range(runs):
        if path and os.path.exists(path):
            os.remove(path)
        out = subprocess.run([wodanc, "bench", "--json"] + extra,
                             capture_output=True, text=True, check=True)
        for line in out.stdout.splitlines():
            p = json.loads(line)
            res.setdefault(p["phase"], []).append(p)
    for ph, ps in res.items():
        rates = sorted(x["ops_per_sec"] for x in ps)
        first = ps[0]
        print(f"{ph:14s} median {statistics.median(rates):,.0f}  runs "
              f"{[round(x) for x in rates]}  p50 "
              f"{statistics.median(x['p50_us'] or 0 for x in ps)} p99 "
              f"{statistics.median(x['p99_us'] or 0 for x in ps)} WA "
              f"{first['write_amplification']} RA "
              f"{first['read_amplification']} peak_rss_kib "
              f"{max(x['peak_rss_kib'] for x in ps)} flushes "
              f"{first['flushes']} journal_commits "
              f"{first['journal_commits']} reopen_bytes_written "
              f"{first['reopen_bytes_written']}")


if __name__ == "__main__":
    main()
