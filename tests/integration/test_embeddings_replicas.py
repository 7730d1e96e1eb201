#!/usr/bin/env python3
"""test_embeddings_replicas.py - two `serve --model M` replicas behind nginx (deploy/nginx.conf as shipped)
as the embeddings server of `ingest --embed-url`: the whole 3b1b set embedded through nginx is stored
bitwise equal to `ingest --model M` done locally, with requests spread over both replicas, and again
when one replica is killed with SIGKILL in the middle of the ingest (nginx resends the batch to the
other: /v1/embeddings is marked safe to resend)."""
import glob, json, os, shutil, signal, sqlite3, subprocess, sys, tempfile, threading, time

AR = os.environ.get("AULARAG_BIN") or sys.exit("AULARAG_BIN not set (run through make test)")
ROOT = os.environ.get("AULARAG_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import checks  # noqa: E402
import nginx  # noqa: E402
from checks import check  # noqa: E402


def env():
    return {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_MODEL", "AULARAG_EMBED", "AULARAG_LLM"))}


def run(args):
    return subprocess.run([AR] + args, capture_output=True, text=True, env=env())


def blobs(db):
    c = sqlite3.connect(db)
    r = c.execute("SELECT s.text, v.blob FROM segments s JOIN vectors v ON v.segment_id = s.id ORDER BY s.id").fetchall()
    c.close()
    return r


def same_vectors(what, local, remote):
    a, b = blobs(local), blobs(remote)
    check("%s: same segments (%d)" % (what, len(a)), len(a) > 1000 and [t for t, _ in a] == [t for t, _ in b],
          (len(a), len(b)))
    same = sum(x[1] == y[1] for x, y in zip(a, b))
    diff = [(i, x[0][:60], y[0][:60]) for i, (x, y) in enumerate(zip(a, b)) if x != y]
    check("%s: every vector bitwise equal to ingest --model's (%d/%d)" % (what, same, len(a)),
          same == len(a) and len(a) == len(b), str(diff[:3]))


def main():
    data = None
    for d in (os.environ.get("AULARAG_DATA"), os.path.join(ROOT, "../shared/data")):
        if d and os.path.isdir(os.path.join(d, "transcripts-pt-3b1b")):
            data = os.path.abspath(d)
    if not data:
        checks.abort("shared data missing: expected ../shared/data/transcripts-pt-3b1b beside the checkout")
    if not nginx.available():
        checks.abort("nginx not installed (scripts/install-deps.sh --test installs it)")
    tmp = tempfile.mkdtemp(prefix="aularag-embrep-")
    try:
        body(data, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def body(data, tmp):
    src = os.path.join(data, "transcripts-pt-3b1b")
    vids = sorted(glob.glob(os.path.join(src, "*", "*.srt")))
    text = os.path.join(tmp, "text.txt")
    with open(text, "w", encoding="utf-8") as f:
        for p in vids[:30]:
            for line in open(p, encoding="utf-8-sig", errors="replace"):
                if line.strip() and "-->" not in line and not line.strip().isdigit():
                    f.write(line)
    tok, model = os.path.join(tmp, "tok"), os.path.join(tmp, "e5-tiny")
    subprocess.run([PY, os.path.join(ROOT, "tests/tools/make_tokenizer.py"), "--text", text, "--vocab", "1000",
                    "--out", tok], check=True, capture_output=True)
    subprocess.run([PY, os.path.join(ROOT, "tests/tools/make_model.py"), "--preset", "tiny-bert", "--out", model,
                    "--std", "0.1", "--seed", "3", "--tokenizer", tok], check=True, capture_output=True)
    # short windows: no segment reaches a cap (512 tokens locally, a word count with --embed-url), so both
    # ways cut the same segments
    seg = ["--window", "30", "--overlap", "5"]
    local = os.path.join(tmp, "local.db")
    r = run(["ingest", "-i", local, "--model", model, "-q"] + seg + [src])
    check("ingest --model of the 3b1b set exits 0", r.returncode == 0, r.stderr[-1500:])

    reps = [checks.Server(AR, local, "--model", model, "--threads", "2", env=env()) for _ in range(2)]
    ngx = nginx.Nginx(nginx.deploy_conf([s.port for s in reps]))
    try:
        # both replicas take embedding requests (round robin)
        seen = set()
        for i in range(8):
            st, h, raw = ngx.request("POST", "/v1/embeddings", json.dumps({"input": ["query: vetor %d" % i]}),
                                     {"Content-Type": "application/json"})
            if st == 200:
                seen.add(h.get("x-aularag-replica", ""))
        check("through nginx: both replicas answer /v1/embeddings", len(seen) == 2, str(seen))
        url = "http://127.0.0.1:%d/v1" % ngx.port
        remote = os.path.join(tmp, "remote.db")
        r = run(["ingest", "-i", remote, "--embed-url", url, "--embed-model", "e5-tiny", "-q"] + seg + [src])
        check("ingest --embed-url <nginx, 2 replicas> exits 0", r.returncode == 0, r.stderr[-1500:])
        same_vectors("2 replicas", local, remote)

        # a replica killed in the middle of an ingest: nginx resends its batch to the other one
        again = os.path.join(tmp, "again.db")
        p = subprocess.Popen([AR, "ingest", "-i", again, "--embed-url", url, "--embed-model", "e5-tiny", "-q"] + seg +
                             [src], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
        killed = threading.Event()

        def killer():
            # wait until vectors are arriving, then kill replica 2
            t0 = time.time()
            while time.time() - t0 < 120 and p.poll() is None:
                try:
                    n = sqlite3.connect(again).execute("SELECT count(*) FROM vectors").fetchone()[0]
                except sqlite3.Error:
                    n = 0
                if n > 0:
                    break
                time.sleep(0.05)
            reps[1].proc.send_signal(signal.SIGKILL)
            killed.set()
        th = threading.Thread(target=killer)
        th.start()
        out, err = p.communicate(timeout=600)
        th.join()
        check("ingest with a replica killed mid-way exits 0", p.returncode == 0 and killed.is_set(), err[-1500:])
        same_vectors("one replica killed", local, again)
    finally:
        ngx.stop()
        for s in reps:
            s.stop()


if __name__ == "__main__":
    checks.run(main)
