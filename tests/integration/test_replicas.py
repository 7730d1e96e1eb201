"""test_replicas.py - serve replicas behind nginx over snapshots (issue 14):
  - `aularag snapshot`: a copy that checks, in rollback-journal mode, marked as a snapshot; refused onto the
    index itself; on a full disk (tests/tools/failwrite.c) exit 1 naming the file and the reason, the old
    snapshot byte-for-byte as it was, no temporary files left;
  - Debian nginx (deploy/nginx.conf as shipped, only the addresses rewritten) in front of 2 replicas: a few
    thousand /api/search from 4 client threads while one replica is killed with SIGKILL and restarted:
    zero failed searches; a stream (/api/ask/stream, scripted LLM answering slowly) on the killed replica
    ends (error event or connection close) within seconds, never hangs;
  - rolling update: a new lecture ingested into the live index and published with `aularag snapshot` is
    served by every replica within 1 s, under load, with zero failed requests; a stream in flight during
    the switch finishes normally on the old snapshot;
  - a replacement that is garbage, or a snapshot with a corrupt page, is refused and logged; the replica
    keeps serving the old one, and takes the next good snapshot.
Data: samples/course (3 lectures, then the 4th: aula04-precisao, the only one about float16)."""
import hashlib, http.client, json, os, re, shutil, subprocess, sys, tempfile, threading, time
from urllib.parse import quote

AR = os.environ["AULARAG_BIN"]
ROOT = os.environ.get("AULARAG_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
COURSE = os.path.join(ROOT, "samples", "course")
sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import checks  # noqa: E402
import nginx  # noqa: E402
from checks import check  # noqa: E402
from llm_server import LLMServer  # noqa: E402

ENV = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:verify_asan_link_order=0")
NEW_VIDEO = "aula04-precisao"
NEW_Q = "quando usar float16 e tf.cast"


def run(*args, env=None):
    return subprocess.run([AR, *args], capture_output=True, text=True, env=env or ENV)


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def info(path):
    r = run("info", "-i", path, "--check", "--json")
    try:
        return json.loads(r.stdout)
    except ValueError:
        return {"error": r.stdout + r.stderr}


def videos_for(port, q):
    """The video ids /api/search returns on a replica (or through nginx) for q."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", "/api/search?k=5&q=" + quote(q))
        r = c.getresponse()
        body = r.read()
        return r.status, [s["video_id"] for s in json.loads(body).get("segments", [])] if r.status == 200 else body
    finally:
        c.close()


class Load:
    """n_threads clients, each sending n GET /api/search through one keep-alive connection (reopened after an
    error); every answer that is not a 200 with a segments list is a failure."""

    def __init__(self, port, questions, n_threads, n):
        self.port, self.questions, self.n = port, questions, n
        self.done = 0
        self.failures = []
        self.mu = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(i,), daemon=True) for i in range(n_threads)]
        for t in self.threads:
            t.start()

    def client(self, idx):
        conn = None
        for i in range(self.n):
            q = self.questions[(idx * 7 + i) % len(self.questions)]
            ok, why = False, ""
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
                conn.request("GET", "/api/search?k=3&q=" + quote(q))
                r = conn.getresponse()
                body = r.read()
                ok = r.status == 200 and isinstance(json.loads(body).get("segments"), list)
                why = "%d %s" % (r.status, body[:200])
            except Exception as e:  # a reset, a timeout: the client saw a failed search
                why = repr(e)
                conn.close()
                conn = None
            with self.mu:
                self.done += 1
                if not ok:
                    self.failures.append(why)
        if conn:
            conn.close()

    def wait(self, timeout=120):
        for t in self.threads:
            t.join(timeout)
        return all(not t.is_alive() for t in self.threads)


def open_stream(port, q):
    """Starts GET /api/ask/stream on port; returns (connection, response) once the headers arrived."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/api/ask/stream?k=3&q=" + quote(q))
    return c, c.getresponse()


