#!/usr/bin/python3
"""test_dense.py - ingest with a model, dense and hybrid search, through the CLI.

Uses a random-weight BERT-shaped model (tests/tools/make_model.py) with a small SentencePiece
tokenizer trained on the shared 3Blue1Brown transcripts (tests/tools/make_tokenizer.py).
Independent references: token counts from Hugging Face's `tokenizers` (npm), exact top-k and
RRF recomputed here with numpy from the stored blobs and the CLI's own lexical/dense lists.
"""
import json, os, signal, sqlite3, subprocess, sys, time
import numpy as np

AR = os.environ.get("AULARAG_BIN") or sys.exit("AULARAG_BIN not set (run through make test)")
ROOT = os.environ.get("AULARAG_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import checks, fixtures  # noqa: E402
from checks import check  # noqa: E402


def run(args, env=None, input=None):
    e = dict(os.environ)
    e.pop("AULARAG_MODEL", None)
    e.update(env or {})
    return subprocess.run([AR] + args, capture_output=True, text=True, env=e, input=input)


def blobs(db):
    c = sqlite3.connect(db)
    rows = c.execute("SELECT v.segment_id, v.blob, s.text, vi.video_id, s.ord FROM vectors v JOIN segments s ON s.id ="
                     " v.segment_id JOIN videos vi ON vi.id = s.video ORDER BY v.segment_id").fetchall()
    c.close()
    return rows


def count(db, sql):
    c = sqlite3.connect(db)
    n = c.execute(sql).fetchone()[0]
    c.close()
    return n


def search(ix, model, q, mode=None, k=10, extra=()):
    args = ["search", "-i", ix, "-k", str(k), "--json"] + (["--mode", mode] if mode else []) + list(extra)
    if model:
        args += ["--model", model]
    r = run(args + [q])
    if r.returncode != 0:
        raise RuntimeError("search failed (%d): %s" % (r.returncode, r.stderr))
    return json.loads(r.stdout)


def main():
    fixtures.run_body(body, "aularag-dense-")
    checks.finish()


def body(data, tmp):
    vids = fixtures.transcripts(data)
    # a few videos for the functional checks, more for the interrupted run
    small = fixtures.link_videos(os.path.join(tmp, "small"), vids[:4])
    big = fixtures.link_videos(os.path.join(tmp, "big"), vids[:24])
    # a small vocabulary: 120 s windows of speech run past the 512-token cap
    tok, _ = fixtures.tokenizer(tmp, vids)
    model, other = [fixtures.model(os.path.join(tmp, name), tok, "--preset", "tiny-bert", "--vocab", "1002",
                                   "--seed", str(seed)) for name, seed in (("model", 1), ("other", 2))]

    # ---- ingest with a model: every segment gets a vector, meta records the model ----
    ix = os.path.join(tmp, "ix.db")
    r = run(["ingest", "-i", ix, small], env={"AULARAG_MODEL": model})
    check("ingest with $AULARAG_MODEL exits 0", r.returncode == 0, r.stderr[-2000:])
    n_seg = count(ix, "SELECT count(*) FROM segments")
    check("every segment has a vector", n_seg > 20 and count(ix, "SELECT count(*) FROM vectors") == n_seg,
          "%d segments" % n_seg)
    check("ingest reports the embedded count", "embedded %d segments" % n_seg in r.stdout, r.stdout)
    check("non-TTY progress is plain lines", "embed: %d/%d segments" % (n_seg, n_seg) in r.stderr, r.stderr[-500:])
    info = json.loads(run(["info", "-i", ix, "--json"]).stdout)
    check("info shows the model and dim", info.get("model", "").startswith("e5:bert") and info.get("dim") == 64,
          json.dumps(info))
    rows = blobs(ix)
    mat = np.stack([np.frombuffer(b, dtype="<f4") for _, b, _, _, _ in rows])
    check("stored vectors are unit length", np.allclose(np.linalg.norm(mat, axis=1), 1, atol=1e-5))

    # ---- the segment cap is the model's token limit: no passage over 512 tokens ----
    texts = [t for _, _, t, _, _ in rows]
    inp = os.path.join(tmp, "passages.json")
    json.dump(["passage: " + t.strip() for t in texts], open(inp, "w"))
    hf = subprocess.run(["node", os.path.join(ROOT, "tests/tools/hf_encode.js"), os.path.join(tok, "tokenizer.json"), inp],
                        capture_output=True, text=True)
    counts = [len(json.loads(l)) for l in hf.stdout.splitlines() if l.strip()]
    check("HF tokenizers counted every passage", hf.returncode == 0 and len(counts) == len(texts), hf.stderr[-500:])
    check("every stored passage is <= 512 tokens (HF count)", counts and max(counts) <= 512, "max %s" % max(counts or [0]))
    check("the cap was active (some passage near 512)", counts and max(counts) > 400, "max %s" % max(counts or [0]))
    # the word cap alone would have made over-long passages: the token cap is what prevents truncation
    lx = os.path.join(tmp, "lex.db")
    run(["ingest", "-i", lx, small])
    c = sqlite3.connect(lx)
    ltexts = [t for (t,) in c.execute("SELECT text FROM segments")]
    c.close()
    json.dump(["passage: " + t.strip() for t in ltexts], open(inp, "w"))
    hf = subprocess.run(["node", os.path.join(ROOT, "tests/tools/hf_encode.js"), os.path.join(tok, "tokenizer.json"), inp],
                        capture_output=True, text=True)
    lcounts = [len(json.loads(l)) for l in hf.stdout.splitlines() if l.strip()]
    check("without a model (word cap) some passages exceed 512 tokens", lcounts and max(lcounts) > 512,
          "max %s" % max(lcounts or [0]))

    # ---- dense: exact top-k by cosine against a numpy scan of the stored vectors ----
    q = "como a rede neural aprende com o gradiente"
    emb = run(["embed", "--model", model, "--query"], input=q + "\n")
    qv = np.array(json.loads(emb.stdout.splitlines()[0]), dtype=np.float32)
    d = search(ix, model, q, "dense", k=10)
    ref = mat.astype(np.float64) @ qv.astype(np.float64)
    order = np.lexsort((np.array([i for i, _, _, _, _ in rows]), -ref))[:10]
    ref_ids = [rows[i][0] for i in order]
    got_ids = [s["corpus_id"] for s in d["segments"]]
    check("dense mode reported", d["mode"] == "dense")
    check("dense top-10 ids = numpy exact scan", got_ids == ref_ids, "%s vs %s" % (got_ids, ref_ids))
    check("dense score is the cosine", all(abs(s["score"] - ref[order[i]]) < 1e-5 and s["dense_score"] == s["score"]
                                          and s["dense_rank"] == i + 1 for i, s in enumerate(d["segments"])))
    check("dense hits carry no lexical score", all("lexical_score" not in s for s in d["segments"]))

    # ---- hybrid: RRF of the lexical and dense top-50, recomputed here ----
    h = search(ix, model, q, "hybrid", k=10)
    lex = [s["corpus_id"] for s in search(ix, None, q, "lexical", k=50)["segments"]]
    den = [s["corpus_id"] for s in search(ix, model, q, "dense", k=50)["segments"]]
    fused = {}
    for lst in (lex, den):
        for r_, cid in enumerate(lst, 1):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (60 + r_)
    best = sorted(fused.items(), key=lambda kv: -kv[1])[:10]
    check("hybrid mode reported", h["mode"] == "hybrid")
    check("hybrid scores = RRF(60) of lexical and dense top-50",
          [round(s["score"], 12) for s in h["segments"]] == [round(v, 12) for _, v in best],
          "%s vs %s" % ([s["score"] for s in h["segments"]], [v for _, v in best]))
    check("hybrid ids as RRF (ties aside)", set(s["corpus_id"] for s in h["segments"]) >= set(c for c, v in best if v > best[-1][1]))
    ok = True
    for s in h["segments"]:
        lr = lex.index(s["corpus_id"]) + 1 if s["corpus_id"] in lex else 0
        dr = den.index(s["corpus_id"]) + 1 if s["corpus_id"] in den else 0
        ok &= s.get("lexical_rank", 0) == lr and s.get("dense_rank", 0) == dr
        ok &= abs(s["dense_score"] - ref[[r[0] for r in rows].index(s["corpus_id"])]) < 1e-5
    check("hybrid hits carry both ranks and the cosine", ok)
    h2 = search(ix, model, q, "hybrid", k=5, extra=["--rrf-k", "1"])
    check("--rrf-k changes the constant", abs(h2["segments"][0]["score"] -
          sum(1.0 / (1 + r_) for r_ in (h2["segments"][0].get("lexical_rank", 0), h2["segments"][0].get("dense_rank", 0)) if r_)) < 1e-12)
    check("default mode with a model and vectors is hybrid", search(ix, model, q)["mode"] == "hybrid")
    check("default mode without a model is lexical", search(ix, None, q)["mode"] == "lexical")
    txt = run(["search", "-i", ix, "-k", "3", "--mode", "hybrid", "--model", model, q])
    scores = [l.split("*Score:* ")[1] for l in txt.stdout.splitlines() if l.startswith("- *Score:* ")]
    check("hybrid text output shows the cosine as Score",
          len(scores) == 3 and all(abs(float(a) - b["dense_score"]) < 1e-12 for a, b in zip(scores, h["segments"][:3])),
          txt.stdout[:300])

    # ---- errors: no model, no vectors, another model ----
    r = run(["search", "-i", ix, "--mode", "dense", q])
    check("dense without a model: usage error naming --model", r.returncode == 2 and "--model" in r.stderr, r.stderr)
    r = run(["search", "-i", lx, "--mode", "dense", "--model", model, q])
    check("dense on an index without vectors: exit 1, says so", r.returncode == 1 and "no vectors" in r.stderr, r.stderr)
    fp = info["model"]
    r = run(["search", "-i", ix, "--mode", "dense", "--model", other, q])
    check("query with another model refused, naming both fingerprints",
          r.returncode == 1 and fp in r.stderr and "e5:bert" in r.stderr.replace(fp, ""), r.stderr)
    before = count(ix, "SELECT count(*) FROM segments")
    r = run(["ingest", "-i", ix, "--model", other, big])
    check("ingest with another model refused before writing anything",
          r.returncode == 1 and fp in r.stderr and count(ix, "SELECT count(*) FROM segments") == before, r.stderr)

    # ---- an interrupted embedding resumes where it stopped (kill -9 mid-run) ----
    full = os.path.join(tmp, "full.db")
    r = run(["ingest", "-i", full, "--model", model, big])
    check("uninterrupted big ingest", r.returncode == 0, r.stderr[-500:])
    want = {(v, o): b for _, b, _, v, o in blobs(full)}
    part = os.path.join(tmp, "part.db")
    e = dict(os.environ, AULARAG_MODEL=model)
    p = subprocess.Popen([AR, "ingest", "-i", part, big], env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = 0
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        try:
            got = count(part, "SELECT count(*) FROM vectors")
        except sqlite3.Error:
            got = 0
        if got > 0:
            break
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL)
    p.wait()
    n_big = len(want)
    mid = count(part, "SELECT count(*) FROM vectors")
    check("killed in the middle of embedding", 0 < mid < n_big, "%d of %d" % (mid, n_big))
    r = run(["ingest", "-i", part, big], env={"AULARAG_MODEL": model})
    check("rerun after kill -9 exits 0", r.returncode == 0, r.stderr[-500:])
    check("rerun embeds only what was missing", "embedded %d segments" % (n_big - mid) in r.stdout, r.stdout)
    have = {(v, o): b for _, b, _, v, o in blobs(part)}
    check("resumed vectors identical to an uninterrupted run", have == want,
          "%d vs %d vectors" % (len(have), len(want)))
    c = sqlite3.connect(part)
    check("index intact after kill", c.execute("PRAGMA integrity_check").fetchone()[0] == "ok")
    c.close()


if __name__ == "__main__":
    main()
