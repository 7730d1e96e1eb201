#!/usr/bin/env bash
# bench_embed_api.sh - embedding through a server (--embed-url): segments/s of `aularag ingest` against
# tests/llm_server.py answering /v1/embeddings after a fixed delay per request (a stand-in for the server's
# own work), compared with the client a user would otherwise write: a sequential Python loop (urllib, json,
# base64 + numpy decoding and normalisation) sending the same segments in the same batches of 32 to the same
# server. The server sends cheap vectors as base64, so its own Python work stays out of the way. aularag's
# time includes parsing, segmenting and indexing; the Python client's only the embedding requests.
# BENCH_EMBED_API_DELAY (default 0.05 s per request), BENCH_EMBED_API_VIDEOS (default 40 3b1b videos).
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/release/aularag >/dev/null
AR=$PWD/build/release/aularag
PY=/usr/bin/python3
DATA=${AULARAG_DATA:-}
for d in ../shared/data ../../shared/data; do [ -z "$DATA" ] && [ -d "$d" ] && DATA=$(cd "$d" && pwd); done
T=$(mktemp -d /tmp/aularag-bench-embapi-XXXXXX)
delay=${BENCH_EMBED_API_DELAY:-0.05}
maxv=${BENCH_EMBED_API_VIDEOS:-40}
mkdir -p "$T/pt"
n=0
for f in "$DATA"/transcripts-pt-3b1b/*/*.srt; do
  [ -s "$f" ] || continue
  n=$((n + 1)); [ "$n" -gt "$maxv" ] && break
  ln -s "$f" "$T/pt/$(basename "$(dirname "$f")").srt"
done
# cheap vectors sent as base64: what the bench measures is the clients, not the scripted server's Python
echo "{\"dim\": 384, \"embed_default\": {\"delay_s\": $delay, \"cheap\": true, \"encoding\": \"base64\"}}" > "$T/script.json"
coproc SRV { exec $PY tests/llm_server.py --script "$T/script.json" --stdin-eof; }
trap 'exec {SRV[1]}>&-; wait; rm -rf "$T"' EXIT
read -r _ port <&"${SRV[0]}"
url=http://127.0.0.1:$port

t_lex0=$(date +%s.%N)
"$AR" ingest -i "$T/lex.db" --quiet "$T/pt" >/dev/null    # the same ingest without vectors: its floor
t_lex1=$(date +%s.%N)
t0=$(date +%s.%N)
"$AR" ingest -i "$T/api.db" --quiet --embed-url "$url" --embed-model bench "$T/pt" >/dev/null
t1=$(date +%s.%N)
segs=$(sqlite3 "$T/api.db" 'SELECT count(*) FROM vectors')
sqlite3 -json "$T/api.db" 'SELECT text FROM segments ORDER BY id' > "$T/seg.json"
py_s=$($PY - "$url" "$T/seg.json" <<'PYEOF'
import base64, json, sys, time, urllib.request
import numpy as np
url, texts = sys.argv[1], ["passage: " + r["text"] for r in json.load(open(sys.argv[2]))]
t0 = time.perf_counter()
out = []
for i in range(0, len(texts), 32):
    body = json.dumps({"model": "bench", "input": texts[i:i + 32], "encoding_format": "float"}).encode()
    req = urllib.request.Request(url + "/v1/embeddings", data=body, headers={"Content-Type": "application/json"})
    data = json.load(urllib.request.urlopen(req))["data"]
    v = np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4")
                  for d in sorted(data, key=lambda d: d["index"])])
    out.append(v / np.linalg.norm(v, axis=1, keepdims=True))
print(time.perf_counter() - t0)
PYEOF
)
printf '%-52s %9s %8s %8s\n' "client (server delay ${delay} s/request, dim 384)" segments "wall s" "seg/s"
awk -v s="$segs" -v a="$t0" -v b="$t1" -v p="$py_s" -v la="$t_lex0" -v lb="$t_lex1" 'BEGIN{
  d = b - a; l = lb - la
  printf "%-52s %9d %8.2f %8.1f\n", "aularag ingest --embed-url (4 x 32 in flight)", s, d, s / d
  printf "%-52s %9d %8.2f %8s\n", "  of which parse+index (ingest without vectors)", s, l, "-"
  printf "%-52s %9d %8.2f %8.1f\n", "  embedding alone (difference)", s, d - l, s / (d - l)
  printf "%-52s %9d %8.2f %8.1f\n", "Python urllib loop, batches of 32 (embedding only)", s, p, s / p
  printf "ratio, embedding alone (aularag seg/s / Python seg/s): %.2fx\n", p / (d - l) }'