def read_events(resp, limit_s):
    """Reads SSE events until the stream ends or limit_s passes: (events, how it ended, seconds)."""
    t0, events, name = time.time(), [], None
    try:
        while time.time() - t0 < limit_s:
            line = resp.fp.readline()
            if not line:
                return events, "closed", time.time() - t0
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: ") and name:
                events.append(name)
                if name in ("done", "error"):
                    return events, name, time.time() - t0
        return events, "hang", time.time() - t0
    except Exception as e:  # the proxy cut the chunked body short, or a read timed out
        kind = "hang" if "timed out" in repr(e) else "closed"
        return events, kind, time.time() - t0


def snapshot_faults(T, live, snap):
    r = run("snapshot", "-i", live, live)
    check("snapshot onto the index itself: usage error", r.returncode == 2 and "itself" in r.stderr, r.stderr)
    r = run("snapshot", "-i", os.path.join(T, "missing.db"), os.path.join(T, "x.db"))
    check("snapshot of a missing index: exit 1", r.returncode == 1 and "missing.db" in r.stderr, r.stderr)
    so = os.path.join(T, "libfailwrite.so")
    r = subprocess.run(["cc", "-shared", "-fPIC", "-o", so, os.path.join(ROOT, "tests", "tools", "failwrite.c"), "-ldl"],
                       capture_output=True, text=True)
    if not check("the fault library builds", r.returncode == 0, r.stderr[-500:]):
        return
    before = sha(snap)
    failed = 0
    for budget, fsync_fault in ((0, "0"), (30000, "0"), (400000, "1")):
        what = "budget %d bytes, fsync fault %s" % (budget, fsync_fault)
        r = run("snapshot", "-i", live, snap,
                env=dict(ENV, LD_PRELOAD=so, AULARAG_FAULT_BYTES=str(budget), AULARAG_FAULT_FSYNC=fsync_fault))
        check("full disk (%s): no sanitizer report" % what, "Sanitizer" not in r.stderr and "runtime error" not in r.stderr,
              r.stderr[-1500:])
        if r.returncode == 0:
            continue
        failed += 1
        check("full disk (%s): exit 1" % what, r.returncode == 1, "exit %d: %s" % (r.returncode, r.stderr[-500:]))
        check("full disk (%s): the error names the snapshot and the reason" % what,
              (snap in r.stderr or live in r.stderr) and ("No space left" in r.stderr or "full" in r.stderr or "Input/output" in r.stderr),
              r.stderr[-500:])
        check("full disk (%s): the old snapshot is untouched" % what, sha(snap) == before)
        left = [f for f in os.listdir(T) if ".tmp-" in f]
        check("full disk (%s): no temporary file left" % what, not left, left)
    check("the full disk made some snapshots fail", failed >= 2, failed)
    i = info(snap)
    check("the old snapshot still checks", i.get("check") == "ok", i)
    # kill -9 at some moment of a snapshot: OUT is the old one or the new one, both check; the next run
    # removes what the killed one left
    import random
    rng = random.Random(14)
    for k in range(3):
        p = subprocess.Popen([AR, "snapshot", "-q", "-i", live, snap], env=ENV, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.02, 0.3))
        p.kill()
        p.wait()
        i = info(snap)
        check("kill -9 during snapshot (%d): the snapshot checks" % k, i.get("check") == "ok" and i.get("videos") == 3, i)
    r = run("snapshot", "-q", "-i", live, snap)
    left = [f for f in os.listdir(T) if ".tmp-" in f]
    check("after kills, the next snapshot succeeds and leaves no temporary file", r.returncode == 0 and not left,
          (r.stderr, left))


