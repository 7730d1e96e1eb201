#!/usr/bin/env bash
# bench_encoder.sh - E5 encoder throughput and latency: aularag (C) vs ONNX Runtime (npm onnxruntime-node,
# the same model exported from the PyTorch reference) vs PyTorch, same random weights, same run.
# Passages: batches of ENC_BATCH (4) sequences of 448 tokens; query: one 24-token sequence.
# aularag runs twice: its default packed kernel (the widest SIMD this CPU has, chosen at run time; its name is
# printed), and --gemm openblas (OpenBLAS sgemm) for reference; on an AVX-512 CPU a third time with
# AULARAG_KERNEL=avx2, the x86-64-v3 baseline kernel, to show what AVX-512 adds.
# int8: aularag --precision int8 vs ORT fp32 and vs ORT int8 (the same ONNX model with every weight MatMul
# replaced by com.microsoft.DynamicQuantizeMatMul, bench/onnx_q8.py; needs python3-onnx).
# Rounds (ENC_ROUNDS, 5) interleave the engines so load from other processes hits all alike;
# ENC_PASSAGE_REPS (5), ENC_QUERY_REPS (30) runs per engine and round. Env: ENC_MODELS ("e5-small e5-base"), ENC_THREADS (2),
# ENC_DIR (cache of generated models / ONNX files, default /tmp/aularag-bench-encoder).
set -eu
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
DIR=${ENC_DIR:-/tmp/aularag-bench-encoder}
MODELS=${ENC_MODELS:-e5-small e5-base}
THREADS=${ENC_THREADS:-2}
BATCH=${ENC_BATCH:-4}
ROUNDS=${ENC_ROUNDS:-5}
PREPS=${ENC_PASSAGE_REPS:-5}
QREPS=${ENC_QUERY_REPS:-30}
C=build/release/bench/encoder_bench
[ -x $C ] || make -s bench-bins >/dev/null
mkdir -p "$DIR"
$PY - "$DIR" <<'PY'
import json, random, sys
d = sys.argv[1]; r = random.Random(5)
with open(d + "/p448.jsonl", "w") as f:
  for _ in range(64): f.write(json.dumps([0] + [r.randrange(4, 250000) for _ in range(446)] + [2]) + "\n")
with open(d + "/q24.jsonl", "w") as f:
  f.write(json.dumps([0] + [r.randrange(4, 250000) for _ in range(22)] + [2]) + "\n")
PY
for m in $MODELS; do
  if [ ! -f "$DIR/$m/model.onnx" ]; then
    echo "generating $m (random weights, std 0.02) and exporting it to ONNX ..." >&2
    $PY tests/tools/make_model.py --preset $m --out "$DIR/$m" --std 0.02 --seed 7
    $PY tests/tools/ref_e5.py "$DIR/$m" --onnx "$DIR/$m/model.onnx" >/dev/null 2>&1
  fi
  [ -f "$DIR/$m/model_q8.onnx" ] || $PY bench/onnx_q8.py "$DIR/$m/model.onnx" "$DIR/$m/model_q8.onnx"
