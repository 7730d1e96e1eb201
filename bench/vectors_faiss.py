#!/usr/bin/python3
"""vectors_faiss.py - bench helper: writes the random data (gen) or times FAISS IndexFlatIP (run).
  gen ROWS.f32 N DIM QUERIES.f32 NQ SEED   unit-norm gaussian rows and queries, raw float32
  run ROWS.f32 N DIM QUERIES.f32 NQ K THREADS IDS_OUT   prints "faiss <median ms> <min ms>"
"""
import sys, time
import numpy as np


def gen(rows, n, dim, queries, nq, seed):
    rng = np.random.default_rng(seed)
    with open(rows, "wb") as f:
        for lo in range(0, n, 100000):  # chunks keep the peak memory low
            x = rng.standard_normal((min(100000, n - lo), dim), dtype=np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            x.tofile(f)
    q = rng.standard_normal((nq, dim), dtype=np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    q.tofile(queries)


def run(rows, n, dim, queries, nq, k, threads, ids_out):
    import faiss
    faiss.omp_set_num_threads(threads)
    x = np.fromfile(rows, dtype=np.float32, count=n * dim).reshape(n, dim)
    q = np.fromfile(queries, dtype=np.float32, count=nq * dim).reshape(nq, dim)
    index = faiss.IndexFlatIP(dim)
    index.add(x)
    del x
    index.search(q[:1], k)  # warm-up
    ms, out = [], []
    for i in range(nq):
        t = time.perf_counter()
        _, ids = index.search(q[i:i + 1], k)
        ms.append((time.perf_counter() - t) * 1e3)
        out.append(" ".join(str(int(v)) for v in ids[0]))
    with open(ids_out, "w") as f:
        f.write("\n".join(out) + "\n")
    print("faiss %.4f %.4f" % (float(np.median(ms)), min(ms)))


if __name__ == "__main__":
    a = sys.argv
    if a[1] == "gen":
        gen(a[2], int(a[3]), int(a[4]), a[5], int(a[6]), int(a[7]))
    else:
        run(a[2], int(a[3]), int(a[4]), a[5], int(a[6]), int(a[7]), int(a[8]), a[9])
