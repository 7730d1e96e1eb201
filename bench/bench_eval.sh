#!/usr/bin/env bash
# bench_eval.sh - `aularag eval` throughput excluding LLM time, on the sample course (questions repeated
# to N), and the statistics step against scikit-learn/scipy (what a user would otherwise run).
#   (a) no LLM: extractive answers, judges skipped (pure retrieval + answer + reports)
#   (b) test LLM server answering instantly, cache off: per-question time minus the LLM calls' latency
#   (c) the same run again from the LLM cache (what a re-run costs)
# Env: N (questions, default 240), RUNS (default 5), SAMPLES (course folder, default samples/course).
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
N=${N:-240}; RUNS=${RUNS:-5}; SAMPLES=${SAMPLES:-$ROOT/samples/course}
PY=/usr/bin/python3
make -s -j2 build/release/aularag build/release/bench/eval_stats >/dev/null || exit 1
AR=$ROOT/build/release/aularag
[ -f "$SAMPLES/questions.jsonl" ] || { echo "bench_eval: $SAMPLES/questions.jsonl missing (sample course)"; exit 1; }
T=$(mktemp -d /tmp/aularag-bench-eval-XXXXXX); trap 'kill $SRV 2>/dev/null; rm -rf "$T"' EXIT
SRV=
man=(); [ -f "$SAMPLES/manifest.csv" ] && man=(--manifest "$SAMPLES/manifest.csv")
"$AR" ingest -i "$T/ix.db" "${man[@]}" "$SAMPLES" >/dev/null 2>&1
$PY - "$SAMPLES/questions.jsonl" "$T/q.jsonl" "$N" <<'PYEOF'
import json, sys
qs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    for i in range(int(sys.argv[3])):
        q = dict(qs[i % len(qs)]); q["id"] = i + 1
        f.write(json.dumps(q, ensure_ascii=False) + "\n")
PYEOF
median() { sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
# wall seconds; the CPU seconds (user+sys) of the same run go to $T/cpu (the machine is shared: CPU time
# is the steadier number when other jobs compete for the cores)
wall() { /usr/bin/time -f "%e %U %S" -o "$T/time" "$@" >/dev/null 2>&1 || echo "FAILED: $*" >&2
  awk '{print $2 + $3}' "$T/time" >> "$T/cpu"; awk '{print $1}' "$T/time"; }
cpu_median() { median < "$T/cpu"; rm -f "$T/cpu"; }

# (a) no LLM
A=$(for i in $(seq "$RUNS"); do wall env -u AULARAG_LLM_URL -u AULARAG_JUDGE_URL "$AR" eval -i "$T/ix.db" \
      --questions "$T/q.jsonl" --out "$T/a" --concurrency 1 --quiet; done | median)
A_cpu=$(cpu_median)

# (b) instant test LLM, no cache; (c) the re-run from the cache
printf '%s' '{"default":{"content":"Criteria: c\nSupporting Evidence: e [1].\nScore: 2\nLabel: C"}}' > "$T/script.json"
$PY "$ROOT/tests/llm_server.py" --script "$T/script.json" > "$T/port" &
SRV=$!
for i in $(seq 50); do grep -q PORT "$T/port" 2>/dev/null && break; sleep 0.1; done
URL="http://127.0.0.1:$(awk '{print $2}' "$T/port")"
B_wall=(); B_cpu=()
for i in $(seq "$RUNS"); do
  rm -rf "$T/b"
  B_wall+=("$(wall "$AR" eval -i "$T/ix.db" --questions "$T/q.jsonl" --out "$T/b" --llm-url "$URL" --no-cache \
             --concurrency 1 --quiet)")
  # time per question outside the LLM calls = (answer + judge wall) - (their summed latency)
  B_cpu+=("$($PY -c "
import json,sys; r=json.load(open('$T/b/report.json'))
t=sum(i['answer_ms']+i['judge_ms']-i['answer_usage']['latency_ms']-i['judge_usage']['latency_ms'] for i in r['items'])
print(t/1000)")")
done
rm -f "$T/cpu"
CALLS=$($PY -c "import json; r=json.load(open('$T/b/report.json')); u=r['summary']['usage']; print(u['answer']['calls']+u['judge']['calls'])")
"$AR" eval -i "$T/ix.db" --questions "$T/q.jsonl" --out "$T/c" --llm-url "$URL" --concurrency 1 --quiet >/dev/null 2>&1
C=$(for i in $(seq "$RUNS"); do wall "$AR" eval -i "$T/ix.db" --questions "$T/q.jsonl" --out "$T/c" --llm-url "$URL" \
      --concurrency 1 --quiet; done | median)
C_cpu=$(cpu_median)
Bw=$(printf '%s\n' "${B_wall[@]}" | median); Bc=$(printf '%s\n' "${B_cpu[@]}" | median)

# statistics: ours vs sklearn/scipy on the same labels (N questions, 1000 bootstrap draws)
read -r OURS_MS OURS_VALS < <(build/release/bench/eval_stats "$N" 1000 7 "$T/labels.txt")
read -r REF_MS REF_VALS < <($PY bench/eval_stats_ref.py "$T/labels.txt" 1000 3)

echo "questions: $N (sample course questions repeated), 1 worker, median of $RUNS runs; 2-core machine shared"
echo "with other jobs: numbers are noisy"
printf '%-52s %9s %9s %12s %12s\n' "case" "wall s" "CPU s" "q/s (wall)" "q/s (CPU)"
printf '%-52s %9.3f %9.3f %12.1f %12.1f\n' "(a) no LLM: retrieve + extractive answer + reports" "$A" "$A_cpu" \
  "$(echo "$N / $A" | bc -l)" "$(echo "$N / $A_cpu" | bc -l)"
printf '%-52s %9.3f %9s %12.1f %12s\n' "(b) instant LLM, no cache: whole run" "$Bw" "" "$(echo "$N / $Bw" | bc -l)" ""
printf '%-52s %9.3f %9s %12.1f %12s\n' "(b) same, excluding LLM call time ($CALLS calls)" "$Bc" "" "$(echo "$N / $Bc" | bc -l)" ""
printf '%-52s %9.3f %9.3f %12.1f %12.1f\n' "(c) re-run, every LLM call from the cache" "$C" "$C_cpu" \
  "$(echo "$N / $C" | bc -l)" "$(echo "$N / $C_cpu" | bc -l)"
echo
printf '%-58s %10s %12s\n' "statistics + 6 bootstrap CIs (1000 draws), N=$N" "ms" "ratio"
printf '%-58s %10.1f %12s\n' "aularag (C, ar_eval_summarize)" "$OURS_MS" "1.0"
printf '%-58s %10.1f %12.1f\n' "scikit-learn + scipy + numpy bootstrap" "$REF_MS" "$(echo "$REF_MS / $OURS_MS" | bc -l)"
echo "point values  aularag: $OURS_VALS"
echo "              sklearn: $REF_VALS"
