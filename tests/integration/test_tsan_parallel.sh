#!/usr/bin/env bash
# test_tsan_parallel.sh - concurrent dense and hybrid search under ThreadSanitizer: one shared encoder,
# threads with their own index handles on one file (sharing its vector matrix, racing to rebuild the
# vector section), results bit for bit those of the same calls run alone (tests/tsan/parallel_search.c).
source "$(dirname "$0")/lib.sh"
need_data
PY=/usr/bin/python3
BIN=$ROOT/build/tsan/parallel_search
if [ ! -x "$BIN" ] || [ -n "$(find "$ROOT/src" "$ROOT/tests/tsan" -newer "$BIN" -name '*.[ch]' | head -n 1)" ]; then
  make -C "$ROOT" -s build/tsan/parallel_search >"$TMP/build.log" 2>&1 || {
    tail -n 20 "$TMP/build.log"; echo "test_tsan_parallel: 0 passed, 1 failed"; exit 1; }
fi
$PY "$ROOT/tests/tools/cue_lines.py" "$DATA/transcripts-pt-3b1b" 2>/dev/null | head -n 5000 > "$TMP/text.txt"
$PY "$ROOT/tests/tools/make_tokenizer.py" --text "$TMP/text.txt" --vocab 500 --out "$TMP/tok" >/dev/null &&
$PY "$ROOT/tests/tools/make_model.py" --preset tiny-bert --vocab 502 --seed 3 --out "$TMP/model" --tokenizer "$TMP/tok" \
  >/dev/null || { echo "making the model failed"; echo "test_tsan_parallel: 0 passed, 1 failed"; exit 1; }
check "ingest with the model" "$AR" ingest -q -i "$TMP/ix.db" --model "$TMP/model" \
  --manifest "$ROOT/samples/course/manifest.csv"
check "ingest leaves a current vector section" test -s "$TMP/ix.db.vec"
# halt_on_error: the first race fails the run (exit 66), its report in the output
TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$BIN" "$TMP/model" "$TMP/ix.db" 4 3 >"$TMP/ts.out" 2>&1; rc=$?
cat "$TMP/ts.out" | grep -E 'passed|FAIL|WARNING' | head -n 5
check "4 threads: no data race, results equal the sequential ones (exit $rc)" test "$rc" = 0
check "the threads rebuilt the vector section" test -s "$TMP/ix.db.vec"
finish
