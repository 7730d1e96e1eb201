#!/usr/bin/env bash
# bench_server.sh - `aularag serve` under load: wrk (64 connections, loopback) against /api/search
# (lexical) on the real 3Blue1Brown transcripts; requests/s, p50/p99 and errors, median of RUNS runs;
# RSS before/after >= 100k requests (memory growth); and the same load on what a user would
# otherwise write: a Python stdlib ThreadingHTTPServer over SQLite FTS5 (bench/server_baseline.py).
# Also the CPU cost of one search + JSON in-process (bench/server_search_cpu.c), and of a static file
# over HTTP, to show where the time goes. Env: AULARAG_BIN, MEM_REQUESTS (100000), RUNS (3), DURATION (10 s), CONNS (64), THREADS (server workers, 4).
set -u
cd "$(dirname "$0")/.."
AR=${AULARAG_BIN:-$PWD/build/release/aularag}
RUNS=${RUNS:-3}; DURATION=${DURATION:-10}; CONNS=${CONNS:-64}; THREADS=${THREADS:-4}
MEM_REQUESTS=${MEM_REQUESTS:-100000}   # requests for the memory check (a soak: 300000 or more)
DATA=$PWD/../shared/data/transcripts-pt-3b1b
[ -d "$DATA" ] || { echo "bench_server: needs ../shared/data/transcripts-pt-3b1b"; exit 1; }
command -v wrk >/dev/null || { echo "bench_server: needs wrk (apt install wrk)"; exit 1; }
TMP=$(mktemp -d /tmp/aularag-bench-srv-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$TMP"; }
trap cleanup EXIT

"$AR" ingest -i "$TMP/idx.db" --quiet "$DATA" >/dev/null 2>&1
[ -s "$TMP/idx.db" ] || { echo "bench_server: ingest failed"; exit 1; }
"$AR" info -i "$TMP/idx.db" | grep -E '^(videos|segments):' | tr -s ' ' | paste -sd' '

# Student-style questions, URL-encoded once, rotated by the wrk script.
cat > "$TMP/queries.txt" <<'Q'
o que é uma rede neural
como funciona a retropropagação
o que é o gradiente descendente
para que serve a função de custo
o que é um autovetor
como calcular o determinante de uma matriz
o que significa uma transformação linear
qual a intuição da derivada
o que é a regra da cadeia
como funciona o mecanismo de atenção
o que é um transformer
por que a série de Fourier funciona
o que é a integral
qual a relação entre seno e cosseno
o que é um número complexo
como funciona o produto vetorial
o que é a mudança de base
o que é probabilidade condicional
como funciona o teorema de Bayes
o que é entropia
Q
/usr/bin/python3 - "$TMP/queries.txt" "$TMP/search.lua" <<'PY'
import sys, urllib.parse
qs = [l.strip() for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
with open(sys.argv[2], "w") as f:
    f.write("local qs = {%s}\n" % ",".join('"%s"' % urllib.parse.quote(q) for q in qs))
    f.write('local i = 0\nrequest = function()\n  i = i + 1\n'
            '  return wrk.format("GET", "/api/search?k=10&mode=lexical&q=" .. qs[(i % #qs) + 1])\nend\n')
PY

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() { for _ in $(seq 100); do curl -sf "http://127.0.0.1:$1/healthz" >/dev/null && return 0; sleep 0.1; done; return 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # user + system time of the server process
HZ=$(getconf CLK_TCK)
# one wrk run -> "rps p50_ms p99_ms requests errors non2xx" (errors = non-2xx + socket errors/timeouts)
run_wrk() { # port duration
  local out; out=$(wrk -t2 -c"$CONNS" -d"$2"s --latency -s "$TMP/search.lua" "http://127.0.0.1:$1" 2>&1)
  /usr/bin/python3 - "$out" <<'PY'
import re, sys
o = sys.argv[1]
def ms(tag):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % tag, o, re.M)
    if not m: return float("nan")
    return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1))
req = int(re.search(r"(\d+) requests in", o).group(1))
sock = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", o))
m = re.search(r"Non-2xx or 3xx responses: (\d+)", o)
bad = int(m.group(1)) if m else 0
print("%.0f %.2f %.2f %d %d %d" % (rps, ms("50%"), ms("99%"), req, bad + sock, bad))
PY
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

bench_one() { # name port pid -> prints a table row, sets LAST_RPS
  local name=$1 port=$2 pid=$3
  # the script must load (else wrk silently requests "/") and the endpoint must answer with segments
  if wrk -t1 -c1 -d1s -s "$TMP/search.lua" "http://127.0.0.1:$port" 2>&1 | grep -q 'lua'; then
    echo "bench_server: wrk script error"; exit 1; fi
  curl -sf "http://127.0.0.1:$port/api/search?k=10&mode=lexical&q=$(head -1 "$TMP/queries.txt" | sed 's/ /%20/g')" |
    grep -q '"segments": *\[{' || { echo "bench_server: $name returned no segments"; exit 1; }
  local res rps=() p50=() p99=() errs=0 bad=0 total=0 c0 c1
  run_wrk "$port" 2 >/dev/null   # warm-up
  c0=$(cpu_ticks "$pid")
  for _ in $(seq "$RUNS"); do
    res=$(run_wrk "$port" "$DURATION")
    read -r r a b n e x <<<"$res"
    rps+=("$r"); p50+=("$a"); p99+=("$b"); errs=$((errs + e)); bad=$((bad + x)); total=$((total + n))
  done
  c1=$(cpu_ticks "$pid")
  LAST_RPS=$(printf '%s\n' "${rps[@]}" | median)
  # server CPU per request: what the machine's load cannot inflate much; cores / this = the
  # request rate an otherwise idle machine would allow
  local cpu_ms; cpu_ms=$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$total" 'BEGIN {printf "%.3f", t / hz * 1000 / n}')
  printf '%-34s %8s %8s %8s %9s %8s %6s %s\n' "$name" "$LAST_RPS" "$(printf '%s\n' "${p50[@]}" | median)" \
    "$(printf '%s\n' "${p99[@]}" | median)" "$total" "$cpu_ms" \
    "$(awk -v c="$cpu_ms" -v n="$(nproc)" 'BEGIN {printf "%.0f", n * 1000 / c}')" "$errs ($bad non-2xx)"
}

echo "wrk -t2 -c$CONNS -d${DURATION}s against /api/search?k=10&mode=lexical (20 rotating questions), median of $RUNS runs"
# What the search alone costs (no HTTP), so the table's CPU column can be read against it.
make -s build/release/bench/server_search_cpu >/dev/null && build/release/bench/server_search_cpu "$TMP/idx.db" "$TMP/queries.txt" 20
echo "(cpu ms = server CPU time per request over the runs; ceil = $(nproc) cores / cpu ms = req/s on an idle machine)"
printf '%-34s %8s %8s %8s %9s %8s %6s %s\n' "server" "req/s" "p50 ms" "p99 ms" "requests" "cpu ms" "ceil" "errors"

start_ours() { # extra serve args... -> sets port, spid
  port=$(free_port)
  "$AR" serve -i "$TMP/idx.db" --port "$port" --threads "$THREADS" "$@" 2>"$TMP/serve.log" &
  spid=$!; pids+=("$spid")
  wait_up "$port" || { echo "aularag serve did not start"; cat "$TMP/serve.log"; exit 1; }
}
stop_ours() { kill -TERM "$spid"; wait "$spid"; echo "$?" >"$TMP/exit.$spid"; }

# 1. every request does the search (response cache off); then the memory check on the same server
start_ours --search-cache 0
bench_one "aularag serve, no response cache" "$port" "$spid"; ours=$LAST_RPS
# RSS sampled after every 5 s of load until MEM_REQUESTS requests: a leak shows as a trend (the second
# half's median above the first's); thread stacks and malloc arenas make single samples jump by MBs
rss0=$(rss_kb "$spid"); done_req=0; loops=0; samples=()
while [ "$done_req" -lt "$MEM_REQUESTS" ] && [ $loops -lt $((MEM_REQUESTS / 1000)) ]; do
  read -r _ _ _ n _ _ <<<"$(run_wrk "$port" 5)"; done_req=$((done_req + n)); loops=$((loops + 1))
  samples+=("$(rss_kb "$spid")")
done
stop_ours; rc_nocache=$(cat "$TMP/exit.$spid")

# 2. the default: repeated questions are answered from the response cache
start_ours
bench_one "aularag serve (default, cache)" "$port" "$spid"; cached=$LAST_RPS
# the HTTP layer alone: a static file (the page's stylesheet)
c0=$(cpu_ticks "$spid")
read -r srps _ _ sn _ _ <<<"$(wrk -t2 -c"$CONNS" -d5s --latency "http://127.0.0.1:$port/style.css" 2>&1 | /usr/bin/python3 -c '
import re, sys; o = sys.stdin.read()
print(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1), 0, 0, re.search(r"(\d+) requests in", o).group(1), 0, 0)')"
c1=$(cpu_ticks "$spid")
static_line="HTTP layer alone (GET /style.css, 5 s): $srps req/s, $(awk -v t=$((c1 - c0)) -v hz="$HZ" -v n="$sn" 'BEGIN {printf "%.3f", t / hz * 1000 / n}') ms server CPU per request"
stop_ours; rc_cache=$(cat "$TMP/exit.$spid")

