#!/usr/bin/env bash
# run.sh - the test runner: the C unit tests, then every tests/integration/test_*.{sh,py}.
# Each part prints a line "<part>: N passed, N failed"; this script sums them and prints the
# total as the last line. Usage: tests/run.sh UNIT_BINARY [FILTER]
set -u
cd "$(dirname "$0")/.."
unit=$1; filter=${2:-}
export AULARAG_BIN=${AULARAG_BIN:-$PWD/build/asan/aularag}
export AULARAG_ROOT=$PWD
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
PY=/usr/bin/python3   # Debian's python: torch, sentencepiece, numpy live there
total_p=0; total_f=0; bad_parts=()
run_part() { # name, command...
  local name=$1; shift
  local out rc line p f
  out=$("$@" 2>&1); rc=$?
  line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
  if [ -z "$line" ]; then
    printf '%s\n' "$out" | tail -n 30
    echo "$name: no result line (exit $rc); counted as 1 failure"
    total_f=$((total_f + 1)); bad_parts+=("$name"); return
  fi
  p=$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+')
  f=$(grep -oE '[0-9]+ failed' <<<"$line" | grep -oE '[0-9]+')
  if [ "$f" != 0 ] || [ $rc -ne 0 ]; then
    printf '%s\n' "$out" | grep -vE '^ok ' | tail -n 60
    [ "$f" = 0 ] && f=1
    bad_parts+=("$name")
  fi
  echo "$name: $p passed, $f failed"
  total_p=$((total_p + p)); total_f=$((total_f + f))
}
if [ -z "$filter" ] || [ "$filter" = unit ]; then run_part unit "$unit"; fi
for t in tests/integration/test_*.sh tests/integration/test_*.py; do
  [ -e "$t" ] || continue
  n=$(basename "$t"); n=${n%.*}
  [ -n "$filter" ] && [[ "$n" != *"$filter"* ]] && continue
  case "$t" in
    *.sh) run_part "$n" bash "$t" ;;
    *.py) run_part "$n" "$PY" "$t" ;;
  esac
done
[ ${#bad_parts[@]} -gt 0 ] && echo "failing parts: ${bad_parts[*]}"
echo "$total_p passed, $total_f failed"
[ "$total_f" -eq 0 ]
