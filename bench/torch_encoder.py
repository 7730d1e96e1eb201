#!/usr/bin/python3
"""torch_encoder.py - times the PyTorch reference encoder (tests/tools/ref_e5.py), 2 threads by default.
  torch_encoder.py MODEL_DIR IDS.jsonl BATCH REPS THREADS  -> "torch median S s rss KB" """
import json, os, resource, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tools"))
import torch  # noqa: E402
import ref_e5  # noqa: E402

model, ids_path, batch, reps, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
seqs = [json.loads(l) for l in open(ids_path) if l.strip()][:batch]
m = ref_e5.Ref(model).eval()
ref_e5.embed_ids(m, seqs, batch)  # warm-up
t = []
for _ in range(reps):
  t0 = time.perf_counter()
  ref_e5.embed_ids(m, seqs, batch)
  t.append(time.perf_counter() - t0)
t.sort()
med = t[len(t) // 2] if len(t) % 2 else 0.5 * (t[len(t) // 2 - 1] + t[len(t) // 2])
print("torch median %.5f s rss %d KB" % (med, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