done
num() { grep -oE "$1 [0-9.]+" | head -1 | awk '{print $NF}'; }
gflops() { sed -nE 's/.* ([0-9.]+) GFLOP\/s.*/\1/p'; }
med() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
R=$(mktemp -d); trap 'rm -rf "$R"' EXIT
# ratio of medians can mislead on a machine whose speed drifts for minutes: the "vs" columns are
# medians of per-round ratios, each taken between runs seconds apart
rmed() { paste "$1" "$2" | awk '{print $1 / $2}' | med; }
for ((r = 1; r <= ROUNDS; r++)); do
  for m in $MODELS; do
    H=$(grep -oE '"hidden_size": [0-9]+' "$DIR/$m/config.json" | grep -oE '[0-9]+$')
    F=$(grep -oE '"intermediate_size": [0-9]+' "$DIR/$m/config.json" | grep -oE '[0-9]+$')
    $C peak $((BATCH * 448)) $F $H 5 $THREADS | gflops >>"$R/$m.peak"
    out=$($C embed "$DIR/$m" "$DIR/p448.jsonl" $BATCH $PREPS $THREADS)
    echo "$out" | num median >>"$R/$m.c.p"; echo "$out" | gflops >>"$R/$m.c.gf"
    echo "$out" | grep -oE 'kernel [a-z0-9]+' | head -1 | awk '{print $2}' >"$R/kernel"
    echo "$out" | grep -oE 'RSS [0-9]+' | num RSS >>"$R/$m.c.rss"
    out=$(node bench/ort_encoder.js "$DIR/$m/model.onnx" "$DIR/p448.jsonl" $BATCH $PREPS $THREADS)
    echo "$out" | num median >>"$R/$m.ort.p"; echo "$out" | num rss >>"$R/$m.ort.rss"
    ENC_GEMM=openblas $C embed "$DIR/$m" "$DIR/p448.jsonl" $BATCH $PREPS $THREADS | num median >>"$R/$m.b.p"
    $PY bench/torch_encoder.py "$DIR/$m" "$DIR/p448.jsonl" $BATCH $PREPS $THREADS | num median >>"$R/$m.pt.p"
    $C embed "$DIR/$m" "$DIR/q24.jsonl" 1 $QREPS $THREADS | num median >>"$R/$m.c.q"
    out=$(ENC_PRECISION=int8 $C embed "$DIR/$m" "$DIR/p448.jsonl" $BATCH $PREPS $THREADS)
    echo "$out" | num median >>"$R/$m.i8.p"; echo "$out" | grep -oE 'RSS [0-9]+' | num RSS >>"$R/$m.i8.rss"
    out=$(node bench/ort_encoder.js "$DIR/$m/model_q8.onnx" "$DIR/p448.jsonl" $BATCH $PREPS $THREADS)
    echo "$out" | num median >>"$R/$m.oq.p"; echo "$out" | num rss >>"$R/$m.oq.rss"
    ENC_PRECISION=int8 $C embed "$DIR/$m" "$DIR/q24.jsonl" 1 $QREPS $THREADS | num median >>"$R/$m.i8.q"
    node bench/ort_encoder.js "$DIR/$m/model_q8.onnx" "$DIR/q24.jsonl" 1 $QREPS $THREADS | num median >>"$R/$m.oq.q"
    node bench/ort_encoder.js "$DIR/$m/model.onnx" "$DIR/q24.jsonl" 1 $QREPS $THREADS | num median >>"$R/$m.ort.q"
    ENC_GEMM=openblas $C embed "$DIR/$m" "$DIR/q24.jsonl" 1 $QREPS $THREADS | num median >>"$R/$m.b.q"
    $PY bench/torch_encoder.py "$DIR/$m" "$DIR/q24.jsonl" 1 $QREPS $THREADS | num median >>"$R/$m.pt.q"
    if [ "$(cat "$R/kernel")" = avx512 ]; then
      AULARAG_KERNEL=avx2 $C embed "$DIR/$m" "$DIR/p448.jsonl" $BATCH $PREPS $THREADS | num median >>"$R/$m.a2.p"
      AULARAG_KERNEL=avx2 $C embed "$DIR/$m" "$DIR/q24.jsonl" 1 $QREPS $THREADS | num median >>"$R/$m.a2.q"
    fi
  done
