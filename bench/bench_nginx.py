"""bench_nginx.py - the driver of bench_nginx.sh (see there). Starts the replicas with checks.Server and nginx
with tests/integration/nginx.py, the same helpers the replica test uses."""
import os, re, statistics, subprocess, sys, tempfile, time
from urllib.parse import quote

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import checks  # noqa: E402
import nginx  # noqa: E402

AR = os.environ.get("AULARAG_BIN", os.path.join(ROOT, "build", "release", "aularag"))
RUNS, DURATION = int(os.environ.get("RUNS", 3)), int(os.environ.get("DURATION", 5))
CONNS, THREADS = int(os.environ.get("CONNS", 32)), os.environ.get("THREADS", "4")
QUESTIONS = ["o que é uma rede neural", "como funciona a retropropagação", "o que é o gradiente descendente",
             "para que serve a função de custo", "o que é um autovetor", "como calcular o determinante de uma matriz",
             "o que significa uma transformação linear", "qual a intuição da derivada", "o que é a regra da cadeia",
             "como funciona o mecanismo de atenção", "o que é um transformer", "por que a série de Fourier funciona",
             "o que é a integral", "qual a relação entre seno e cosseno", "o que é um número complexo",
             "como funciona o produto vetorial", "o que é a mudança de base", "o que é probabilidade condicional",
             "como funciona o teorema de Bayes", "o que é entropia"]


def wrk(port, lua, secs):
    """(req/s, p50 ms, p99 ms, requests, errors) of one wrk run."""
    o = subprocess.run(["wrk", "-t2", "-c%d" % CONNS, "-d%ds" % secs, "--latency", "-s", lua,
                        "http://127.0.0.1:%d" % port], capture_output=True, text=True).stdout

    def ms(tag):
        m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % tag, o, re.M)
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)] if m else float("nan")
    errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", o))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", o)
    return (float(re.search(r"Requests/sec:\s+([\d.]+)", o).group(1)), ms("50%"), ms("99%"),
            int(re.search(r"(\d+) requests in", o).group(1)), errs + (int(m.group(1)) if m else 0))


def main():
    data = sys.argv[1]
    T = tempfile.mkdtemp(prefix="aularag-bench-nginx-")
    live, snap = os.path.join(T, "live.db"), os.path.join(T, "snap.db")
    subprocess.run([AR, "ingest", "-q", "-i", live, data], check=True, capture_output=True)
    r = subprocess.run([AR, "snapshot", "-i", live, snap], check=True, capture_output=True, text=True)
    print(r.stdout.strip())
    lua = os.path.join(T, "search.lua")
    with open(lua, "w") as f:
        f.write("local qs = {%s}\nlocal i = 0\nrequest = function()\n  i = i + 1\n"
                '  return wrk.format("GET", "/api/search?k=10&mode=lexical&q=" .. qs[(i %% #qs) + 1])\nend\n'
                % ",".join('"%s"' % quote(q) for q in QUESTIONS))
    ports = [nginx.free_port(), nginx.free_port()]
    reps = [checks.Server(AR, snap, "--port", str(p), "--threads", THREADS, "--search-cache", "0") for p in ports]
    ngx1 = nginx.Nginx(nginx.deploy_conf(ports[:1]), workers=os.cpu_count() or 1)
    ngx2 = nginx.Nginx(nginx.deploy_conf(ports), workers=os.cpu_count() or 1)
    targets = [("direct to 1 replica", ports[0]), ("nginx -> 1 replica", ngx1.port), ("nginx -> 2 replicas", ngx2.port)]
    try:
        for _, port in targets:
            wrk(port, lua, 1)   # warm-up: connections, page cache, postings
        res = {name: [] for name, _ in targets}
        for _ in range(RUNS):   # interleaved, so the machine's load hits every target alike
            for name, port in targets:
                res[name].append(wrk(port, lua, DURATION))
    finally:
        ngx1.stop()
        ngx2.stop()
        for rp in reps:
            rp.stop()
    print("wrk -t2 -c%d -d%ds against /api/search?k=10&mode=lexical (20 rotating questions, --search-cache 0, "
          "%s workers per replica), median of %d interleaved rounds" % (CONNS, DURATION, THREADS, RUNS))
    print("%-22s %9s %8s %8s %9s %7s %s" % ("path", "req/s", "p50 ms", "p99 ms", "requests", "errors", "vs direct"))
    base = statistics.median(r[0] for r in res[targets[0][0]])
    for name, _ in targets:
        rows = res[name]
        rps = statistics.median(r[0] for r in rows)
        print("%-22s %9.0f %8.2f %8.2f %9d %7d %8.2fx" % (name, rps, statistics.median(r[1] for r in rows),
              statistics.median(r[2] for r in rows), sum(r[3] for r in rows), sum(r[4] for r in rows), rps / base))
    print("load average during the run: %s on %d cores (shared machine: noisy)" % (
        " ".join(open("/proc/loadavg").read().split()[:3]), os.cpu_count()))
    subprocess.run(["rm", "-rf", T])


main()
