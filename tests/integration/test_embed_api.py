#!/usr/bin/python3
"""test_embed_api.py - vectors from an embeddings server, through the CLI: ingest, search (dense,
hybrid, auto), ask, eval and serve with --embed-url against tests/llm_server.py; the flags' conflicts;
refusal to mix sources; a failing server leaves nothing half-written.

Independent reference: the server's vectors are llm_server.embed_vector(text), recomputed here with
numpy for the stored blobs and for the exact dense top-k of a query."""
import glob, http.client, json, os, shutil, signal, sqlite3, subprocess, sys, tempfile, threading, urllib.parse
import numpy as np

AR = os.environ.get("AULARAG_BIN") or sys.exit("AULARAG_BIN not set (run through make test)")
ROOT = os.environ.get("AULARAG_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PY = "/usr/bin/python3"
sys.path.insert(0, os.path.join(ROOT, "tests"))
import checks  # noqa: E402
from checks import check  # noqa: E402
from llm_server import LLMServer, embed_vector  # noqa: E402

COURSE = os.path.join(ROOT, "samples", "course")
KEY = "sk-EMBED-CLI-SECRET"
DIM = 48
Q = "Quais são os dispositivos visíveis para o TensorFlow?"


def run(args, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_MODEL", "AULARAG_EMBED", "AULARAG_LLM"))}
    e.update(env or {})
    return subprocess.run([AR] + args, capture_output=True, text=True, env=e)


def unit(v):
    v = np.asarray(v, dtype=np.float32)
    return v / np.linalg.norm(v.astype(np.float64))


def rows(db):
    c = sqlite3.connect(db)
    r = c.execute("SELECT s.id, s.text, v.blob FROM segments s JOIN vectors v ON v.segment_id = s.id ORDER BY s.id").fetchall()
    c.close()
    return r


def count(db, sql):
    c = sqlite3.connect(db)
    n = c.execute(sql).fetchone()[0]
    c.close()
    return n


def main():
    tmp = tempfile.mkdtemp(prefix="aularag-embapi-")
    try:
        with LLMServer({"dim": DIM}) as srv:
            body(tmp, srv)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def body(tmp, srv):
    emb = ["--embed-url", srv.url, "--embed-model", "e5-srv"]
    ix = os.path.join(tmp, "ix.db")
    man = os.path.join(COURSE, "manifest.csv")

    # ---- ingest: every segment embedded by the server, the source recorded in the index ----
    r = run(["ingest", "-i", ix, "--manifest", man] + emb, env={"AULARAG_EMBED_API_KEY": KEY})
    check("ingest --embed-url exits 0", r.returncode == 0, r.stderr[-2000:])
    n = count(ix, "SELECT count(*) FROM segments")
    check("every segment has a vector", n > 5 and count(ix, "SELECT count(*) FROM vectors") == n, n)
    check("ingest reports the embedded count", "embedded %d segments" % n in r.stdout, r.stdout)
    check("progress: the embed stage with its ETA", "embed: %d/%d segments" % (n, n) in r.stderr and "ETA" in r.stderr,
          r.stderr[-500:])
    info = json.loads(run(["info", "-i", ix, "--json"]).stdout)
    check("info: model api:e5-srv, dim from the server", info.get("model") == "api:e5-srv" and info.get("dim") == DIM, info)
    stored = rows(ix)
    mat = np.stack([np.frombuffer(b, dtype="<f4") for _, _, b in stored])
    want = np.stack([unit(embed_vector("passage: " + t, DIM)) for _, t, _ in stored])
    check("stored vectors = the server's passage vectors, normalised", np.allclose(mat, want, atol=1e-6),
          float(np.abs(mat - want).max()))
    log = srv.requests()
    inputs = [t for q in log for t in q["body"]["input"]]
    check("requests: /v1/embeddings, our model, Bearer key, float",
          all(q["path"] == "/v1/embeddings" and q["body"]["model"] == "e5-srv" and q["headers"].get("authorization")
              == "Bearer " + KEY and q["body"]["encoding_format"] == "float" for q in log), log[:1])
    check("one probe + every segment once, passage prefix", len(inputs) == n + 1 and
          sum(t.startswith("passage: ") for t in inputs) == n, len(inputs))

    # ---- search: dense top-k is the exact cosine ranking of the server's query vector ----
    qv = unit(embed_vector("query: " + Q, DIM))
    ids = [i for i, _, _ in stored]
    order = sorted(range(len(ids)), key=lambda j: (-float(mat[j].astype(np.float64) @ qv), ids[j]))
    r = run(["search", "-i", ix, "--mode", "dense", "-k", "5", "--json"] + emb + [Q])
    check("search --mode dense exits 0", r.returncode == 0, r.stderr)
    got = json.loads(r.stdout) if r.returncode == 0 else {"segments": []}
    check("dense top-5 = numpy's exact ranking", [s["corpus_id"] for s in got["segments"]] == [ids[j] for j in order[:5]],
          (got["segments"][:2], [ids[j] for j in order[:5]]))
    check("dense scores are the cosines", all(abs(s["score"] - float(mat[order[i]] @ qv)) < 1e-5
                                             for i, s in enumerate(got["segments"])))
    r = run(["search", "-i", ix, "--json"] + emb + [Q])
    check("search without --mode: hybrid with a server and vectors", r.returncode == 0 and json.loads(r.stdout)["mode"]
          == "hybrid", r.stderr)
    r = run(["search", "-i", ix, "--json", Q], env={"AULARAG_EMBED_URL": srv.url, "AULARAG_EMBED_MODEL": "e5-srv"})
    check("the environment configures the server", r.returncode == 0 and json.loads(r.stdout)["mode"] == "hybrid", r.stderr)
    before = len(srv.requests())
    r = run(["search", "-i", ix, "--mode", "dense"] + emb + [Q])
    check("search sends one request: the dimension comes from the index", r.returncode == 0 and
          len(srv.requests()) == before + 1, srv.requests()[before:])
    before = len(srv.requests())
    r = run(["search", "-i", ix, "--mode", "lexical"] + emb + [Q])
    check("lexical mode never calls the server", r.returncode == 0 and len(srv.requests()) == before)
    r = run(["ask", "-i", ix, "--mode", "dense", "--json"] + emb + [Q])
    check("ask --mode dense with a server", r.returncode == 0 and json.loads(r.stdout)["mode"] == "dense", r.stderr)
    out = os.path.join(tmp, "report")
    r = run(["eval", "-i", ix, "--questions", os.path.join(COURSE, "questions.jsonl"), "--out", out, "--mode", "hybrid",
             "--quiet", "--bootstrap", "0"] + emb)
    check("eval --mode hybrid with a server", r.returncode == 0 and os.path.exists(os.path.join(out, "report.md")),
          r.stderr[-1000:])

    # ---- flags: one source at a time ----
    for what, args, env in (
            ("--embed-url with --model", emb + ["--model", tmp], None),
            ("--embed-url without a model name", ["--embed-url", srv.url], None),
            ("--embed-model without --embed-url", ["--embed-model", "x"], None),
            ("both sources in the environment", [], {"AULARAG_EMBED_URL": srv.url, "AULARAG_EMBED_MODEL": "e5-srv",
                                                     "AULARAG_MODEL": tmp})):
        for verb in ("search", "ingest", "ask", "serve"):
            a = {"search": ["search", "-i", ix], "ingest": ["ingest", "-i", ix, COURSE], "ask": ["ask", "-i", ix],
                 "serve": ["serve", "-i", ix, "--port", "0"]}[verb] + args + ([Q] if verb in ("search", "ask") else [])
            r = run(a, env=env)
            check("%s: %s is a usage error (exit 2)" % (verb, what), r.returncode == 2, (r.returncode, r.stderr[-300:]))
    r = run(["search", "-i", ix, "--mode", "dense"] + emb + ["--embed-dim", str(DIM - 1), Q])
    check("--embed-dim other than the server's: exit 1 naming both", r.returncode == 1 and "has %d values, expected %d"
          % (DIM, DIM - 1) in r.stderr, r.stderr)
    before = len(srv.requests())
    dix = os.path.join(tmp, "dim.db")
    r = run(["ingest", "-i", dix, "--manifest", man] + emb + ["--embed-dim", str(DIM)])
    check("--embed-dim: no probe request", r.returncode == 0 and sum(len(q["body"]["input"]) for q in
          srv.requests()[before:]) == n, r.stderr[-300:])
    r = run(["search", "-i", ix, "--json"] + emb + [Q], env={"AULARAG_MODEL": tmp})
    check("--embed-url beats $AULARAG_MODEL", r.returncode == 0, r.stderr)

    # ---- mixing sources is refused, naming both, nothing written ----
    r = run(["ingest", "-i", ix, "--manifest", man, "--embed-url", srv.url, "--embed-model", "outro"])
    check("ingest with another server model: exit 1 naming both", r.returncode == 1 and "api:e5-srv" in r.stderr and
          "api:outro" in r.stderr, r.stderr)
    r = run(["search", "-i", ix, "--mode", "dense", "--embed-url", srv.url, "--embed-model", "outro", Q])
    check("search with another server model: exit 1 naming both", r.returncode == 1 and "api:e5-srv" in r.stderr and
          "api:outro" in r.stderr, r.stderr)
    model = make_model(tmp)
    r = run(["ingest", "-i", ix, "--manifest", man, "--model", model])
    check("ingest with a local model into server vectors: exit 1 naming both", r.returncode == 1 and "api:e5-srv" in
          r.stderr and "e5:bert" in r.stderr, r.stderr)
    lix = os.path.join(tmp, "local.db")
    r = run(["ingest", "-i", lix, "--manifest", man, "--model", model])
    check("ingest with the local model", r.returncode == 0, r.stderr[-500:])
    before = count(lix, "SELECT count(*) FROM vectors")
    r = run(["ingest", "-i", lix, "--manifest", man] + emb)
    check("ingest with a server into local vectors: exit 1 naming both", r.returncode == 1 and "api:e5-srv" in r.stderr
          and "e5:bert" in r.stderr, r.stderr)
    check("... and the local vectors are untouched", count(lix, "SELECT count(*) FROM vectors") == before)
    r = run(["search", "-i", lix, "--mode", "hybrid"] + emb + [Q])
    check("search with a server over local vectors: exit 1", r.returncode == 1 and "e5:bert" in r.stderr, r.stderr)

    nix = os.path.join(tmp, "never.db")
    r = run(["ingest", "-i", nix, "--manifest", man, "--embed-url", "http://127.0.0.1:1", "--embed-model", "m"])
    check("no server listening: exit 1 naming the endpoint, no index file left", r.returncode == 1 and
          "http://127.0.0.1:1/v1/embeddings" in r.stderr and not os.path.exists(nix), r.stderr)

    # ---- a failing server: exit 1 naming the endpoint (never the key); nothing half-written ----
    fix = os.path.join(tmp, "fail.db")
    srv.set_script({"dim": DIM, "embeddings": [{"match": "passage: ", "status": 500, "times": 0}]})
    r = run(["ingest", "-i", fix, "--manifest", man] + emb, env={"AULARAG_EMBED_API_KEY": KEY})
    check("server failing: exit 1, endpoint and status named", r.returncode == 1 and "/v1/embeddings" in r.stderr and
          "HTTP 500" in r.stderr, r.stderr[-500:])
    check("... the key is never printed", KEY not in r.stderr + r.stdout)
    check("... segments kept, no vectors written", count(fix, "SELECT count(*) FROM segments") == n and
          count(fix, "SELECT count(*) FROM vectors") == 0)
    srv.set_script({"dim": DIM, "embeddings": [{"match": "passage: ", "dim": DIM + 1, "times": 0}]})
    r = run(["ingest", "-i", fix, "--manifest", man] + emb)
    check("wrong dimension: exit 1", r.returncode == 1 and "expected %d" % DIM in r.stderr, r.stderr[-500:])
    check("... no vectors written", count(fix, "SELECT count(*) FROM vectors") == 0)
    srv.set_script({"dim": DIM})
    r = run(["ingest", "-i", fix, "--manifest", man] + emb)
    check("the next ingest resumes and completes", r.returncode == 0 and count(fix, "SELECT count(*) FROM vectors") == n,
          r.stderr[-500:])

    # ---- serve: queries embedded by the server; /healthz names the source ----
    serve_checks(ix, emb, got)


def make_model(tmp):
    """A random-weight tiny BERT with a SentencePiece model trained on the sample course (tests/tools)."""
    text = os.path.join(tmp, "text.txt")
    with open(text, "w", encoding="utf-8") as f:
        for p in glob.glob(os.path.join(COURSE, "*.srt")) + glob.glob(os.path.join(COURSE, "*.vtt")):
            for line in open(p, encoding="utf-8"):
                if line.strip() and "-->" not in line and not line.strip().isdigit():
                    f.write(line)
    tok, out = os.path.join(tmp, "tok"), os.path.join(tmp, "model")
    subprocess.run([PY, os.path.join(ROOT, "tests/tools/make_tokenizer.py"), "--text", text, "--vocab", "120",
                    "--out", tok], check=True, capture_output=True)
    subprocess.run([PY, os.path.join(ROOT, "tests/tools/make_model.py"), "--preset", "tiny-bert", "--vocab", "122",
                    "--seed", "1", "--out", out, "--tokenizer", tok], check=True, capture_output=True)
    return out


def serve_checks(ix, emb, dense_cli):
    p = subprocess.Popen([AR, "serve", "-i", ix, "--port", "0"] + emb, stderr=subprocess.PIPE, text=True,
                         env={k: v for k, v in os.environ.items() if not k.startswith("AULARAG_")})
    port, lines, ready = [None], [], threading.Event()

    def pump():
        for line in p.stderr:
            lines.append(line)
            if "listening on http://" in line:
                port[0] = int(line.split("listening on http://")[1].split("/")[0].rsplit(":", 1)[1])
                ready.set()
        ready.set()
    threading.Thread(target=pump, daemon=True).start()
    ready.wait(30)
    try:
        if not check("serve --embed-url starts", port[0], "".join(lines[-10:])):
            return

        def get(path):
            c = http.client.HTTPConnection("127.0.0.1", port[0], timeout=30)
            c.request("GET", path)
            r = c.getresponse()
            return r.status, json.loads(r.read())
        st, h = get("/healthz")
        check("/healthz: model api:e5-srv, embedder api, dense modes", st == 200 and h.get("model") == "api:e5-srv" and
              h.get("embedder") == "api" and "dense" in h.get("modes", []), h)
        results = []

        def worker():
            results.append(get("/api/search?mode=dense&k=5&q=" + urllib.parse.quote(Q)))
        ts = [threading.Thread(target=worker) for _ in range(6)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        want = [s["corpus_id"] for s in dense_cli["segments"]]
        check("/api/search dense from 6 clients at once = the CLI's dense hits",
              len(results) == 6 and all(st == 200 and [s["corpus_id"] for s in b["segments"]] == want for st, b in results),
              results[:1])
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()


checks.run(main)
