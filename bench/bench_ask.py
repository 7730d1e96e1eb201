#!/usr/bin/python3
"""bench_ask.py - driver of bench_ask.sh (see there). Prints one table with medians and ratios."""
import json
import os
import resource
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
    ix = os.path.join(tmp, "sample.db" if os.path.exists(os.path.join(ROOT, "samples/course/manifest.csv")) else "bench.db")
    man = os.path.join(ROOT, "samples/course/manifest.csv")
    if os.path.exists(man):
        name, args = "samples/course", ["--manifest", man, os.path.dirname(man)]
    else:
        data = os.path.join(ROOT, "../shared/data/transcripts-pt-3b1b")
        name, args = "shared 3b1b pt (no samples/course in this checkout)", [data]
    # a few real transcripts may be refused (reported by ingest); the rest is the course
    subprocess.run([ar, "ingest", "-i", ix, "--quiet"] + args, stderr=subprocess.DEVNULL)
    return name, ix


def questions(ix, n):
    """The course's question set when it has one, then 10-word windows of its own segments (at
    shifting offsets, so a small course still gives n distinct questions)."""
    qs = []
    qfile = os.path.join(ROOT, "samples/course/questions.jsonl")
    if "sample" in ix and os.path.exists(qfile):
        with open(qfile, encoding="utf-8") as f:
            qs = [json.loads(l)["question"] for l in f if l.strip()][:n]
    db = sqlite3.connect(ix)
    texts = [r[0].split() for r in db.execute("SELECT text FROM segments ORDER BY id")]
    db.close()
    i = 0
    while len(qs) < n:
        w = texts[i % len(texts)]
        off = (i // len(texts)) * 7 % max(1, len(w) - 10)
        qs.append(" ".join(w[off:off + 10]) + "?")
        i += 1
    return qs


def small_e5(tmp, ix):
    """An e5-small-shaped model (tests/tools/make_model.py) with a tokenizer trained on the course."""
    py = "/usr/bin/python3"
    text = os.path.join(tmp, "text.txt")
    db = sqlite3.connect(ix)
    with open(text, "w", encoding="utf-8") as f:
        for (t,) in db.execute("SELECT text FROM segments"):
            f.write(t + "\n")
    db.close()
    tok, mdir = os.path.join(tmp, "tok"), os.path.join(tmp, "e5-small")
    subprocess.run([py, os.path.join(ROOT, "tests/tools/make_tokenizer.py"), "--text", text, "--vocab", "1000",
                    "--out", tok], check=True, capture_output=True)
    subprocess.run([py, os.path.join(ROOT, "tests/tools/make_model.py"), "--preset", "e5-small", "--vocab", "1002",
                    "--seed", "1", "--out", mdir, "--tokenizer", tok], check=True, capture_output=True)
    return mdir


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(p / 100 * len(v)))]


CPU = {}  # label -> CPU ms (user + sys) of each process: steadier than wall time on a loaded machine


