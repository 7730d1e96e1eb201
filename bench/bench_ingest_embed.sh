#!/usr/bin/env bash
# bench_ingest_embed.sh - ingest + embed throughput (segments/s) with an e5-small-shaped random model:
# the sample course (samples/course) and the Portuguese 3Blue1Brown set (../shared/data), release build,
# both cores. The model is random (no weights are available here) and its tokenizer is a SentencePiece
# Unigram trained on the 3b1b text (vocab BENCH_EMBED_VOCAB, default 8000), so tokens per segment are
# close to, not equal to, XLM-R's: the table prints them. BENCH_EMBED_MAX_VIDEOS=N caps the 3b1b run
# at N videos (default 16, so `make bench` stays minutes long; 0 = all) and prints the estimate for all.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/release/aularag >/dev/null
AR=$PWD/build/release/aularag
PY=/usr/bin/python3
DATA=${AULARAG_DATA:-}
for d in ../shared/data ../../shared/data; do [ -z "$DATA" ] && [ -d "$d" ] && DATA=$(cd "$d" && pwd); done
T=$(mktemp -d /tmp/aularag-bench-embed-XXXXXX); trap 'rm -rf "$T"' EXIT
vocab=${BENCH_EMBED_VOCAB:-8000}

# tokenizer from the 3b1b text, model in the e5-small shape (BERT 384/12/12/1536) with that vocabulary
find "$DATA/transcripts-pt-3b1b" -name '*.srt' -print0 | xargs -0 cat | grep -v -- '-->' | grep -vE '^[0-9]+\s*$' \
  | sed 's/\r$//' | grep -v '^\s*$' > "$T/text.txt"
$PY tests/tools/make_tokenizer.py --text "$T/text.txt" --vocab "$vocab" --out "$T/tok" >/dev/null
$PY tests/tools/make_model.py --preset e5-small --vocab $((vocab + 2)) --out "$T/model" --tokenizer "$T/tok" >/dev/null

mkdir -p "$T/pt"
n_all=0
for f in "$DATA"/transcripts-pt-3b1b/*/*.srt; do
  [ -s "$f" ] || continue   # the set has one empty file
  n_all=$((n_all + 1))
  maxv=${BENCH_EMBED_MAX_VIDEOS:-16}
  [ "$maxv" -gt 0 ] && [ "$n_all" -gt "$maxv" ] && continue
  ln -s "$f" "$T/pt/$(basename "$(dirname "$f")").srt"
done
n_pt=$(ls "$T/pt" | wc -l)

# cpu s = user + sys of the ingest process: on a shared machine wall time overstates what it needs
printf '%-28s %6s %9s %8s %9s %8s %10s %8s %10s\n' set videos segments "tok/seg" "wall s" "seg/s" "tokens/s" "cpu s" "seg/cpu-s"
one() { # name, index, args...
  local name=$1 ix=$2; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  local TIMEFORMAT='%U %S'
  { time "$AR" ingest -i "$ix" --model "$T/model" --quiet "$@" >/dev/null 2>"$T/err" || cat "$T/err" >&2; } 2>"$T/cpu"
  t1=$(date +%s.%N)
  local segs vids tok
  segs=$(sqlite3 "$ix" 'SELECT count(*) FROM vectors')
  vids=$(sqlite3 "$ix" 'SELECT count(*) FROM videos')
  sqlite3 "$ix" 'SELECT text FROM segments' | sed 's/^/passage: /' > "$T/seg.txt"
  tok=$($PY - "$T/tok/sentencepiece.bpe.model" "$T/seg.txt" <<'PYEOF'
import sys, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
lines = open(sys.argv[2], encoding="utf-8").read().splitlines()
print(sum(len(sp.encode(l)) + 2 for l in lines) / max(1, len(lines)))
PYEOF
)
  local cpu
  cpu=$(awk '{print $1 + $2}' "$T/cpu")
  awk -v n="$name" -v v="$vids" -v s="$segs" -v tk="$tok" -v a="$t0" -v b="$t1" -v c="$cpu" \
    'BEGIN{d=b-a; printf "%-28s %6d %9d %8.0f %9.1f %8.2f %10.0f %8.1f %10.2f\n", n, v, s, tk, d, s/d, s*tk/d, c, s/c}'
  echo "$((${segs}))" > "$T/last_segs"; awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}' > "$T/last_s"
}
if [ -f samples/course/manifest.csv ]; then
  one "samples/course" "$T/course.db" --manifest samples/course/manifest.csv
else
  echo "samples/course: not in this checkout (skipped)"
fi
one "3b1b pt ($n_pt of $n_all videos)" "$T/pt.db" "$T/pt"
if [ "$n_pt" -lt "$n_all" ]; then
  awk -v s="$(cat "$T/last_s")" -v a="$n_pt" -v b="$n_all" 'BEGIN{printf "estimate for all %d videos: %.0f s\n", b, s*b/a}'
fi
echo "(e5-small shape: BERT hidden 384, 12 layers, 12 heads, ffn 1536; random weights; release build; $(nproc) cores)"
