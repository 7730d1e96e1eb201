"""test_faults.py - faults that must lose nothing (issue 12):
  - a full disk during ingest (tests/tools/failwrite.c, an LD_PRELOAD that fails writes with ENOSPC
    after N bytes, fsync with EIO): exit 1, an error naming the index and the disk's reason, the
    index passes `info --check`, every video wholly in its old or new state, and a later ingest
    without the fault completes it;
  - two ingests on one index at once: each succeeds (one waits for the other's commits) or fails
    clearly; the index checks and every video is in one of the three states;
  - `serve` whose index is deleted, or replaced by garbage, while it runs: every reply is a 200 from
    what it had or a JSON 503/500 error, /healthz answers, the process stays up and stops cleanly;
  - 1,000 idle connections (slowloris) from one address: a client from another address is still
    served within seconds.
Data: samples/course (4 transcripts), re-segmented with --window 120 / 60 / 90 for the states.
AULARAG_SLOW=1 tries ten write budgets instead of three."""
import hashlib, json, os, resource, shutil, socket, sqlite3, subprocess, sys, tempfile, time

AR = os.environ["AULARAG_BIN"]
ROOT = os.environ.get("AULARAG_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
COURSE = os.path.join(ROOT, "samples", "course")
sys.path.insert(0, os.path.dirname(__file__))
import checks  # noqa: E402
from checks import check  # noqa: E402

slow = os.environ.get("AULARAG_SLOW") == "1"
ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0")


def ingest(db, window, extra_env=None):
    return subprocess.run([AR, "ingest", "-q", "-i", db, "--window", str(window), "--overlap", "15",
                           "--manifest", os.path.join(COURSE, "manifest.csv"), COURSE],
                          capture_output=True, text=True, env=dict(ENV, **(extra_env or {})))


def states(db):
    """video_id -> digest of its segments"""
    c = sqlite3.connect(db)
    out = {}
    for vid, o, s, e, t in c.execute("SELECT v.video_id, s.ord, s.start, s.end, s.text FROM segments s"
                                     " JOIN videos v ON v.id = s.video ORDER BY v.video_id, s.ord"):
        out.setdefault(vid, hashlib.sha256()).update(repr((o, s, e, t)).encode())
    c.close()
    return {k: v.hexdigest() for k, v in out.items()}


def index_ok(db):
    r = subprocess.run([AR, "info", "-i", db, "--check"], capture_output=True, text=True, env=ENV)
    return r.returncode == 0 and "check:     ok" in r.stdout, r.stdout[-300:] + r.stderr[-300:]


def sanitizer_clean(text):
    return "AddressSanitizer" not in text and "runtime error" not in text and "LeakSanitizer" not in text


def copy_db(src, dst):
    for suf in ("", "-wal", "-shm"):
        if os.path.exists(src + suf):
            shutil.copy(src + suf, dst + suf)


def full_disk(T, base, old, new):
    so = os.path.join(T, "libfailwrite.so")
    r = subprocess.run(["cc", "-shared", "-fPIC", "-o", so, os.path.join(ROOT, "tests", "tools", "failwrite.c"), "-ldl"],
                       capture_output=True, text=True)
    if not check("the fault library builds", r.returncode == 0, r.stderr[-500:]):
        return
    for budget in ((0, 1000, 3000, 6000, 12000, 25000, 40000, 70000, 100000, 200000) if slow else (0, 12000, 70000)):
        for fsync_fault in ("0", "1"):
            db = os.path.join(T, "full-%d-%s.db" % (budget, fsync_fault))
            copy_db(base, db)
            r = ingest(db, 60, {"LD_PRELOAD": so, "AULARAG_FAULT_BYTES": str(budget), "AULARAG_FAULT_FSYNC": fsync_fault})
            what = "budget %d bytes, fsync fault %s" % (budget, fsync_fault)
            check("full disk (%s): no sanitizer report" % what, sanitizer_clean(r.stderr), r.stderr[-1500:])
            if r.returncode == 0:   # the budget was enough: everything new
                check("full disk (%s): success means all new" % what, states(db) == new)
                continue
            check("full disk (%s): exit 1" % what, r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr[-500:]))
            check("full disk (%s): the error names the index and the reason" % what,
                  db in r.stderr and ("No space left on device" in r.stderr or "full" in r.stderr
                                      or "Input/output error" in r.stderr), r.stderr[-500:])
            ok, detail = index_ok(db)
            check("full disk (%s): the index checks" % what, ok, detail)
            st = states(db)
            check("full disk (%s): every video old or new" % what,
                  set(st) == set(old) and all(st[v] in (old[v], new[v]) for v in st), str(st)[:500])
            r = ingest(db, 60)
            check("full disk (%s): a later ingest completes" % what, r.returncode == 0 and states(db) == new,
                  r.stderr[-500:])


