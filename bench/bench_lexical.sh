#!/usr/bin/env bash
# bench_lexical.sh - lexical retrieval: PsTuts-VQA and 3b1b-pt-dev quality (FaQuAD to confirm) vs SQLite
# FTS5 stock bm25/unicode61 per question style, analysis variants, ingest speed of all shared transcripts, search latency p50/p99 (medians).
# Needs build/release/aularag and build/release/bench/{lexical_bench,extractive_coverage} (make bench builds them).
# LEX_QUALITY_ONLY=1: retrieval quality only (no ingest/latency timing); LEX_VERBOSE=1: per-question ranks.
set -eu
cd "$(dirname "$0")/.."
make -s build/release/aularag build/release/bench/lexical_bench build/release/bench/extractive_coverage >/dev/null
echo "note: numbers from a shared 2-core machine are noisy; compare rows of the same run"
/usr/bin/python3 bench/lexical_eval.py
