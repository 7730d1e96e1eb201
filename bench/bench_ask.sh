#!/usr/bin/env bash
# bench_ask.sh - `aularag ask` overhead without the LLM's own time: p50/p90 over 200 questions, the
# extractive path and the LLM path against tests/llm_server.py answering at once, next to `search`
# (the retrieval floor) and a minimal Python client making the same LLM call (what a script user
# would otherwise run). Usage: bench/bench_ask.sh [N_QUESTIONS]
set -eu
cd "$(dirname "$0")/.."
AR=${AULARAG_BIN:-$PWD/build/release/aularag}
[ -x "$AR" ] || make -j2 build/release/aularag >/dev/null
exec /usr/bin/python3 bench/bench_ask.py "$AR" "${1:-200}"
