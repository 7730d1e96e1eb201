#!/usr/bin/env bash
# bench_rerank.sh - cross-encoder reranking (issue #15): one question against 30 segments of ~400 tokens, as
# `--rerank` scores a search's first stage. aularag (ar_model_score_pairs: tokenizing, pair template, encoder,
# classifier head) vs ONNX Runtime (npm onnxruntime-node) on the same classifier exported from the PyTorch
# reference (tests/tools/ref_e5.py --onnx --classifier), fed the same pair ids from Hugging Face tokenizers
# (ORT's time leaves tokenizing out). Random weights in the hub layout (tests/tools/make_model.py --labels 1):
#   minilm     BertForSequenceClassification with multilingual-e5-small's / mMiniLM-L12-H384's shape
#   xlmr-base  XLMRobertaForSequenceClassification with e5-base's shape (RR_MODELS="minilm xlmr-base")
# Rounds (RR_ROUNDS, 3) interleave the engines; RR_REPS (3) calls per engine and round; RR_THREADS (2).
# RR_DIR caches the models, tokenizer and ONNX files (default /tmp/aularag-bench-rerank).
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
DIR=${RR_DIR:-/tmp/aularag-bench-rerank}
MODELS=${RR_MODELS:-minilm}
THREADS=${RR_THREADS:-2}
ROUNDS=${RR_ROUNDS:-3}
REPS=${RR_REPS:-3}
N=30
C=build/release/bench/rerank_bench
[ -x $C ] || make -s bench-bins >/dev/null
DATA=${AULARAG_DATA:-../shared/data}
mkdir -p "$DIR"
Q="Como a regra da cadeia aparece quando derivamos uma composição de funções?"
if [ ! -f "$DIR/passages.txt" ]; then
  find "$DATA/transcripts-pt-3b1b" -name '*.srt' -size +0 | sort | head -40 | xargs cat |
    grep -vE -- '-->|^[0-9]+\s*$|^\s*$' >"$DIR/text.txt"
  $PY tests/tools/make_tokenizer.py --text "$DIR/text.txt" --vocab 1000 --out "$DIR/tok" >/dev/null
  # 30 passages of ~400 tokens each: consecutive transcript lines until the tokenizer counts 400
  $PY - "$DIR" <<'PY'
import sys, sentencepiece as spm
d = sys.argv[1]
sp = spm.SentencePieceProcessor(model_file=d + "/tok/sentencepiece.bpe.model")
lines = [l.strip() for l in open(d + "/text.txt", encoding="utf-8", errors="replace") if l.strip()]
out, cur, i = [], [], 0
while len(out) < 30 and i < len(lines):
  cur.append(lines[i]); i += 1
  if len(sp.encode(" ".join(cur))) >= 400:
    out.append(" ".join(cur)); cur = []
open(d + "/passages.txt", "w", encoding="utf-8").write("\n".join(out) + "\n")
PY
fi
for m in $MODELS; do
  case $m in minilm) preset=e5-small ;; xlmr-base) preset=e5-base ;; *) echo "unknown model $m" >&2; exit 2 ;; esac
  if [ ! -f "$DIR/$m/model.onnx" ]; then
    echo "generating $m (random weights, std 0.02) and exporting it to ONNX ..." >&2
    $PY tests/tools/make_model.py --preset $preset --out "$DIR/$m" --std 0.02 --seed 7 --labels 1 \
      --pair-template xlmr --tokenizer "$DIR/tok"
    $PY tests/tools/ref_e5.py "$DIR/$m" --onnx "$DIR/$m/model.onnx" --classifier >/dev/null 2>&1
    $PY - "$DIR" "$m" "$Q" <<'PY'
import json, subprocess, sys
d, m, q = sys.argv[1:4]
json.dump({"query": q, "passages": open(d + "/passages.txt", encoding="utf-8").read().split("\n")[:-1]},
          open(d + "/pairs_in.json", "w"))
r = subprocess.run(["node", "tests/tools/hf_encode.js", d + "/" + m + "/tokenizer.json", "--pairs", d + "/pairs_in.json",
                    "512"], capture_output=True, text=True, check=True)
with open(d + "/" + m + "/pairs.jsonl", "w") as f:
  for l in r.stdout.splitlines():
    f.write(json.dumps(json.loads(l)["ids"]) + "\n")
PY
  fi
done
num() { grep -oE "$1 [0-9.]+" | head -1 | awk '{print $NF}'; }
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
R=$(mktemp -d); trap 'rm -rf "$R"' EXIT
rmed() { paste "$1" "$2" | awk '{print $1 / $2}' | med; }
for ((r = 1; r <= ROUNDS; r++)); do
  for m in $MODELS; do
    out=$($C "$DIR/$m" "$Q" "$DIR/passages.txt" $REPS $THREADS)
    echo "$out" | num median >>"$R/$m.c"; echo "$out" | grep -oE 'kernel [a-z0-9]+' | awk '{print $2}' >"$R/kernel"
    node bench/ort_encoder.js "$DIR/$m/model.onnx" "$DIR/$m/pairs.jsonl" $N $REPS $THREADS | num median >>"$R/$m.o"
    ENC_PRECISION=int8 $C "$DIR/$m" "$Q" "$DIR/passages.txt" $REPS $THREADS | num median >>"$R/$m.i8"
  done
done
toks=$(awk '{n += gsub(/,/, ",") + 1} END {print n}' "$DIR/$(echo $MODELS | awk '{print $1}')/pairs.jsonl")
echo "rerank: 1 question x $N segments ($toks pair tokens in all), $THREADS threads, $ROUNDS interleaved rounds x $REPS calls, aularag kernel $(cat "$R/kernel")"
echo "(seconds per rerank call: medians over rounds; vs ORT: median of per-round ratios, > 1 means aularag is faster)"
printf '%-10s %14s %14s %14s %9s %12s\n' model "aularag fp32" onnxruntime "aularag int8" "vs ORT" "int8 vs ORT"
for m in $MODELS; do
  awk -v m=$m -v c=$(med <"$R/$m.c") -v o=$(med <"$R/$m.o") -v q=$(med <"$R/$m.i8") -v r=$(rmed "$R/$m.o" "$R/$m.c") \
    -v r8=$(rmed "$R/$m.o" "$R/$m.i8") 'BEGIN { printf "%-10s %14.3f %14.3f %14.3f %8.2fx %11.2fx\n", m, c, o, q, r, r8 }'
  paste "$R/$m.o" "$R/$m.c" | awk '{printf "%.2f ", $1 / $2}' >"$R/$m.pr"
  echo "           per-round ratios (ORT / aularag fp32): $(cat "$R/$m.pr")"
done
