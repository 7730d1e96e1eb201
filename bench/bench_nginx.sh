#!/usr/bin/env bash
# bench_nginx.sh - `aularag serve` replicas behind nginx (deploy/nginx.conf as shipped, addresses rewritten):
# requests/s and p50/p99 of GET /api/search (lexical, response cache off, 20 rotating questions, wrk -c CONNS)
# on a snapshot of the 3Blue1Brown index, in one run, interleaved: straight to one replica, through nginx to
# that one replica, and through nginx to 2 replicas; median of RUNS rounds and the ratios to the direct case.
# On 2 cores the point is nginx's overhead, not scaling (the replicas, nginx and wrk share the cores).
# Env: AULARAG_BIN, RUNS (3), DURATION (5 s), CONNS (32), THREADS (workers per replica, 4).
set -u
cd "$(dirname "$0")/.."
DATA=$PWD/../shared/data/transcripts-pt-3b1b
[ -d "$DATA" ] || { echo "bench_nginx: needs ../shared/data/transcripts-pt-3b1b"; exit 1; }
command -v wrk >/dev/null || { echo "bench_nginx: needs wrk (apt install wrk)"; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "bench_nginx: needs nginx (apt install nginx)"; exit 1; }
exec /usr/bin/python3 bench/bench_nginx.py "$DATA"
