#!/usr/bin/python3
"""vectors_faiss.py - bench helper: writes the random data (gen) or times FAISS IndexFlatIP (run).
  gen ROWS.f32 N DIM QUERIES.f32 NQ SEED [CROWD]   unit-norm gaussian rows and queries, raw float32;
      CROWD > 0 pulls every row and query toward one direction (mean cosine ~CROWD, like e5's 0.7-0.9)
  run ROWS.f32 N DIM QUERIES.f32 NQ K THREADS IDS_OUT   prints "faiss <median ms> <min ms>"
"""
import sys, time
import numpy as np


def gen(rows, n, dim, queries, nq, seed, crowd=0.0):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal(dim).astype(np.float32)
    base /= np.linalg.norm(base)
    a, b = np.float32(np.sqrt(crowd)), np.float32(np.sqrt(1 - crowd))

    def draw(m):
        x = rng.standard_normal((m, dim), dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        if crowd > 0:
            x = a * base + b * x
            x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x.astype(np.float32)

    with open(rows, "wb") as f:
        for lo in range(0, n, 100000):  # chunks keep the peak memory low
            draw(min(100000, n - lo)).tofile(f)
    draw(nq).tofile(queries)


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
        gen(a[2], int(a[3]), int(a[4]), a[5], int(a[6]), int(a[7]), float(a[8]) if len(a) > 8 else 0.0)
    else:
        run(a[2], int(a[3]), int(a[4]), a[5], int(a[6]), int(a[7]), int(a[8]), a[9])
