#!/usr/bin/env python3
"""parse_srt_py.py - the baseline for bench_parse.sh: the Python `srt` library (Debian python3-srt),
what a user would otherwise reach for. Files are read once; prints the median CPU seconds of
parsing them all. Usage: parse_srt_py.py REPEATS FILE..."""
import sys, time, statistics
import logging
import srt
logging.disable(logging.CRITICAL)   # it warns about the files it skips (negative times in CS231n)

reps = int(sys.argv[1])
texts = [open(f, encoding='utf-8-sig', errors='replace').read() for f in sys.argv[2:]]
times, cues = [], 0
for _ in range(reps):
    t0 = time.process_time()
    cues = 0
    for t in texts:
        cues += sum(1 for _ in srt.parse(t, ignore_errors=True))
    times.append(time.process_time() - t0)
print('cues %d median_cpu_s %.4f' % (cues, statistics.median(times)))
