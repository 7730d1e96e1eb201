#!/usr/bin/python3
"""eval_stats_ref.py - what a user would otherwise run for the eval statistics: scikit-learn and scipy
over the same labels, with a percentile bootstrap (numpy) of the same 6 statistics. Prints the median
time of R runs in ms and the point values (to check both computed the same thing).
Usage: eval_stats_ref.py LABELS_FILE DRAWS REPEATS"""
import sys
import time

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score


def stats(m, a, ar):
    return (accuracy_score(m, a), cohen_kappa_score(m, a, labels=[0, 1, 2]),
            cohen_kappa_score(m, a, labels=[0, 1, 2], weights="quadratic"), f1_score(m, a, average="macro"),
            spearmanr(ar, 2 - m).correlation, ar.mean())


def main():
    d = np.loadtxt(sys.argv[1], dtype=int)
    draws, reps = int(sys.argv[2]), int(sys.argv[3])
    m, a, ar = d[:, 0], d[:, 1], d[:, 2] / 3.0
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        point = stats(m, a, ar)
        rng = np.random.default_rng(20240601)
        reps_v = []
        for _ in range(draws):
            i = rng.integers(0, len(m), len(m))
            reps_v.append(stats(m[i], a[i], ar[i]))
        np.nanpercentile(np.array(reps_v), [2.5, 97.5], axis=0)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    print("%.3f kappa=%.6f qwk=%.6f f1=%.6f spearman=%.6f" % (times[len(times) // 2], point[1], point[2], point[3],
                                                             point[4]))


if __name__ == "__main__":
    main()
