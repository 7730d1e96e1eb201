#!/usr/bin/env bash
# bench_lexical.sh - lexical retrieval: PsTuts-VQA quality vs SQLite FTS5 stock bm25/unicode61,
# analysis variants, ingest speed of all shared transcripts, search latency p50/p99 (medians).
# Needs build/release/aularag and build/release/bench/lexical_bench (make bench builds both).
set -eu
cd "$(dirname "$0")/.."
make -s build/release/aularag build/release/bench/lexical_bench >/dev/null
echo "note: numbers from a shared 2-core machine are noisy; compare rows of the same run"
/usr/bin/python3 bench/lexical_eval.py