bport=$(free_port)
/usr/bin/python3 bench/server_baseline.py "$TMP/idx.db" "$TMP/base.db" "$bport" 2>"$TMP/base.log" &
bpid=$!; pids+=("$bpid")
wait_up "$bport" || { echo "baseline did not start"; cat "$TMP/base.log"; exit 1; }
bench_one "python http.server + sqlite FTS5" "$bport" "$bpid"; theirs=$LAST_RPS

echo
/usr/bin/python3 - "$rss0" "$done_req" "${samples[@]}" <<'PY'
import statistics, sys
rss0, n, s = int(sys.argv[1]), int(sys.argv[2]), [int(x) for x in sys.argv[3:]]
h = len(s) // 2
print("memory (no-cache server): RSS %d KiB at start; %d samples over %d requests: min %d, max %d KiB;"
      " median first half %d, second half %d KiB (trend %+d KiB)" % (rss0, len(s), n, min(s), max(s),
      statistics.median(s[:h] or s), statistics.median(s[h:]), statistics.median(s[h:]) - statistics.median(s[:h] or s)))
PY
/usr/bin/python3 -c "import sys; o, c, t = map(float, sys.argv[1:]); print('ratio vs python baseline (req/s): %.1fx without cache, %.1fx with' % (o / max(t, 1e-9), c / max(t, 1e-9)))" "$ours" "$cached" "$theirs"
echo "$static_line"
echo "aularag serve exit status after SIGTERM: $rc_nocache (no cache), $rc_cache (cache)"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (shared machine: noisy)"
