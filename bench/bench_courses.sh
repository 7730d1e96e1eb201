#!/usr/bin/env bash
# bench_courses.sh - scoped search (--course) against unscoped search over one synthetic catalog, and
# against one index per course (what a user would otherwise run), same run, medians per question;
# also the cost of building one course's filter. Sizes: BENCH_COURSES (200) x BENCH_VIDEOS (8) x
# BENCH_SEGMENTS (20) segments of 150 words, BENCH_QUESTIONS (50). Vectors come from a hash embedder
# (dim 384), so the dense rows time the scan, not an encoder.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/release/bench/courses >/dev/null
T=$(mktemp -d /tmp/aularag-bench-courses-XXXXXX); trap 'rm -rf "$T"' EXIT
build/release/bench/courses "$T" "${BENCH_COURSES:-200}" "${BENCH_VIDEOS:-8}" "${BENCH_SEGMENTS:-20}" "${BENCH_QUESTIONS:-50}"
