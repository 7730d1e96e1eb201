#!/usr/bin/env bash
# bench_parse.sh - transcript parse speed over every shared SRT (3Blue1Brown pt + CS231n en), ours vs
# the Python `srt` library. Medians of CPU time (steadier than wall time on a shared machine).
# Usage: bash bench/bench_parse.sh [REPEATS]   (needs `make bench-bins`, python3-srt)
set -eu
cd "$(dirname "$0")/.."
reps=${1:-7}
DATA=${AULARAG_DATA:-../shared/data}
[ -d "$DATA" ] || { echo "shared data missing: expected $DATA"; exit 1; }
[ -x build/release/bench/parse ] || make -s bench-bins >/dev/null
files=("$DATA"/transcripts-pt-3b1b/*/*.srt "$DATA"/transcripts-en-cs231n/*/eng/*.srt)
bytes=$(cat "${files[@]}" | wc -c)
ours=$(build/release/bench/parse -r "$reps" "${files[@]}")
ours_seg=$(build/release/bench/parse -r "$reps" -s "${files[@]}")
py=$(/usr/bin/python3 bench/parse_srt_py.py "$reps" "${files[@]}")
field() { grep -oE "$1 [0-9.]+" <<<"$2" | cut -d' ' -f2; }
t_ours=$(field median_cpu_s "$ours"); t_seg=$(field median_cpu_s "$ours_seg"); t_py=$(field median_cpu_s "$py")
echo "${#files[@]} files, $bytes bytes, $(field cues "$ours") cues (ours), $(field cues "$py") cues (python srt); median of $reps runs, CPU seconds"
printf '%-34s %10s %10s %10s\n' tool median_s MB/s vs_srt
row() { awk -v n="$1" -v t="$2" -v b="$bytes" -v base="$t_py" 'BEGIN { printf "%-34s %10.4f %10.1f %9.1fx\n", n, t, b / 1e6 / t, base / t }'; }
row "aularag parse (C)" "$t_ours"
row "aularag parse + segment (C)" "$t_seg"
row "python srt.parse (3.5.2)" "$t_py"
