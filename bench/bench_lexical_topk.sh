#!/usr/bin/env bash
# bench_lexical_topk.sh - the exact lexical top-k (aularag's own postings) vs the exhaustive path
# (FTS5 + ar_bm25 scoring every match) vs stock SQLite FTS5 bm25(), on the Portuguese 3Blue1Brown
# transcripts copied LEX_COPIES times (default 30) under other video ids; the 3b1b-pt-dev questions.
# Prints ingest time and peak RSS, then p50/p99 per path (interleaved, same run) and the ratios.
set -eu
cd "$(dirname "$0")/.."
COPIES=${LEX_COPIES:-30}
DATA=${AULARAG_DATA:-$PWD/../shared/data}
SRC=$DATA/transcripts-pt-3b1b
make -s build/release/aularag build/release/bench/lexical_topk >/dev/null
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# one manifest per copy: every transcript of the set, video ids prefixed by the copy
/usr/bin/python3 - "$SRC" "$T" "$COPIES" <<'EOF'
import csv, os, sys
src, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = []
for d in sorted(os.listdir(src)):
    for f in sorted(os.listdir(os.path.join(src, d))):
        p = os.path.join(src, d, f)
        if f.endswith(".srt") and os.path.getsize(p) > 0:
            files.append((p, d))
for c in range(copies):
    with open(os.path.join(out, "m%03d.csv" % c), "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "video_id", "title", "url"])
        for p, d in files:
            w.writerow([p, "c%03d/%s" % (c, d), d, ""])
EOF
echo "ingest: $COPIES copies of $(ls "$SRC" | wc -l) 3b1b videos, one ingest per copy"
t0=$(date +%s.%N)
rss=0
for m in "$T"/m*.csv; do
  r=$( { /usr/bin/time -f '%M' build/release/aularag ingest -q -i "$T/idx.db" --manifest "$m" >/dev/null; } 2>&1 | tail -n 1)
  [ "$r" -gt "$rss" ] && rss=$r
done
t1=$(date +%s.%N)
printf '  %.1f s, peak RSS %d MB, index %d MB\n' "$(echo "$t1 - $t0" | bc)" $((rss / 1024)) $(( $(stat -c %s "$T/idx.db") / 1048576 ))
build/release/bench/lexical_topk "$T/idx.db" "$T/stock.db" "$DATA/qa/3b1b-pt-dev/questions.jsonl" --reps "${LEX_REPS:-5}" --scope 10
