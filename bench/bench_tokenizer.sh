#!/usr/bin/env bash
# bench_tokenizer.sh - tokenizer speed on the real transcript text (every cue line of ../shared/data):
#   CLI vs CLI:       aularag tokenize (tokenizer.json and .model) vs spm_encode --output_format=id
#   in-process:       libaularag (bench/bench_tokenizer.c) vs npm tokenizers (encodeBatch of 64)
#   load:             a 250k-piece model in the real formats: time and resident memory
# Models are trained here (tests/tools/make_tokenizer.py: spm_train unigram nmt_nfkc, 8k pieces), and a
# 250k-piece one is that model padded with synthetic XLM-R-like pieces. Medians of REPS runs (default 5).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
REPS=${REPS:-5}
AR=${AULARAG_BIN:-$ROOT/build/release/aularag}
BENCH=$ROOT/build/release/bench/bench_tokenizer
PY=/usr/bin/python3
DATA=${AULARAG_DATA:-$ROOT/../shared/data}
[ -d "$DATA" ] || { echo "bench_tokenizer: shared data missing ($DATA)"; exit 1; }
[ -x "$BENCH" ] && [ -x "$AR" ] || { echo "bench_tokenizer: build first (make bench-bins build/release/aularag)"; exit 1; }
TMP=$(mktemp -d /tmp/aularag-bench-tok-XXXXXX); trap 'rm -rf "$TMP"' EXIT
$PY tests/tools/cue_lines.py "$DATA" > "$TMP/lines.txt"
BYTES=$(stat -c %s "$TMP/lines.txt"); LINES=$(wc -l < "$TMP/lines.txt")
$PY tests/tools/make_tokenizer.py --text "$TMP/lines.txt" --vocab 8000 --out "$TMP/m8k" >/dev/null
$PY tests/tools/make_tokenizer.py --text "$TMP/lines.txt" --vocab 8000 --out "$TMP/m250k" --pad-to 250000 >/dev/null
echo "text: $LINES cue lines, $BYTES bytes; $REPS runs each; wall-clock medians (the machine is shared: noisy)"

median_cmd() { # command string -> median wall seconds (hyperfine)
  hyperfine --style none --runs "$REPS" --export-json "$TMP/h.json" "$1" >/dev/null 2>&1 || { echo nan; return; }
  $PY -c "import json,statistics; print('%.4f' % statistics.median(json.load(open('$TMP/h.json'))['results'][0]['times']))"
}
row() { # name seconds baseline_seconds
  $PY -c "
b=$BYTES/1e6; s=float('$2'); base=float('$3')
print('  %-44s %9.3f s %8.2f MB/s %8.2fx' % ('$1', s, b/s, base/s))"
}
jget() { $PY -c "import json,sys; print(json.loads(sys.stdin.read())['$1'])"; }

for m in m8k m250k; do
  D=$TMP/$m
  echo
  echo "model $m: CLI, stdin -> one line of ids per line (ratio: against spm_encode)"
  spm=$(median_cmd "spm_encode --model=$D/sentencepiece.bpe.model --output_format=id < $TMP/lines.txt > /dev/null")
  ours_json=$(median_cmd "$AR tokenize --model $D/tokenizer.json < $TMP/lines.txt > /dev/null")
  ours_spm=$(median_cmd "$AR tokenize --model $D/sentencepiece.bpe.model < $TMP/lines.txt > /dev/null")
  row "spm_encode --output_format=id" "$spm" "$spm"
  row "aularag tokenize (tokenizer.json)" "$ours_json" "$spm"
  row "aularag tokenize (sentencepiece.bpe.model)" "$ours_spm" "$spm"
  echo "model $m: in-process, ids only, model already loaded (ratio: against npm tokenizers)"
  hf=$(node tests/tools/hf_encode.js "$D/tokenizer.json" --bench "$TMP/lines.txt" "$REPS" | jget median)
  lib_json=$("$BENCH" encode "$D/tokenizer.json" "$TMP/lines.txt" "$REPS" | jget median_s)
  lib_spm=$("$BENCH" encode "$D/sentencepiece.bpe.model" "$TMP/lines.txt" "$REPS" | jget median_s)
  row "npm tokenizers 0.23 encodeBatch(64)" "$hf" "$hf"
  row "libaularag (tokenizer.json)" "$lib_json" "$hf"
  row "libaularag (sentencepiece.bpe.model)" "$lib_spm" "$hf"
done

echo
echo "load a 250k-piece model (synthetic, real formats: $(du -h "$TMP/m250k/tokenizer.json" | cut -f1) tokenizer.json, $(du -h "$TMP/m250k/sentencepiece.bpe.model" | cut -f1) .model); targets < 100 ms, < 64 MB"
for f in tokenizer.json sentencepiece.bpe.model; do
  r=$("$BENCH" load "$TMP/m250k/$f" "$((REPS * 2 + 1))")
  $PY -c "
import json; r=json.loads('$r')
print('  %-44s %7.1f ms wall (min %.1f), %7.1f ms CPU, RSS +%.1f MB' % ('libaularag $f', r['load_median_s']*1e3, r['load_min_s']*1e3, r['load_cpu_median_s']*1e3, r['rss_delta_mb']))"
done
hl=$(node tests/tools/hf_encode.js "$TMP/m250k/tokenizer.json" --load "$REPS" | jget median)
$PY -c "print('  %-44s %7.1f ms wall' % ('npm tokenizers Tokenizer.fromFile', $hl*1e3))"
sl=$($PY -c "
import sentencepiece as s, time, statistics
t=[]
for _ in range($REPS):
    t0=time.perf_counter(); s.SentencePieceProcessor(model_file='$TMP/m250k/sentencepiece.bpe.model'); t.append(time.perf_counter()-t0)
print(statistics.median(t))")
$PY -c "print('  %-44s %7.1f ms wall' % ('python sentencepiece 0.1.97 load', $sl*1e3))"
