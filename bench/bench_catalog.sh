#!/usr/bin/env bash
# bench_catalog.sh - institution scale: the Portuguese 3Blue1Brown set copied as COURSES courses (200:
# 25,600 videos, ~8,800 hours, ~360k segments; bench/catalog_build.py), one random unit vector per segment
# (bench/catalog_vectors.c, stamped with a random-weight e5-small's fingerprint so the C encoder embeds the
# queries), and then, in one run on this machine:
#   ingest time, RSS and index size; p50/p99 of lexical, dense, hybrid and course-scoped searches in a warm
#   `serve` (sequential requests, response cache off) and in one-shot `aularag search` (model load
#   included); serve RSS after dense queries on 4 workers; uncached lexical /api/search req/s under
#   `wrk -c64`; embeddings through a scripted OpenAI-compatible server (`ingest --embed-url`, one course);
#   and the anchor, stock SQLite FTS5 bm25() OR-queries over the same segments.
# Env: COURSES (200), CAT_DIR (/tmp/aularag-catalog-$COURSES: transcripts, model, index; reused), REINGEST=1
# (rebuild the index even if present), ROUNDS (3 passes over the 40 dev questions), CLI_RUNS (10).
set -u
cd "$(dirname "$0")/.."
AR=${AULARAG_BIN:-$PWD/build/release/aularag}
PY=/usr/bin/python3
COURSES=${COURSES:-200}; ROUNDS=${ROUNDS:-3}; CLI_RUNS=${CLI_RUNS:-10}
CAT=${CAT_DIR:-/tmp/aularag-catalog-$COURSES}
DATA=$PWD/../shared/data
[ -d "$DATA/transcripts-pt-3b1b" ] || { echo "bench_catalog: needs ../shared/data"; exit 1; }
command -v wrk >/dev/null || { echo "bench_catalog: needs wrk (scripts/install-deps.sh --bench)"; exit 1; }
make -s build/release/bench/catalog_vectors >/dev/null || exit 1
mkdir -p "$CAT"; TMP=$(mktemp -d /tmp/aularag-bench-cat-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
row() { printf '%-52s %14s %14s\n' "$@"; }

# ---- the catalog: transcripts, a model for the queries, the index ----
$PY bench/catalog_build.py "$DATA" "$CAT/src" --courses "$COURSES" >/dev/null || exit 1
Q=$CAT/src/questions.txt
M=$CAT/model
if [ ! -f "$M/model.safetensors" ]; then
  grep -vhE -- '-->|^[0-9]+\s*$|^\s*$' "$CAT"/src/c000/*.srt > "$TMP/text.txt"
  $PY tests/tools/make_tokenizer.py --text "$TMP/text.txt" --vocab 8000 --out "$CAT/tok" >/dev/null 2>&1 &&
    $PY tests/tools/make_model.py --preset e5-small --out "$M" --seed 11 --tokenizer "$CAT/tok" >/dev/null 2>&1 ||
    { echo "bench_catalog: could not make the model"; exit 1; }
fi
IX=$CAT/catalog.db
echo "catalog: $COURSES courses of $(($(wc -l < "$CAT/src/manifest.csv") / COURSES)) videos, $(du -sh "$CAT/src" | cut -f1) of SRT; model: random-weight e5-small (dim 384)"
if [ ! -s "$IX" ] || [ "${REINGEST:-0}" = 1 ]; then
  rm -f "$IX" "$IX"-* "$IX".*
  /usr/bin/time -f '%e %M' -o "$TMP/ingest.time" "$AR" ingest -i "$IX" --manifest "$CAT/src/manifest.csv" -q > "$TMP/ingest.out" 2>&1 ||
    { echo "bench_catalog: ingest failed"; tail -5 "$TMP/ingest.out"; exit 1; }
  read -r ing_s ing_kb < "$TMP/ingest.time"
  ingest_line="$(printf '%.0f s, %.0f MB RSS' "$ing_s" "$(echo "$ing_kb / 1024" | bc -l)")"
  ix_bytes=$(du -cb "$IX"* | tail -1 | cut -f1)
  /usr/bin/time -f '%e' -o "$TMP/vec.time" build/release/bench/catalog_vectors "$IX" "$M" > "$TMP/vec.out" 2>&1 ||
    { echo "bench_catalog: vectors failed"; cat "$TMP/vec.out"; exit 1; }
  echo "$ingest_line" > "$CAT/ingest.txt"; echo "$ix_bytes" > "$CAT/ingest_bytes.txt"
else
  ingest_line="$(cat "$CAT/ingest.txt" 2>/dev/null) (from an earlier run; REINGEST=1 to redo)"
  ix_bytes=$(cat "$CAT/ingest_bytes.txt" 2>/dev/null || echo 0)
fi
"$AR" info -i "$IX" | grep -E '^(videos|segments|vectors|size):' | tr -s ' ' | paste -sd' '
echo "(sequential requests over the 40 dev questions x $ROUNDS, after a warm-up pass; one-shot: $CLI_RUNS questions; medians)"
echo
row "what" "aularag" "target"
row "ingest (no embeddings)" "$ingest_line" "~103 s, 28 MB"
row "index size (lexical, before vectors)" "$(echo "$ix_bytes / 1000000" | bc) MB" "~1,140 MB"

# ---- the anchor: stock FTS5 bm25() on the same segments ----
read -r f50 f99 _ <<<"$($PY bench/catalog_fts5.py "$IX" "$CAT/fts5-anchor.db" "$Q" "$ROUNDS")"
row "stock FTS5 bm25() OR-query p50 / p99 (anchor)" "$f50 / $f99 ms" "-"

# ---- warm serve ----
SCOPE=curso-$(printf '%03d' $((COURSES / 2)))
port=$(free_port)
"$AR" serve -i "$IX" --model "$M" --port "$port" --threads 4 --search-cache 0 2>"$TMP/serve.log" &
spid=$!; pids+=("$spid")
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$port/healthz" >/dev/null || { echo "serve did not start"; cat "$TMP/serve.log"; exit 1; }
declare -A P50
serve_row() { # label mode course target
  local r; r=$($PY bench/catalog_client.py "$port" "$Q" "$2" "$ROUNDS" "$3" 1) || { row "$1" "failed" "$4"; return; }
  read -r a b n e <<<"$r"; P50[$1]=$a
  row "$1" "$a / $b ms" "$4"; [ "$e" = 0 ] || echo "  ($e of $n requests failed or returned no segments)"
}
serve_row "serve lexical p50 / p99" lexical - "<= 15 / 60 ms"
serve_row "serve dense p50 / p99" dense - "~19 ms (keep)"
serve_row "serve hybrid p50 / p99" hybrid - "<= 40 ms p50"
serve_row "serve lexical, one course ($SCOPE) p50 / p99" lexical "$SCOPE" "<= unscoped"
serve_row "serve hybrid, one course p50 / p99" hybrid "$SCOPE" "<= unscoped"
# dense queries from 4 clients at once, so every worker has searched; then the process RSS
$PY bench/catalog_client.py "$port" "$Q" dense 1 - 4 >/dev/null
row "serve RSS, 4 workers after dense queries" "$(rss_mb "$spid") MB" "<= 1,300 MB"
# uncached lexical throughput (response cache off): 64 connections, 10 s
$PY - "$Q" "$TMP/search.lua" <<'PYL'
import sys, urllib.parse
qs = [l.strip() for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
with open(sys.argv[2], "w") as f:
    f.write("local qs = {%s}\n" % ",".join('"%s"' % urllib.parse.quote(q) for q in qs))
    f.write('local i = 0\nrequest = function()\n  i = i + 1\n'
            '  return wrk.format("GET", "/api/search?k=10&mode=lexical&q=" .. qs[(i % #qs) + 1])\nend\n')
PYL
rps=$(wrk -t2 -c64 -d10s -s "$TMP/search.lua" "http://127.0.0.1:$port" 2>&1 | awk '/Requests\/sec/ {print $2}')
row "uncached lexical /api/search, wrk -c64" "${rps:-?} req/s" "-"
kill "$spid"; wait "$spid" 2>/dev/null

# ---- one-shot CLI (model load included) ----
cli_row() { # label mode course target
  local walls=() rss=0 i=0 q
  while IFS= read -r q && [ $i -lt "$CLI_RUNS" ]; do
    i=$((i + 1))
    local extra=(); [ "$2" != lexical ] && extra=(--model "$M"); [ "$3" != - ] && extra+=(--course "$3")
    /usr/bin/time -f '%e %M' -o "$TMP/t" "$AR" search -i "$IX" -k 10 --mode "$2" "${extra[@]}" -- "$q" >/dev/null 2>"$TMP/err" ||
      { row "$1" "failed: $(head -c 60 "$TMP/err")" "$4"; return; }
    read -r w k < "$TMP/t"; walls+=("$w"); [ "$k" -gt "$rss" ] && rss=$k
  done < "$Q"
  row "$1" "$(printf '%s\n' "${walls[@]}" | med | awk '{printf "%.0f", $1 * 1000}') ms, $((rss / 1024)) MB" "$4"
}
cli_row "one-shot search lexical: wall p50, max RSS" lexical - "-"
cli_row "one-shot search dense" dense - "-"
cli_row "one-shot search hybrid" hybrid - "<= 400 ms"
cli_row "one-shot search hybrid, one course" hybrid "$SCOPE" "<= unscoped"

# ---- embeddings from a server: one course through a scripted OpenAI-compatible server ----
if "$AR" ingest --help 2>&1 | grep -q -- --embed-url; then
  eport=$(free_port)
  $PY bench/catalog_embed_server.py "$eport" 384 2>"$TMP/emb.log" & epid=$!; pids+=("$epid")
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$eport/health" >/dev/null && break; sleep 0.1; done
  grep -E ',curso-000,' "$CAT/src/manifest.csv" | sed "s#^#$CAT/src/#" > "$TMP/rows"
  { head -1 "$CAT/src/manifest.csv"; sed "s#^$CAT/src/##" "$TMP/rows"; } > "$CAT/src/one-course.csv"
  "$AR" ingest -i "$TMP/one.db" --manifest "$CAT/src/one-course.csv" -q >/dev/null 2>&1
  /usr/bin/time -f '%e' -o "$TMP/e" "$AR" ingest -i "$TMP/one.db" --manifest "$CAT/src/one-course.csv" -q \
    --embed-url "http://127.0.0.1:$eport" --embed-model bench-e5 > "$TMP/e.out" 2>&1
  nseg=$("$AR" info -i "$TMP/one.db" | awk '/^vectors:/ {print $2}')
  row "embeddings via --embed-url (scripted server)" "$(awk -v n="$nseg" -v t="$(cat "$TMP/e")" 'BEGIN {printf "%d seg/s", n / t}')" "-"
fi
echo
echo "ratio lexical p50, stock FTS5 / aularag serve: $(awk -v a="$f50" -v b="${P50[serve lexical p50 / p99]:-0}" 'BEGIN {if (b > 0) printf "%.1fx", a / b; else print "?"}')"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (shared machine: noisy)"