def dense_snapshots(T):
    """A snapshot of an index with vectors carries its vector section; a replica with --model serves dense
    search from it and from the next snapshot (a random-weight tiny BERT, tokenizer trained on the course)."""
    py, D = "/usr/bin/python3", os.path.join(T, "dense")
    os.mkdir(D)
    text = os.path.join(D, "course.txt")
    with open(text, "w", encoding="utf-8") as f:
        for name in sorted(os.listdir(COURSE)):
            if name.endswith((".srt", ".vtt")):
                for line in open(os.path.join(COURSE, name), encoding="utf-8-sig"):
                    if "-->" not in line and not line.strip().isdigit():
                        f.write(line)
    tok, model = os.path.join(D, "tok"), os.path.join(D, "model")
    subprocess.run([py, os.path.join(ROOT, "tests/tools/make_tokenizer.py"), "--text", text, "--vocab", "600", "--out", tok],
                   check=True, capture_output=True)
    subprocess.run([py, os.path.join(ROOT, "tests/tools/make_model.py"), "--preset", "tiny-bert", "--vocab", "602",
                    "--seed", "3", "--out", model, "--tokenizer", tok], check=True, capture_output=True)
    live, snap = os.path.join(D, "live.db"), os.path.join(D, "snap.db")
    r = run("ingest", "-q", "-i", live, "--model", model, "--manifest", os.path.join(T, "m3.csv"))
    check("dense: ingest 3 lectures with a model", r.returncode == 0, r.stderr)
    r = run("snapshot", "-i", live, snap)
    n_vec = int(re.search(r"(\d+) vectors", r.stdout).group(1)) if r.returncode == 0 else 0
    check("dense: snapshot with vectors", n_vec > 0, r.stdout + r.stderr)
    check("dense: the snapshot has its vector section", os.path.exists(snap + ".vec"))
    vec = sha(snap + ".vec") if os.path.exists(snap + ".vec") else None

    def dense(ix, q):
        r = run("search", "-i", ix, "--model", model, "--mode", "dense", "-k", "50", "--json", q)
        return [(s["video_id"], s["score"]) for s in json.loads(r.stdout)["segments"]] if r.returncode == 0 else r.stderr
    q = "dispositivos visíveis"
    ranked = dense(snap, q)
    check("dense: the snapshot ranks as the live index", ranked == dense(live, q), ranked)
    check("dense: the section was current (not rewritten by the search)", vec and sha(snap + ".vec") == vec)
    srv = checks.Server(AR, snap, "--model", model, env=ENV)
    try:
        def served(q):
            st, _, o = srv.json("GET", "/api/search?mode=dense&k=50&q=" + quote(q))
            return [(s["video_id"], s["score"]) for s in o.get("segments", [])] if st == 200 else o
        got = served(q)
        check("dense: the replica serves the snapshot's ranking", got == ranked, (got, ranked))
        r = run("ingest", "-q", "-i", live, "--model", model, "--manifest", os.path.join(T, "manifest.csv"))
        r = run("snapshot", "-i", live, snap)
        n_new = int(re.search(r"(\d+) vectors", r.stdout).group(1)) if r.returncode == 0 else 0
        check("dense: publish more vectors", n_new > n_vec, r.stdout + r.stderr)
        t0, n = time.time(), None
        while time.time() - t0 < 3:
            n = srv.json("GET", "/healthz")[2].get("vectors")
            if n == n_new:
                break
            time.sleep(0.02)
        check("dense: the replica serves the new snapshot within 1 s", n == n_new and time.time() - t0 <= 1.0, n)
        got, want = served(NEW_Q), dense(snap, NEW_Q)
        check("dense: ... and its ranking (new lecture included)", got == want and NEW_VIDEO in [v for v, _ in want],
              (got, want))
    finally:
        check("dense: replica stops cleanly", srv.stop() == 0, srv.lines[-5:])
        check("dense: no sanitizer report", not any("Sanitizer" in l or "runtime error" in l for l in srv.lines),
              srv.lines[-20:])