def concurrent_ingests(T, base, old, new, other):
    for rnd in range(3):
        db = os.path.join(T, "conc-%d.db" % rnd)
        copy_db(base, db)
        procs = [subprocess.Popen([AR, "ingest", "-q", "-i", db, "--window", str(w), "--overlap", "15",
                                   "--manifest", os.path.join(COURSE, "manifest.csv"), COURSE],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV) for w in (60, 90)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (o, e) in zip(procs, outs):
            check("concurrent ingest %d: exit 0, or 1 with a clear message" % rnd,
                  p.returncode == 0 or (p.returncode == 1 and db in e and ("locked" in e or "busy" in e)),
                  "exit %d: %s" % (p.returncode, e[-500:]))
            check("concurrent ingest %d: no sanitizer report" % rnd, sanitizer_clean(e), e[-1500:])
        ok, detail = index_ok(db)
        check("concurrent ingest %d: the index checks" % rnd, ok, detail)
        st = states(db)
        check("concurrent ingest %d: every video in one of the states" % rnd,
              set(st) == set(old) and all(st[v] in (old[v], new[v], other[v]) for v in st), str(st)[:500])


def acceptable(st, ctype, body):
    """200 with results, or an error status with a JSON {"error": ...} body"""
    if st == 200:
        return True
    try:
        return st in (500, 503) and "json" in ctype and "error" in json.loads(body)
    except ValueError:
        return False


def index_replaced(T, base):
    for how in ("deleted", "garbage", "truncated"):
        db = os.path.join(T, "serve-%s.db" % how)
        copy_db(base, db)
        srv = checks.Server(AR, db, "--search-cache", "0", env=ENV)
        try:
            st, hd, body = srv.request("GET", "/api/search?q=dispositivos&k=3")
            ct = hd.get("content-type", "")
            check("serve (%s): answers before" % how, st == 200, body[:300])
            for suf in ("", "-wal", "-shm"):
                if os.path.exists(db + suf):
                    os.remove(db + suf)
            if how == "garbage":
                with open(db, "wb") as f:
                    f.write(os.urandom(100000))
            elif how == "truncated":
                with open(base, "rb") as f:
                    head = f.read(8192)
                with open(db, "wb") as f:
                    f.write(head)
            bad = []
            for path in ("/api/search?q=dispositivos&k=3", "/api/search?q=precis%C3%A3o", "/api/videos",
                         "/api/ask?q=x", "/healthz", "/api/search?q=tf.data&mode=lexical") * 3:
                try:
                    st, hd, body = srv.request("GET", path)
                    ct = hd.get("content-type", "")
                except Exception as e:  # noqa: BLE001 - any transport failure is a finding
                    bad.append("%s: %r" % (path, e))
                    continue
                if path.startswith("/api/ask"):
                    continue   # GET on /api/ask: 405 by design
                if not acceptable(st, ct, body):
                    bad.append("%s: %d %s" % (path, st, body[:200]))
            check("serve (%s): every reply is 200 or a JSON error" % how, not bad, "\n".join(bad[:5]))
            check("serve (%s): still running" % how, srv.proc.poll() is None)
        finally:
            rc = srv.stop()
        log = "\n".join(srv.lines)
        check("serve (%s): stops cleanly" % how, rc == 0, "exit %s: %s" % (rc, log[-800:]))
        check("serve (%s): no sanitizer report" % how, sanitizer_clean(log), log[-1500:])


def slowloris(T, base):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < 1100:
        checks.abort("slowloris: open-file limit %d is below 1,100" % want)
    db = os.path.join(T, "slow.db")
    copy_db(base, db)
    srv = checks.Server(AR, db, "--idle-timeout", "30", env=ENV)
    idle = []
    try:
        for i in range(1000):   # half a request line each, then silence
            s = socket.socket()
            s.settimeout(5)
            try:
                s.connect(("127.0.0.1", srv.port))
                s.sendall(b"GET /api/search?q=x HTTP/1.1\r\nHost: x\r\n")
            except OSError:
                pass   # refused or reset over the per-address limit: that is the defence
            idle.append(s)
        times, bad = [], []
        for k in range(5):
            t0 = time.monotonic()
            try:
                st, hd, body = srv.request("GET", "/api/search?q=dispositivos&k=2", source="127.0.0.2", timeout=10)
                if st != 200:
                    bad.append("%d %s" % (st, body[:200]))
            except Exception as e:  # noqa: BLE001
                bad.append(repr(e))
            times.append(time.monotonic() - t0)
        check("slowloris: a client from another address is served", not bad, "; ".join(bad[:3]))
        check("slowloris: within 3 s each", max(times) < 3, "times %s" % ["%.2f" % t for t in times])
        check("slowloris: server still running", srv.proc.poll() is None)
    finally:
        for s in idle:
            s.close()
        rc = srv.stop()
    log = "\n".join(srv.lines)
    check("slowloris: stops cleanly", rc == 0, "exit %s: %s" % (rc, log[-800:]))
    check("slowloris: no sanitizer report", sanitizer_clean(log), log[-1500:])


def main():
    with tempfile.TemporaryDirectory() as T:
        base = os.path.join(T, "base.db")
        r = ingest(base, 120)
        if r.returncode != 0:
            checks.abort("ingest failed: " + r.stderr[-800:])
        old = states(base)
        refs = {}
        for w in (60, 90):
            db = os.path.join(T, "ref%d.db" % w)
            copy_db(base, db)
            r = ingest(db, w)
            if r.returncode != 0:
                checks.abort("ingest failed: " + r.stderr[-800:])
            refs[w] = states(db)
        check("the three states differ for every video",
              all(len({old[v], refs[60][v], refs[90][v]}) == 3 for v in old) and len(old) == 4, str(old))
        full_disk(T, base, old, refs[60])
        concurrent_ingests(T, base, old, refs[60], refs[90])
        index_replaced(T, base)
        slowloris(T, base)


checks.run(main)