done
echo "encoder: $THREADS threads, passages = $BATCH x 448 tokens, query = 1 x 24 tokens, $ROUNDS interleaved rounds, aularag kernel $(cat "$R/kernel")"
echo "(times: medians over rounds; vs: medians of per-round ratios, > 1 means aularag is faster)"
printf '%-9s %-22s %12s %12s %12s %9s %9s\n' model metric aularag onnxruntime pytorch "vs ORT" "vs torch"
for m in $MODELS; do
  T=$((BATCH * 448))
  cp=$(med <"$R/$m.c.p"); op=$(med <"$R/$m.ort.p"); pp=$(med <"$R/$m.pt.p")
  cq=$(med <"$R/$m.c.q"); oq=$(med <"$R/$m.ort.q"); pq=$(med <"$R/$m.pt.q")
  awk -v m=$m -v T=$T -v c=$cp -v o=$op -v p=$pp -v ro=$(rmed "$R/$m.ort.p" "$R/$m.c.p") -v rp=$(rmed "$R/$m.pt.p" "$R/$m.c.p") \
    'BEGIN { printf "%-9s %-22s %12.0f %12.0f %12.0f %8.2fx %8.2fx\n", m, "passages tokens/s", T/c, T/o, T/p, ro, rp }'
  awk -v m=$m -v c=$cq -v o=$oq -v p=$pq -v ro=$(rmed "$R/$m.ort.q" "$R/$m.c.q") -v rp=$(rmed "$R/$m.pt.q" "$R/$m.c.q") \
    'BEGIN { printf "%-9s %-22s %12.2f %12.2f %12.2f %8.2fx %8.2fx\n", m, "query latency ms", c*1e3, o*1e3, p*1e3, ro, rp }'
  bp=$(med <"$R/$m.b.p"); bq=$(med <"$R/$m.b.q")
  awk -v m=$m -v T=$T -v b=$bp -v r=$(rmed "$R/$m.b.p" "$R/$m.c.p") 'BEGIN { printf "%-9s %-22s %12.0f %12s %12s   (aularag --gemm openblas; packed is %.2fx)\n", m, "passages tokens/s", T/b, "-", "-", r }'
  awk -v m=$m -v b=$bq -v r=$(rmed "$R/$m.b.q" "$R/$m.c.q") 'BEGIN { printf "%-9s %-22s %12.2f %12s %12s   (aularag --gemm openblas; packed is %.2fx)\n", m, "query latency ms", b*1e3, "-", "-", r }'
  if [ -s "$R/$m.a2.p" ]; then
    ap=$(med <"$R/$m.a2.p"); aq=$(med <"$R/$m.a2.q")
    awk -v m=$m -v T=$T -v a=$ap -v r=$(rmed "$R/$m.a2.p" "$R/$m.c.p") -v ro=$(rmed "$R/$m.ort.p" "$R/$m.a2.p") 'BEGIN { printf "%-9s %-22s %12.0f %12s %12s   (aularag AULARAG_KERNEL=avx2: %.2fx ORT; avx512 is %.2fx)\n", m, "passages tokens/s", T/a, "-", "-", ro, r }'
    awk -v m=$m -v a=$aq -v r=$(rmed "$R/$m.a2.q" "$R/$m.c.q") -v ro=$(rmed "$R/$m.ort.q" "$R/$m.a2.q") 'BEGIN { printf "%-9s %-22s %12.2f %12s %12s   (aularag AULARAG_KERNEL=avx2: %.2fx ORT; avx512 is %.2fx)\n", m, "query latency ms", a*1e3, "-", "-", ro, r }'
  fi
  for x in ort b pt; do paste "$R/$m.$x.p" "$R/$m.c.p" | awk '{printf "%.2f ", $1 / $2}' >"$R/$m.$x.pr"; done
  echo "          per-round passage ratios: ORT $(cat "$R/$m.ort.pr")| openblas $(cat "$R/$m.b.pr")| torch $(cat "$R/$m.pt.pr")"
  for x in ort b pt; do paste "$R/$m.$x.q" "$R/$m.c.q" | awk '{printf "%.2f ", $1 / $2}' >"$R/$m.$x.qr"; done
  echo "          per-round query ratios:   ORT $(cat "$R/$m.ort.qr")| openblas $(cat "$R/$m.b.qr")| torch $(cat "$R/$m.pt.qr")"
  gf=$(med <"$R/$m.c.gf"); pk=$(med <"$R/$m.peak"); rss=$(med <"$R/$m.c.rss")
  w=$($PY -c "
import json,struct,sys
f=open('$DIR/$m/model.safetensors','rb'); n=struct.unpack('<Q',f.read(8))[0]; h=json.loads(f.read(n)); t=0
for k,v in h.items():
  if k!='__metadata__' and v['dtype'] in ('F32','F16','BF16') and not k.startswith('pooler'):
    c=1
    for d in v['shape']: c*=d
    t+=c
print(t*4//1024)")
  awk -v m=$m -v g=$gf -v k=$pk -v f=$(rmed "$R/$m.c.gf" "$R/$m.peak") 'BEGIN { printf "%-9s %-22s %12.1f %12s %12s   (%.0f%% of OpenBLAS sgemm peak %.1f GFLOP/s, same rounds)\n", m, "passages GFLOP/s", g, "-", "-", 100*f, k }'
  awk -v m=$m -v r=$rss -v w=$w 'BEGIN { printf "%-9s %-22s %12.0f %12s %12s   (%.2fx the fp32 weights, %.0f MB)\n", m, "peak RSS MB", r/1024, "-", "-", r/w, w/1024 }'
done
echo
echo "int8 (--precision int8) vs ONNX Runtime fp32 and int8 (DynamicQuantizeMatMul), same rounds; > 1: aularag faster"
printf '%-9s %-22s %12s %12s %12s %9s %9s\n' model metric "aularag i8" "ORT fp32" "ORT int8" "vs fp32" "vs int8"
for m in $MODELS; do
  T=$((BATCH * 448))
  awk -v m=$m -v T=$T -v c=$(med <"$R/$m.i8.p") -v o=$(med <"$R/$m.ort.p") -v q=$(med <"$R/$m.oq.p") \
    -v r1=$(rmed "$R/$m.ort.p" "$R/$m.i8.p") -v r2=$(rmed "$R/$m.oq.p" "$R/$m.i8.p") \
    'BEGIN { printf "%-9s %-22s %12.0f %12.0f %12.0f %8.2fx %8.2fx\n", m, "passages tokens/s", T/c, T/o, T/q, r1, r2 }'
  awk -v m=$m -v c=$(med <"$R/$m.i8.q") -v o=$(med <"$R/$m.ort.q") -v q=$(med <"$R/$m.oq.q") \
    -v r1=$(rmed "$R/$m.ort.q" "$R/$m.i8.q") -v r2=$(rmed "$R/$m.oq.q" "$R/$m.i8.q") \
    'BEGIN { printf "%-9s %-22s %12.2f %12.2f %12.2f %8.2fx %8.2fx\n", m, "query latency ms", c*1e3, o*1e3, q*1e3, r1, r2 }'
  awk -v m=$m -v c=$(med <"$R/$m.i8.rss") -v o=$(med <"$R/$m.ort.rss") -v q=$(med <"$R/$m.oq.rss") \
    'BEGIN { printf "%-9s %-22s %12.0f %12.0f %12.0f\n", m, "peak RSS MB (passages)", c/1024, o/1024, q/1024 }'
  for x in ort oq; do paste "$R/$m.$x.p" "$R/$m.i8.p" | awk '{printf "%.2f ", $1 / $2}' >"$R/$m.$x.i8r"; done
  echo "          per-round passage ratios: ORT fp32 $(cat "$R/$m.ort.i8r")| ORT int8 $(cat "$R/$m.oq.i8r")"
done
