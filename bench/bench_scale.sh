#!/usr/bin/env bash
# bench_scale.sh - issue 11's institution-sized catalog: N (363000) segments with random unit vectors
# of e5-small's dim (384), a random-weight e5-small model (tests/tools/make_model.py). Compares this
# build with the commit before the shared vector section (BASE, built here from git: every process
# reads all rows through SQLite and builds its own int8 copy; serve keeps one copy per worker):
#  1. one-shot `search --mode dense` wall time and peak RSS (model load included), medians of RUNS
#     interleaved runs, page cache warm (the section mapped from cache);
#  2. `serve --threads 4` RSS after dense queries on every worker;
#  3. dense queries/s from 1, 2 and 4 threads sharing one encoder (this build only: BASE's encoder is
#     not thread-safe); 4. dense top-10 scoped to one course (1800 consecutive ids) vs unscoped.
# Env: BENCH_SCALE_N, BASE (27b0e15), RUNS (5). Needs ~3 GB of disk in /tmp.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${BENCH_SCALE_N:-363000}; BASE=${BASE:-27b0e15}; RUNS=${RUNS:-5}
PY=/usr/bin/python3
T=$(mktemp -d /tmp/aularag-bench-scale-XXXXXX)
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
make -s aularag build/release/bench/scale_index >/dev/null
NEW=$PWD/aularag
mkdir "$T/base" && git archive "$BASE" | tar -x -C "$T/base" && nice make -C "$T/base" -s -j2 aularag >/dev/null 2>&1
OLD=$T/base/aularag
$PY tests/tools/cue_lines.py ../shared/data/transcripts-pt-3b1b 2>/dev/null | head -n 5000 > "$T/text.txt" || true
$PY tests/tools/make_tokenizer.py --text "$T/text.txt" --vocab 500 --out "$T/tok" >/dev/null
$PY tests/tools/make_model.py --preset e5-small --out "$T/model" --tokenizer "$T/tok" >/dev/null
t0=$(date +%s.%N)
build/release/bench/scale_index build "$T/ix.db" "$T/model" "$N"
echo "index: $(awk "BEGIN{printf \"%.0f\", $(date +%s.%N) - $t0}") s to build; $(du -m "$T/ix.db" | cut -f1) MB, section $(du -m "$T/ix.db.vec" | cut -f1) MB"

med() { sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
Q="como o gradiente desce na rede"
echo; echo "1. one-shot: aularag search --mode dense -k 10 (model load included), median of $RUNS"
for bin in OLD NEW; do "${!bin}" search -i "$T/ix.db" --model "$T/model" --mode dense -k 10 "$Q" >/dev/null; done  # warm cache
for r in $(seq "$RUNS"); do
  for bin in OLD NEW; do
    /usr/bin/time -f "%e %M" -o "$T/time" "${!bin}" search -i "$T/ix.db" --model "$T/model" --mode dense -k 10 "$Q" > "$T/out.$bin"
    echo "$(cat "$T/time")" >> "$T/one.$bin"
  done
done
cmp -s "$T/out.OLD" "$T/out.NEW" && same=yes || same=NO
ow=$(cut -d' ' -f1 "$T/one.OLD" | med); nw=$(cut -d' ' -f1 "$T/one.NEW" | med)
orss=$(cut -d' ' -f2 "$T/one.OLD" | med); nrss=$(cut -d' ' -f2 "$T/one.NEW" | med)
printf '%-8s %10s %10s\n' "" "wall s" "RSS MB"
printf '%-8s %10s %10d\n' before "$ow" $((orss / 1024)) now "$nw" $((nrss / 1024))
echo "speed-up $(awk "BEGIN{printf \"%.1f\", $ow / $nw}")x, RSS $(awk "BEGIN{printf \"%.1f\", $orss / $nrss}")x less; same hits: $same"

echo; echo "2. serve --threads 4 --mode dense: RSS after 16 dense queries, 4 at a time"
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for bin in OLD NEW; do
  port=$(free_port)
  "${!bin}" serve -i "$T/ix.db" --model "$T/model" --threads 4 --mode dense --no-cache --search-cache 0 --port "$port" \
    >/dev/null 2>&1 & spid=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
  for round in 1 2 3 4; do
    for i in 1 2 3 4; do curl -sf "http://127.0.0.1:$port/api/search?mode=dense&q=pergunta+$round+$i" >/dev/null & done
    wait $(jobs -p | grep -v "^$spid$") 2>/dev/null || true
  done
  rss=$(awk '/VmRSS/{print int($2/1024)}' "/proc/$spid/status")
  printf '%-8s RSS %6d MB\n' "$([ $bin = OLD ] && echo before || echo now)" "$rss"
  kill "$spid"; wait "$spid" 2>/dev/null || true; spid=
done

echo; echo "3. dense queries/s, threads sharing one encoder and the mapped matrix (5 s each); the encoder's pool"
echo "   with 2 threads (default: one query at a time uses it, others run on their own thread) or 1 (none)"
printf '%-8s %12s %12s %12s %12s\n' threads "q/s pool 2" "p50 ms" "q/s pool 1" "p50 ms"
for t in 1 2 4; do
  a=$(build/release/bench/scale_index qps "$T/ix.db" "$T/model" $t 5 2); b=$(build/release/bench/scale_index qps "$T/ix.db" "$T/model" $t 5 1)
  printf '%-8s %12s %12s %12s %12s\n' $t $(cut -d' ' -f2,3 <<<"$a") $(cut -d' ' -f2,3 <<<"$b")
done

echo; echo "4. dense top-10 over one course (1800 of $N segments) vs all, median of 50 queries"
build/release/bench/scale_index filter "$T/ix.db" 1800 50 | awk '{printf "course %.3f ms, all %.3f ms (%.0fx)\n", $1, $2, $2 / $1}'
echo "($(nproc) cores; before = $BASE, now = $(git rev-parse --short HEAD))"