def main():
    if not nginx.available():
        checks.abort("nginx is not installed (scripts/install-deps.sh --test installs it)")
    T = tempfile.mkdtemp(prefix="aularag-replicas-")
    for f in os.listdir(COURSE):
        shutil.copy(os.path.join(COURSE, f), T)
    rows = open(os.path.join(T, "manifest.csv")).read().splitlines()
    with open(os.path.join(T, "m3.csv"), "w") as f:
        f.write("\n".join(r for r in rows if NEW_VIDEO not in r) + "\n")
    live, snap = os.path.join(T, "live.db"), os.path.join(T, "snap.db")
    r = run("ingest", "-q", "-i", live, "--manifest", os.path.join(T, "m3.csv"))
    if not check("ingest 3 lectures", r.returncode == 0, r.stderr):
        checks.abort("cannot go on")
    r = run("snapshot", "-i", live, snap)
    check("snapshot: exit 0 and a summary", r.returncode == 0 and "3 videos" in r.stdout, r.stdout + r.stderr)
    i = info(snap)
    check("the snapshot checks and holds the 3 lectures", i.get("check") == "ok" and i.get("videos") == 3, i)
    hdr = open(snap, "rb").read(20)
    check("the snapshot is in rollback-journal mode (no -wal beside it)", hdr[18] == 1 and hdr[19] == 1
          and not os.path.exists(snap + "-wal"), hdr[18:20])
    check("`info --check` leaves a snapshot as it was", open(snap, "rb").read(20) == hdr and not os.path.exists(snap + "-wal"))
    before = sha(snap)
    r = run("ingest", "-q", "-i", snap, os.path.join(T, "aula04-precisao.json"))
    check("ingest into a snapshot is refused and changes nothing", r.returncode != 0 and "read-only" in r.stderr
          and sha(snap) == before and not os.path.exists(snap + "-wal"), (r.returncode, r.stderr))
    t0 = time.time()
    snapshot_faults(T, live, snap)
    print("snapshot faults: %.1f s" % (time.time() - t0))
    dense_snapshots(T)
    print("dense snapshots: %.1f s" % (time.time() - t0))

    questions = [json.loads(l)["question"] for l in open(os.path.join(COURSE, "questions.jsonl"))]
    script = {"default": {"stream": True, "chunks": ["palavra %d " % i for i in range(40)], "chunk_delay_s": 0.2},
              "replies": [{"match": "zqxcurta", "times": 0, "stream": True,
                           "chunks": ["curta %d " % i for i in range(10)], "chunk_delay_s": 0.2}]}
    with LLMServer(script) as llm:
        ports = [nginx.free_port(), nginx.free_port()]

        def replica(i):
            return checks.Server(AR, snap, "--port", str(ports[i]), "--llm-url", llm.url, "--llm-model", "m",
                                 "--retries", "0", "-v", env=ENV)

        reps = [replica(0), replica(1)]
        ngx = None
        try:
            ngx = nginx.Nginx(nginx.deploy_conf(ports))
            st, _, body = ngx.request("GET", "/healthz")
            check("nginx -> /healthz: 200", st == 200 and json.loads(body).get("videos") == 3, (st, body[:300]))

            # -- kill one replica mid-load, and bring it back ------------------------------------------
            load = Load(ngx.port, questions, 4, 600)
            while load.done < 300 and any(t.is_alive() for t in load.threads):
                time.sleep(0.01)
            # a slow stream on replica 1 (nginx says which replica answered)
            stream = None
            for _ in range(12):
                c, resp = open_stream(ngx.port, "O que é float16?")
                if resp.getheader("X-Aularag-Replica") == "127.0.0.1:%d" % ports[1]:
                    stream = (c, resp)
                    break
                c.close()
            if check("a stream landed on replica 1", stream is not None):
                ev, _, _ = read_events(stream[1], 5)
                check("the stream started (segments, tokens)", "segments" in ev and "token" in ev, ev)
            reps[1].proc.kill()
            reps[1].proc.wait()
            if stream:
                ev, how, secs = read_events(stream[1], 15)
                check("the killed replica's stream ends (error event or close), no hang",
                      how in ("closed", "error") and secs < 10, (how, secs, ev[-3:]))
                stream[0].close()
            time.sleep(0.5)
            reps[1] = replica(1)
            check("load with a replica killed and restarted: all requests ran", load.wait())
            check("load with a replica killed and restarted: zero failed searches (%d sent)" % load.done,
                  not load.failures and load.done == 2400, load.failures[:5])
            time.sleep(0.3)
            st, _ = videos_for(ports[1], questions[0])
            check("the restarted replica answers", st == 200)

            print("kill and restart under load: %.1f s" % (time.time() - t0))
            # -- rolling update: a new lecture, published as a snapshot ---------------------------------
            for p in ports:
                st, v = videos_for(p, NEW_Q)
                check("before the update, replica :%d lacks the new lecture" % p, st == 200 and NEW_VIDEO not in v, v)
            inflight = open_stream(ports[0], "O que é float16 zqxcurta?")
            load = Load(ngx.port, questions + [NEW_Q], 4, 250)
            while load.done < 100:
                time.sleep(0.01)
            r = run("ingest", "-q", "-i", live, "--manifest", os.path.join(T, "manifest.csv"))
            check("ingest the 4th lecture into the live index", r.returncode == 0, r.stderr)
            r = run("snapshot", "-q", "-i", live, snap)
            t_pub = time.time()
            check("publish the new snapshot", r.returncode == 0, r.stderr)
            for p in ports:
                seen = None
                while time.time() - t_pub < 3:
                    st, v = videos_for(p, NEW_Q)
                    if st == 200 and NEW_VIDEO in v:
                        seen = time.time() - t_pub
                        break
                    time.sleep(0.02)
                check("replica :%d serves the new lecture within 1 s (%s s)" % (p, seen and round(seen, 3)),
                      seen is not None and seen <= 1.0)
            st, v = videos_for(ngx.port, NEW_Q)
            check("nginx serves the new lecture", st == 200 and NEW_VIDEO in v, v)
            ev, how, _ = read_events(inflight[1], 15)
            check("a stream in flight during the switch finishes normally", how == "done" and "token" in ev, (how, ev[-3:]))
            inflight[0].close()
            check("rolling update: all requests ran", load.wait())
            check("rolling update: zero failed requests (%d sent)" % load.done, not load.failures and load.done == 1000,
                  load.failures[:5])
            for i, rp in enumerate(reps):
                check("replica %d logged the reload" % i, any("reloaded " + snap in l for l in rp.lines), rp.lines[-5:])

            print("rolling update: %.1f s" % (time.time() - t0))
            # -- bad replacements are refused; the next good one is taken -------------------------------
            bad = os.path.join(T, "bad.db")
            with open(bad, "wb") as f:
                f.write(b"SQLite format 3\x00" + os.urandom(8192))
            os.rename(bad, snap)
            time.sleep(0.6)
            good = os.path.join(T, "good.db")
            r = run("snapshot", "-q", "-i", live, good)
            data = bytearray(open(good, "rb").read())
            half = len(data) // 2 // 4096 * 4096
            data[half:] = bytes(len(data) - half)   # a snapshot whose second half of pages is zeros
            open(bad, "wb").write(bytes(data))
            os.rename(bad, snap)
            time.sleep(0.6)
            for i, rp in enumerate(reps):
                refused = [l for l in rp.lines if "not served" in l]
                check("replica %d refused both bad replacements, logging why" % i,
                      len(refused) >= 2 and "not a snapshot" in refused[0], refused or rp.lines[-5:])
                st, v = videos_for(ports[i], NEW_Q)
                check("replica %d keeps serving the last good snapshot" % i, st == 200 and NEW_VIDEO in v, v)
            r = run("snapshot", "-q", "-i", live, snap)
            t_pub = time.time()
            ok = False
            while time.time() - t_pub < 3 and not ok:
                ok = all(sum("reloaded " + snap in l for l in rp.lines) >= 2 for rp in reps)
                time.sleep(0.05)
            check("after a refused file, the next good snapshot is taken", ok)
        finally:
            if ngx:
                ngx.stop()
            for i, rp in enumerate(reps):
                rc = rp.stop()
                check("replica %d stops cleanly" % i, rc == 0, (rc, rp.lines[-5:]))
                check("replica %d: no sanitizer report" % i,
                      not any("Sanitizer" in l or "runtime error" in l for l in rp.lines), rp.lines[-20:])
    shutil.rmtree(T, ignore_errors=True)


checks.run(main)
