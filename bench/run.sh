#!/usr/bin/env bash
# run.sh - `make bench`: every bench/bench_*.sh in turn, each printing its own table.
# Benchmarks compare with the tool a user would otherwise pick, in the same run, and print ratios.
set -u
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench
export AULARAG_BIN=$PWD/build/release/aularag AULARAG_ROOT=$PWD
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(date -u +%F)"
rc=0
for b in bench/bench_*.sh; do
  [ -e "$b" ] || continue
  [ -n "${1:-}" ] && [[ "$b" != *"$1"* ]] && continue
  echo; echo "== $(basename "$b" .sh)"
  bash "$b" || rc=1
done
exit $rc
