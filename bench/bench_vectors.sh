#!/usr/bin/env bash
# bench_vectors.sh - exact top-10 single-query latency over 10k and 1M random unit vectors of 384 dims:
# ar_dense_topk (int8 scan with a provable bound + fp32 rescoring; and the plain fp32 scan) against
# FAISS IndexFlatIP (Debian python3-faiss), same data, same run, both cores. Medians over the queries.
# Needs ~5 GB of free memory for the 1M case (FAISS holds its own copy). BENCH_VECTORS_MAX=10000 skips it.
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/release/bench/vectors_topk >/dev/null
PY=/usr/bin/python3
T=$(mktemp -d /tmp/aularag-bench-vectors-XXXXXX); trap 'rm -rf "$T"' EXIT
dim=384; k=10; threads=2
printf '%-9s %5s %12s %12s %12s %10s %10s %s\n' rows queries "int8 ms" "fp32 ms" "faiss ms" "faiss/int8" "faiss/fp32" "same ids"
for n in 10000 1000000; do
  [ "$n" -gt "${BENCH_VECTORS_MAX:-1000000}" ] && continue
  nq=$([ "$n" -le 10000 ] && echo 200 || echo 30)
  $PY bench/vectors_faiss.py gen "$T/r.f32" $n $dim "$T/q.f32" $nq 1
  ours=$(build/release/bench/vectors_topk "$T/r.f32" $n $dim "$T/q.f32" $nq $k $threads "$T/ours.txt" 2>/dev/null)
  faiss=$($PY bench/vectors_faiss.py run "$T/r.f32" $n $dim "$T/q.f32" $nq $k $threads "$T/faiss.txt")
  i8=$(awk '$1=="int8"{print $2}' <<<"$ours"); f32=$(awk '$1=="fp32"{print $2}' <<<"$ours")
  fa=$(awk '{print $2}' <<<"$faiss")
  same=$(paste -d'|' "$T/ours.txt" "$T/faiss.txt" | awk -F'|' '$1==$2{s++} END{printf "%d/%d", s, NR}')
  printf '%-9s %5s %12s %12s %12s %9.1fx %9.1fx %s\n' $n $nq "$i8" "$f32" "$fa" \
    "$(awk "BEGIN{print $fa / $i8}")" "$(awk "BEGIN{print $fa / $f32}")" "$same"
  rm -f "$T"/*.f32
done
echo "(ours: bench/vectors_topk.c, FAISS $($PY -c 'import faiss; print(faiss.__version__)') IndexFlatIP with $threads OpenMP threads; k=$k, dim=$dim)"
