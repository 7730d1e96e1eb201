#!/usr/bin/env bash
# bench_int8_overlap.sh - what int8 changes in retrieval: dense top-10 of the 40 3b1b-pt-dev questions over
# the 3b1b index, fp32 (fp32 vectors, fp32 queries) vs int8 (int8 vectors, int8 queries) and int8 queries
# over the fp32 vectors, with the same random-weight e5-small-shaped model (12 layers, std 0.02, tokenizer
# trained on the cue text). Prints the mean top-10 overlap (of 10). Env: OV_VIDEOS (all manifest rows;
# fewer = the first N, quicker), OV_THREADS (2), OV_DIR (cache, default /tmp/aularag-bench-int8).
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
AR=${AULARAG_BIN:-$PWD/aularag}
DATA=${AULARAG_DATA:-../shared/data}
DIR=${OV_DIR:-/tmp/aularag-bench-int8}
TH=${OV_THREADS:-2}
mkdir -p "$DIR"
Q=$DATA/qa/3b1b-pt-dev
if [ ! -f "$DIR/model/config.json" ]; then
  $PY tests/tools/cue_lines.py "$DATA/transcripts-pt-3b1b" >"$DIR/lines.txt"
  $PY tests/tools/make_tokenizer.py --text "$DIR/lines.txt" --vocab 8000 --out "$DIR/tok" >/dev/null
  $PY tests/tools/make_model.py --preset e5-small --out "$DIR/model" --std 0.02 --seed 7 --vocab 8002 --tokenizer "$DIR/tok"
fi
man="$DIR/manifest.csv"
head -1 "$Q/manifest.csv" >"$man"
tail -n +2 "$Q/manifest.csv" | head -n "${OV_VIDEOS:-100000}" | sed "s#^\.\./\.\./#$(cd "$DATA" && pwd)/#" >>"$man"
for p in fp32 int8; do
  [ -f "$DIR/$p.db" ] || $AR ingest -q -i "$DIR/$p.db" --manifest "$man" --model "$DIR/model" --precision $p >/dev/null
done
$PY - "$AR" "$DIR" "$Q/questions.jsonl" "$TH" <<'PY'
import json, subprocess, sys
ar, d, qs, th = sys.argv[1:]
env = {"OMP_NUM_THREADS": th}
def top(db, prec, q):
  p = subprocess.run([ar, "search", "-i", d + "/" + db, "--mode", "dense", "--model", d + "/model", "--precision", prec,
                      "--json", "-k", "10", "--", q], capture_output=True, text=True, check=True)
  return [s["corpus_id"] for s in json.loads(p.stdout)["segments"]]
questions = [json.loads(l)["question"] for l in open(qs) if l.strip()]
a = b = c = 0
worst = 10
for q in questions:
  f = top("fp32.db", "fp32", q)
  i8 = top("int8.db", "int8", q)
  mixed = top("fp32.db", "int8", q)
  o = len(set(f) & set(i8)); a += o; worst = min(worst, o)
  c += len(set(f) & set(mixed))
n = len(questions)
print("int8 vs fp32 dense top-10 overlap over %d questions: int8 index + int8 queries %.2f/10 (worst %d), "
      "int8 queries on the fp32 index %.2f/10" % (n, a / n, worst, c / n))
PY
