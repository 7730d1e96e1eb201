#!/usr/bin/env python3
"""ort_encoder.py - like ort_encoder.js, with the onnxruntime Python package (for machines with it but no node).
  ort_encoder.py MODEL.onnx IDS.jsonl BATCH REPS THREADS  -> "ort median S s" """
import json, sys, time
import numpy as np
import onnxruntime as ort

model, ids_path, batch, reps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
seqs = [json.loads(l) for l in open(ids_path) if l.strip()][:batch]
S = max(len(s) for s in seqs)
ids = np.ones((batch, S), dtype=np.int64)
mask = np.zeros((batch, S), dtype=np.int64)
for i, s in enumerate(seqs):
  ids[i, :len(s)] = s
  mask[i, :len(s)] = 1
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
feeds = {"input_ids": ids, "attention_mask": mask}
sess.run(None, feeds)
t = []
for _ in range(reps):
  t0 = time.perf_counter()
  sess.run(None, feeds)
  t.append(time.perf_counter() - t0)
t.sort()
med = t[len(t) // 2] if len(t) % 2 else 0.5 * (t[len(t) // 2 - 1] + t[len(t) // 2])
print("ort median %.5f s" % med)
