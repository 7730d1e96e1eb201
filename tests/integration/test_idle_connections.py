#!/usr/bin/python3
"""test_idle_connections.py - 1,000 idle connections from 1,000 loopback addresses (127.1.x.y, one each, so
the per-address limit does not stop them) are held open, cheaply: the server keeps its thread count small
(idle connections cost no thread), and clients from other addresses are still served promptly - searches,
/healthz, POST /api/ask and a whole /api/ask/stream event stream. Then the idle ones go away and the server
stops cleanly. (The same attack from one address is test_faults' slowloris, stopped by --max-per-ip.)"""
import os, resource, socket, subprocess, sys, tempfile, time

AR = os.environ.get("AULARAG_BIN") or sys.exit("AULARAG_BIN not set (run through make test)")
ROOT = os.environ.get("AULARAG_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COURSE = os.path.join(ROOT, "samples", "course")
sys.path.insert(0, os.path.join(ROOT, "tests"))
import checks  # noqa: E402
from checks import check  # noqa: E402

N_IDLE = 1000
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_MODEL", "AULARAG_EMBED", "AULARAG_LLM"))}


def threads(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    return -1


def stream(port, source):
    """GET /api/ask/stream to its end: (event names, seconds)."""
    t0 = time.monotonic()
    c = socket.create_connection(("127.0.0.1", port), timeout=20, source_address=(source, 0))
    c.sendall(b"GET /api/ask/stream?q=dispositivos%20vis%C3%ADveis&k=3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        k = c.recv(65536)
        if not k:
            break
        data += k
    c.close()
    names = [l[7:].strip() for l in data.decode("utf-8", "replace").split("\n") if l.startswith("event: ")]
    return names, time.monotonic() - t0


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < N_IDLE + 100:
        checks.abort("open-file limit %d is below %d" % (want, N_IDLE + 100))
    with tempfile.TemporaryDirectory(prefix="aularag-idle-") as T:
        ix = os.path.join(T, "ix.db")
        r = subprocess.run([AR, "ingest", "-q", "-i", ix, "--manifest", os.path.join(COURSE, "manifest.csv"), COURSE],
                           capture_output=True, text=True, env=ENV)
        if r.returncode:
            checks.abort("ingest failed: " + r.stderr[-800:])
        srv = checks.Server(AR, ix, "--idle-timeout", "60", "--threads", "2", env=ENV)
        base = threads(srv.proc.pid)
        idle, refused = [], 0
        try:
            for i in range(N_IDLE):   # one address each: 127.1.0.1 ... 127.1.4.200
                src = "127.1.%d.%d" % (i // 200, i % 200 + 1)
                s = socket.socket()
                s.settimeout(5)
                try:
                    s.bind((src, 0))
                    s.connect(("127.0.0.1", srv.port))
                    s.sendall(b"GET /api/search?q=x HTTP/1.1\r\nHost: x\r\n")   # half a request, then silence
                except OSError:
                    refused += 1
                idle.append(s)
            time.sleep(1)
            alive = 0
            for s in idle:   # still open: nothing to read, no EOF or reset
                s.setblocking(False)
                try:
                    s.recv(1)   # EOF or a reply: the server gave up on it
                except BlockingIOError:
                    alive += 1
                except OSError:
                    pass
            check("all %d idle connections accepted and held open (%d held, %d refused)" % (N_IDLE, alive, refused),
                  alive == N_IDLE and refused == 0)
            t = threads(srv.proc.pid)
            check("idle connections cost no thread (%d threads with them, %d before)" % (t, base), 0 < t <= base + 8,
                  (t, base))

            times, bad = [], []
            for k in range(20):
                src = "127.2.0.%d" % (k % 4 + 1)
                path = ("/api/search?q=dispositivos&k=2", "/healthz")[k % 2]
                t0 = time.monotonic()
                try:
                    st, _, body = srv.request("GET", path, source=src, timeout=10)
                    if st != 200:
                        bad.append("%s %d %s" % (path, st, body[:200]))
                except Exception as e:  # noqa: BLE001
                    bad.append("%s %r" % (path, e))
                times.append(time.monotonic() - t0)
            check("20 searches and health checks from other addresses: all 200", not bad, "; ".join(bad[:3]))
            check("each within 2 s (slowest %.2f s)" % max(times), max(times) < 2, ["%.2f" % x for x in times])
            t0 = time.monotonic()
            st, _, o = srv.json("POST", "/api/ask", {"question": "Quais dispositivos o TensorFlow vê?", "k": 3})
            check("POST /api/ask answered (extractive) within 5 s", st == 200 and o.get("answer") and
                  time.monotonic() - t0 < 5, (st, str(o)[:200]))
            names, secs = stream(srv.port, "127.2.0.9")
            check("a whole event stream: segments, token, references, done (%.2f s)" % secs,
                  names[:1] == ["segments"] and "token" in names and names[-2:] == ["references", "done"] and secs < 5,
                  names)
            check("server still running", srv.proc.poll() is None)
        finally:
            for s in idle:
                s.close()
            rc = srv.stop()
        log = "\n".join(srv.lines)
        check("stops cleanly", rc == 0, "exit %s: %s" % (rc, log[-800:]))
        check("no sanitizer report", "Sanitizer" not in log, log[-1500:])


if __name__ == "__main__":
    checks.run(main)
