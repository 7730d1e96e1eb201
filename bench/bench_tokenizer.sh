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
echo "text: $LINES cue lines, $BYTES bytes; $REPS runs each; wall-clock medians and CPU time (user+sys; mean for"
echo "the CLIs, median in-process). Ratios: baseline time / ours. The machine may be shared: wall time is noisy."

median_cmd() { # command string -> "median_wall_s mean_cpu_s" (hyperfine; CPU = user + system)
  hyperfine --style none --runs "$REPS" --export-json "$TMP/h.json" "$1" >/dev/null 2>&1 || { echo "nan nan"; return; }
  $PY -c "import json,statistics; r=json.load(open('$TMP/h.json'))['results'][0]; print('%.4f %.4f' % (statistics.median(r['times']), r['user'] + r['system']))"
}
row() { # name "wall [cpu]" "base_wall [base_cpu]"
  $PY -c "
b=$BYTES/1e6; v=[float(x) for x in '$2'.split()]; base=[float(x) for x in '$3'.split()]
cpu = ('CPU %7.3f s' % v[1]) if len(v) > 1 else 'CPU       -  '
cr = ('%6.2fx' % (base[1] / v[1])) if len(v) > 1 and len(base) > 1 else '     -'
print('  %-44s %8.3f s %7.2f MB/s %6.2fx | %s %s' % ('$1', v[0], b / v[0], base[0] / v[0], cpu, cr))"
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
  echo "model $m: in-process, ids only, model already loaded (ratio: against npm tokenizers, wall; its CPU"
  echo "  is not measured separately, and its encodeBatch may use both cores while ours runs on one)"
  hf=$(node tests/tools/hf_encode.js "$D/tokenizer.json" --bench "$TMP/lines.txt" "$REPS" | jget median)
  lj=$("$BENCH" encode "$D/tokenizer.json" "$TMP/lines.txt" "$REPS")
  ls_=$("$BENCH" encode "$D/sentencepiece.bpe.model" "$TMP/lines.txt" "$REPS")
  lib_json="$(jget median_s <<<"$lj") $(jget cpu_median_s <<<"$lj")"
  lib_spm="$(jget median_s <<<"$ls_") $(jget cpu_median_s <<<"$ls_")"
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
