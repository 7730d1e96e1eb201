#!/usr/bin/env bash
# run.sh - runs each fuzz target (build/fuzz/fuzz_NAME, `make fuzz-bins`) for FUZZ_SECONDS seconds over
# its corpus build/fuzz/corpus/NAME, seeded from tests/fuzz/seeds/NAME and samples/course, with
# tests/fuzz/NAME.dict when there is one. Prints one line per target (executions, coverage, corpus);
# a crash, leak, timeout or sanitizer report fails the run and leaves the input in build/fuzz/artifacts/.
#   usage: tests/fuzz/run.sh [NAME...]        (FUZZ_SECONDS=10 by default)
set -u
cd "$(dirname "$0")/../.."
secs=${FUZZ_SECONDS:-10}
B=build/fuzz
if [ $# -gt 0 ]; then targets=("$@"); else
  targets=(); for f in tests/fuzz/fuzz_*.c; do n=${f##*/fuzz_}; targets+=("${n%.c}"); done
fi
mkdir -p "$B/artifacts"
# targets that read paths write their inputs under TMPDIR: keep them in the build tree, cleaned each run
export TMPDIR=$PWD/$B/tmp
rm -rf "$TMPDIR" && mkdir -p "$TMPDIR"

# Seeds that come from the repository's samples (written once into the corpus, not committed twice).
seed_samples() { # name corpus
  local t=$1 c=$2 f k
  case $t in
    transcript)   # first byte picks the format (see fuzz_transcript.c): 0 vtt, 1 srt, 2 whisper, 3 youtube, 4 sniff
      for f in samples/course/*.vtt samples/course/*.srt samples/course/*.json; do
        case $f in *.vtt) k='\x00' ;; *.srt) k='\x01' ;; *) k='\x02' ;; esac
        { printf "$k"; head -c 3000 "$f"; } > "$c/sample-$(basename "$f")"
        { printf '\x04'; head -c 3000 "$f"; } > "$c/sniff-$(basename "$f")"
      done ;;
    manifest)  cp samples/course/manifest.csv "$c/sample-manifest.csv" ;;
    questions) head -c 4000 samples/course/questions.jsonl > "$c/sample-questions.jsonl" ;;
    tokenize)  for f in samples/course/*.srt; do grep -v -- '-->' "$f" | head -c 400 > "$c/sample-$(basename "$f")"; done ;;
  esac
}

index=$B/fuzz-index.db
if [[ " ${targets[*]} " == *" http "* ]] && [ ! -s "$index" ]; then
  build/release/aularag ingest -i "$index" --manifest samples/course/manifest.csv samples/course >/dev/null 2>&1 ||
    { echo "run.sh: could not build $index (make first)"; exit 1; }
fi
export AULARAG_FUZZ_INDEX=$PWD/$index

fail=0
printf '%-17s %6s %12s %10s %8s\n' target seconds executions coverage corpus
for t in "${targets[@]}"; do
  bin=$B/fuzz_$t
  [ -x "$bin" ] || { echo "$t: $bin missing (make fuzz-bins)"; fail=1; continue; }
  corpus=$B/corpus/$t
  mkdir -p "$corpus"
  [ -n "$(ls -A "$corpus")" ] || seed_samples "$t" "$corpus"
  args=(-max_total_time="$secs" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$B/artifacts/$t-")
  [ -f "tests/fuzz/$t.dict" ] && args+=(-dict="tests/fuzz/$t.dict")
  [ "$t" = http ] && args+=(-detect_leaks=0)   # server threads free their memory after the input returns
  seeds=(); [ -d "tests/fuzz/seeds/$t" ] && seeds=("tests/fuzz/seeds/$t")
  log=$B/$t.log
  "$bin" "${args[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  execs=$(grep -oE 'number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' | tail -n 1)
  cov=$(grep -oE ' cov: [0-9]+' "$log" | tail -n 1 | grep -oE '[0-9]+')
  printf '%-17s %6s %12s %10s %8s\n' "$t" "$secs" "${execs:-?}" "${cov:-?}" "$(ls "$corpus" | wc -l)"
  if [ $rc -ne 0 ]; then
    grep -E 'ERROR|runtime error|SUMMARY|Test unit written|deadly signal|#[0-9]+ 0x' "$log" | head -n 30
    echo "$t: FAILED (exit $rc); full log $log; reproduce: $bin $B/artifacts/$t-<file>"
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "fuzz: all ${#targets[@]} targets ran ${secs} s each without a finding"
exit $fail
