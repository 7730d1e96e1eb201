#!/usr/bin/env bash
# bench_embed_server.sh - `aularag serve --model M`'s POST /v1/embeddings (tokens/s seen by a client) next to
# `aularag embed --model M` on the same texts, same run, interleaved rounds, medians and their ratio.
# Texts: the 3b1b segments of BENCH_EMBSRV_VIDEOS videos (default 6), "passage: " prefixed, as ingest sends
# them; model: e5-small shape (random weights) with a SentencePiece tokenizer trained on the 3b1b text (8k).
# The client is a sequential Python http.client loop (keep-alive, batches of 32, base64 replies, like the
# OpenAI client), so the server runs one request at a time on the same 2 cores `aularag embed` uses.
# `aularag embed` is timed whole (process start, model load, stdin, printing JSON) and without its load
# (the same command on one line, subtracted): the endpoint's server is already running. CPU seconds (user +
# sys: of the embed process, of the server process over the client's requests) are printed beside wall
# time: on a shared machine they say more about the cost than wall time does.
# BENCH_EMBSRV_ROUNDS (default 3), BENCH_EMBSRV_PRESET (default e5-small).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/release/aularag >/dev/null
AR=$PWD/build/release/aularag
PY=/usr/bin/python3
DATA=${AULARAG_DATA:-}
for d in ../shared/data ../../shared/data; do [ -z "$DATA" ] && [ -d "$d" ] && DATA=$(cd "$d" && pwd); done
T=$(mktemp -d /tmp/aularag-bench-embsrv-XXXXXX)
SRV_PID=
trap '[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT
rounds=${BENCH_EMBSRV_ROUNDS:-3}
maxv=${BENCH_EMBSRV_VIDEOS:-6}

find "$DATA/transcripts-pt-3b1b" -name '*.srt' -print0 | xargs -0 cat | grep -v -- '-->' | grep -vE '^[0-9]+\s*$' \
  | sed 's/\r$//' | grep -v '^\s*$' > "$T/text.txt"
$PY tests/tools/make_tokenizer.py --text "$T/text.txt" --vocab 8000 --out "$T/tok" >/dev/null
$PY tests/tools/make_model.py --preset "${BENCH_EMBSRV_PRESET:-e5-small}" --vocab 8002 --out "$T/model" \
  --tokenizer "$T/tok" >/dev/null
mkdir -p "$T/pt"
n=0
for f in "$DATA"/transcripts-pt-3b1b/*/*.srt; do
  [ -s "$f" ] || continue
  n=$((n + 1)); [ "$n" -gt "$maxv" ] && break
  ln -s "$f" "$T/pt/$(basename "$(dirname "$f")").srt"
done
"$AR" ingest -i "$T/ix.db" --quiet "$T/pt" >/dev/null
sqlite3 -json "$T/ix.db" 'SELECT text FROM segments ORDER BY id' |
  $PY -c 'import json,sys; [print("passage: " + " ".join(r["text"].split())) for r in json.load(sys.stdin)]' > "$T/texts.txt"
head -n 1 "$T/texts.txt" > "$T/one.txt"
texts=$(wc -l < "$T/texts.txt")
tokens=$("$AR" embed --model "$T/model" --raw --count < "$T/texts.txt" | awk '{ s += ($1 > 512 ? 512 : $1) } END { print s }')

"$AR" serve -i "$T/ix.db" --model "$T/model" --port 0 --threads 1 2> "$T/serve.log" &
SRV_PID=$!
port=
for _ in $(seq 1 300); do
  port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$T/serve.log" | grep -o '[0-9]*$' || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "bench_embed_server: serve did not start"; cat "$T/serve.log"; exit 1; }

client() { # prints: seconds total_tokens
  $PY - "$port" "$T/texts.txt" <<'PYEOF'
import http.client, json, sys, time
port, texts = int(sys.argv[1]), open(sys.argv[2], encoding="utf-8").read().splitlines()
c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
h = {"Content-Type": "application/json", "Authorization": "Bearer none"}
t0, tok = time.perf_counter(), 0
for i in range(0, len(texts), 32):
    c.request("POST", "/v1/embeddings", json.dumps({"model": "model", "input": texts[i:i + 32], "encoding_format": "base64"}), h)
    r = c.getresponse()
    o = json.loads(r.read())
    assert r.status == 200 and len(o["data"]) == len(texts[i:i + 32]), o
    tok += o["usage"]["total_tokens"]
print(time.perf_counter() - t0, tok)
PYEOF
}
# wall and CPU seconds of a command: "wall cpu"
wall() {
  local t0 t1 TIMEFORMAT='%U %S'
  t0=$(date +%s.%N)
  { time "$@" > /dev/null; } 2> "$T/cpu"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" '{ print b - a, $1 + $2 }' "$T/cpu"
}
srv_cpu() { awk '{ print ($14 + $15) / '"$(getconf CLK_TCK)"' }' /proc/$SRV_PID/stat; }

client > /dev/null   # warm-up: the server's first request allocates the encoder's scratch state
: > "$T/e"; : > "$T/l"; : > "$T/s"
for r in $(seq 1 "$rounds"); do
  wall "$AR" embed --model "$T/model" --raw --batch 32 < "$T/texts.txt" >> "$T/e"
  wall "$AR" embed --model "$T/model" --raw --batch 32 < "$T/one.txt" >> "$T/l"
  c0=$(srv_cpu)
  client > "$T/c"
  c1=$(srv_cpu)
  awk -v c="$(awk -v a="$c0" -v b="$c1" 'BEGIN{print b - a}')" '{print $1, c}' "$T/c" >> "$T/s"
  stok=$(awk '{print $2}' "$T/c")
  [ "$stok" = "$tokens" ] || echo "warning: the server counted $stok tokens, aularag embed --count $tokens"
done
med() { # column
  awk -v c="$2" '{ print $c }' "$1" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
e=$(med "$T/e" 1); l=$(med "$T/l" 1); s=$(med "$T/s" 1); ec=$(med "$T/e" 2); lc=$(med "$T/l" 2); sc=$(med "$T/s" 2)
printf '%-58s %6s %7s %7s %9s %7s %10s\n' "e5-small shape, $texts passages ($rounds rounds, medians)" texts tokens "wall s" \
  "tokens/s" "cpu s" "tok/cpu-s"
awk -v n="$texts" -v k="$tokens" -v e="$e" -v l="$l" -v s="$s" -v ec="$ec" -v lc="$lc" -v sc="$sc" 'BEGIN{
  f = "%-58s %6d %7d %7.2f %9.0f %7.2f %10.0f\n"
  printf f, "aularag embed --model (whole command)", n, k, e, k / e, ec, k / ec
  printf f, "aularag embed --model, less its model load (1-line run)", n, k, e - l, k / (e - l), ec - lc, k / (ec - lc)
  printf f, "POST /v1/embeddings on serve --model (batches of 32, base64)", n, k, s, k / s, sc, k / sc
  printf "ratio endpoint / embed without its load, tokens/s: wall %.2fx, cpu %.2fx;  endpoint / whole embed command: wall %.2fx\n",
    (e - l) / s, (ec - lc) / sc, e / s }'