def run_all(cmds, llm_ms=None, cpu_key=None):
    """Wall time of each command in ms; minus the LLM's own latency (from --json) when asked.
    The child's CPU time (which never includes waiting for the LLM) goes to CPU[cpu_key]."""
    out, cpu = [], []
    for c in cmds:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(c, capture_output=True, text=True)
        dt = (time.perf_counter() - t0) * 1000
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append((r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000)
        if r.returncode != 0:
            raise SystemExit("failed: %s\n%s" % (c, r.stderr))
        if llm_ms:
            dt -= json.loads(r.stdout).get("llm", {}).get("latency_ms", 0)
        out.append(dt)
    if cpu_key:
        CPU[cpu_key] = cpu
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
    search = run_all([[ar, "search", "-i", ix, "-k", "10", "--json", q] for q in qs], cpu_key="search --json (retrieval floor)")
    rows.append(("search --json (retrieval floor)", search))
    extr = run_all([[ar, "ask", "-i", ix, "-k", "10", "--json", q] for q in qs], cpu_key="ask, extractive (no LLM)")
    rows.append(("ask, extractive (no LLM)", extr))
    with LLMServer({"default": {"content": "Resposta [1] e [2]."}}) as srv:
        llm = run_all([[ar, "ask", "-i", ix, "-k", "10", "--json", "--no-cache", "--llm-url", srv.url, q] for q in qs],
                      llm_ms=True, cpu_key="ask, LLM path minus LLM latency")
        rows.append(("ask, LLM path minus LLM latency", llm))
        cached = run_all([[ar, "ask", "-i", ix, "-k", "10", "--json", "--llm-url", srv.url, q] for q in qs[:50]])
        cached = run_all([[ar, "ask", "-i", ix, "-k", "10", "--json", "--llm-url", srv.url, q] for q in qs[:50]],
                         cpu_key="ask, LLM answer from the cache (50 q)")
        rows.append(("ask, LLM answer from the cache (50 q)", cached))
        msgs = [m["body"]["messages"] for m in srv.requests()[:50]]
        py = run_all([["/usr/bin/python3", "-c", PY_CLIENT, srv.url, json.dumps(m)] for m in msgs],
                     cpu_key="python3 urllib: the same LLM call alone (50 q)")
        rows.append(("python3 urllib: the same LLM call alone (50 q)", py))
    del base
    # In one process (index opened once): the library's cost, without process start-up.
    drv = os.path.join(ROOT, "build/release/bench/ask")
    qin = "\n".join(qs) + "\n"

    def inproc(*args):
        return inproc_ix(ix, *args)

    def inproc_ix(index, *args):
        r = subprocess.run([drv, index] + list(args), input=qin, capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit("bench driver failed: %s" % r.stderr)
        return [float(a) - float(b) for a, b in (l.split() for l in r.stdout.splitlines())]

    rows.append(("in-process ar_ask, extractive", inproc()))
    with LLMServer({"default": {"content": "Resposta [1] e [2]."}}) as srv:
        rows.append(("in-process ar_ask, LLM path minus LLM latency", inproc("--llm", srv.url, "--no-cache")))
    rows.append(("process start alone (aularag --version)",
                 run_all([[ar, "--version"]] * 50, cpu_key="process start alone (aularag --version)")))
    # Hybrid with an e5-small-shaped model (random weights: 384 wide, 12 layers; a small tokenizer
    # trained on the course, so the embedding table is small but the forward pass is e5-small's).
    if os.environ.get("BENCH_ASK_DENSE", "1") == "1":
        mdir = small_e5(tmp, ix)
        dix = os.path.join(tmp, "dense.db")
        man = os.path.join(ROOT, "samples/course/manifest.csv")
        src = ["--manifest", man, os.path.dirname(man)] if os.path.exists(man) else \
            [os.path.join(ROOT, "../shared/data/transcripts-pt-3b1b")]
        subprocess.run([ar, "ingest", "-i", dix, "--quiet", "--model", mdir] + src, stderr=subprocess.DEVNULL)
        nd = min(n, 100)
        with LLMServer({"default": {"content": "Resposta [1] e [2]."}}) as srv:
            rows.append(("hybrid e5-small: ask, LLM path minus LLM (%d q)" % nd,
                         run_all([[ar, "ask", "-i", dix, "--model", mdir, "--mode", "hybrid", "-k", "10", "--json",
                                   "--no-cache", "--llm-url", srv.url, q] for q in qs[:nd]], llm_ms=True,
                                 cpu_key="hybrid e5-small: ask, LLM path minus LLM (%d q)" % nd)))
            rows.append(("hybrid e5-small: in-process ar_ask, LLM path",
                         inproc_ix(dix, "--llm", srv.url, "--no-cache", "--model", mdir, "--mode", "hybrid")))
        rows.append(("hybrid e5-small: ask, extractive (%d q)" % nd,
                     run_all([[ar, "ask", "-i", dix, "--model", mdir, "--mode", "hybrid", "-k", "10", "--json", q]
                              for q in qs[:nd]], cpu_key="hybrid e5-small: ask, extractive (%d q)" % nd)))
    print("course: %s; %d questions; k=10; lexical; each row = one process per question (wall, ms)" % (name, n))
    print("note: the machine is shared with other jobs; numbers are noisy")
    print("%-52s %8s %8s %8s %9s" % ("what", "p50", "p90", "mean", "cpu p50"))
    for label, v in rows:
        c = CPU.get(label)
        print("%-52s %8.1f %8.1f %8.1f %9s" % (label, statistics.median(v), pct(v, 90), statistics.mean(v),
                                              "%.1f" % statistics.median(c) if c else "-"))
    print("(wall ms per question; cpu = user+sys ms of the process, which never includes waiting for the LLM;"
          " in-process rows: wall of ar_ask + JSON)")
    p50 = {label: statistics.median(v) for label, v in rows}
    print("ratio: python client p50 / ask LLM-path overhead p50 = %.2fx"
          % (p50["python3 urllib: the same LLM call alone (50 q)"] / p50["ask, LLM path minus LLM latency"]))
    for label in ("ask, extractive (no LLM)", "ask, LLM path minus LLM latency", "in-process ar_ask, extractive",
                  "in-process ar_ask, LLM path minus LLM latency"):
        print("target p50 <= 50 ms (lexical): %-48s %s" % (label, "met" if p50[label] <= 50 else "NOT met"))
    for label in p50:
        if label.startswith("hybrid e5-small"):
            print("target p50 <= 100 ms (e5-small): %-45s %s" % (label, "met" if p50[label] <= 100 else "NOT met"))
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
