#!/usr/bin/python3
"""bench_ask.py - driver of bench_ask.sh (see there). Prints one table with medians and ratios."""
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from llm_server import LLMServer  # noqa: E402


def course(tmp, ar):
    """The sample course when it is there, else the shared 3Blue1Brown Portuguese set."""
    ix = os.path.join(tmp, "bench.db")
    man = os.path.join(ROOT, "samples/course/manifest.csv")
    if os.path.exists(man):
        name, args = "samples/course", ["--manifest", man]
    else:
        data = os.path.join(ROOT, "../shared/data/transcripts-pt-3b1b")
        name, args = "shared 3b1b pt (no samples/course in this checkout)", [data]
    # a few real transcripts may be refused (reported by ingest); the rest is the course
    subprocess.run([ar, "ingest", "-i", ix, "--quiet"] + args, stderr=subprocess.DEVNULL)
    return name, ix


def questions(ix, n):
    """Questions from the course itself: 10 words from the middle of evenly spaced segments."""
    db = sqlite3.connect(ix)
    texts = [r[0] for r in db.execute("SELECT text FROM segments ORDER BY id")]
    db.close()
    qs = []
    for i in range(n):
        w = texts[(i * len(texts)) // n].split()
        mid = len(w) // 2
        qs.append(" ".join(w[max(0, mid - 5):mid + 5]) + "?")
    return qs


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


def run_all(cmds, llm_ms=None):
    """Wall time of each command in ms; minus the LLM's own latency (from --json) when asked."""
    out = []
    for c in cmds:
        t0 = time.perf_counter()
        r = subprocess.run(c, capture_output=True, text=True)
        dt = (time.perf_counter() - t0) * 1000
        if r.returncode != 0:
            raise SystemExit("failed: %s\n%s" % (c, r.stderr))
        if llm_ms:
            dt -= json.loads(r.stdout).get("llm", {}).get("latency_ms", 0)
        out.append(dt)
    return out


PY_CLIENT = r"""
import json, sys, urllib.request
body = json.dumps({"model": "bench", "messages": json.loads(sys.argv[2]), "temperature": 0, "seed": 42}).encode()
req = urllib.request.Request(sys.argv[1] + "/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req, timeout=30))["choices"][0]["message"]["content"])
"""


def main():
    ar, n = sys.argv[1], int(sys.argv[2])
    subprocess.run(["make", "-s", "-C", ROOT, "-j2", "build/release/bench/ask"], check=True)
    tmp = tempfile.mkdtemp(prefix="aularag-bench-ask-")
    name, ix = course(tmp, ar)
    qs = questions(ix, n)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_LLM", "OPENAI_"))}
    os.environ.clear()
    os.environ.update(env)
    rows = []
    base = [ar, "-i", ix, "-k", "10", "--json"]
    search = run_all([[ar, "search", "-i", ix, "-k", "10", "--json", q] for q in qs])
    rows.append(("search --json (retrieval floor)", search))
    extr = run_all([[ar, "ask", "-i", ix, "-k", "10", "--json", q] for q in qs])
    rows.append(("ask, extractive (no LLM)", extr))
    with LLMServer({"default": {"content": "Resposta [1] e [2]."}}) as srv:
        llm = run_all([[ar, "ask", "-i", ix, "-k", "10", "--json", "--no-cache", "--llm-url", srv.url, q] for q in qs],
                      llm_ms=True)
        rows.append(("ask, LLM path minus LLM latency", llm))
        cached = run_all([[ar, "ask", "-i", ix, "-k", "10", "--json", "--llm-url", srv.url, q] for q in qs[:50]])
        cached = run_all([[ar, "ask", "-i", ix, "-k", "10", "--json", "--llm-url", srv.url, q] for q in qs[:50]])
        rows.append(("ask, LLM answer from the cache (50 q)", cached))
        msgs = [m["body"]["messages"] for m in srv.requests()[:50]]
        py = run_all([["/usr/bin/python3", "-c", PY_CLIENT, srv.url, json.dumps(m)] for m in msgs])
        rows.append(("python3 urllib: the same LLM call alone (50 q)", py))
    del base
    # In one process (index opened once): the library's cost, without process start-up.
    drv = os.path.join(ROOT, "build/release/bench/ask")
    qin = "\n".join(qs) + "\n"

    def inproc(*args):
        r = subprocess.run([drv, ix] + list(args), input=qin, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("bench driver failed: %s" % r.stderr)
        return [float(a) - float(b) for a, b in (l.split() for l in r.stdout.splitlines())]

    rows.append(("in-process ar_ask, extractive", inproc("-")))
    with LLMServer({"default": {"content": "Resposta [1] e [2]."}}) as srv:
        rows.append(("in-process ar_ask, LLM path minus LLM latency", inproc(srv.url, "--no-cache")))
    rows.append(("process start alone (aularag --version)", run_all([[ar, "--version"]] * 50)))
    print("course: %s; %d questions; k=10; lexical; each row = one process per question (wall, ms)" % (name, n))
    print("note: the machine is shared with other jobs; numbers are noisy")
    print("%-48s %8s %8s %8s" % ("what", "p50", "p90", "mean"))
    for label, v in rows:
        print("%-48s %8.1f %8.1f %8.1f" % (label, statistics.median(v), pct(v, 90), statistics.mean(v)))
    p50 = {label: statistics.median(v) for label, v in rows}
    print("ratio: python client p50 / ask LLM-path overhead p50 = %.2fx"
          % (p50["python3 urllib: the same LLM call alone (50 q)"] / p50["ask, LLM path minus LLM latency"]))
    for label in ("ask, extractive (no LLM)", "ask, LLM path minus LLM latency", "in-process ar_ask, extractive",
                  "in-process ar_ask, LLM path minus LLM latency"):
        print("target p50 <= 50 ms (lexical): %-46s %s" % (label, "met" if p50[label] <= 50 else "NOT met"))
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
