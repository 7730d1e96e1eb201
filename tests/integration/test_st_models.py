#!/usr/bin/python3
"""test_st_models.py - pooling and prompts from the model's sentence-transformers files (issue #15 item 1).

Random-weight models in the hub layout (tests/tools/make_model.py --pooling/--no-normalize/--prompts/--max-pos)
against the PyTorch reference (tests/tools/ref_e5.py, which reads modules.json and 1_Pooling itself and is
given the prompt text by this test): CLS pooling (bge-m3's), last-token pooling without Normalize, a
long-context XLM-R (1,200 positions, sequences of 1,100 tokens), an instruct-style query prompt, the
--query-prefix / --passage-prefix overrides; e5 unchanged when the files say mean + normalize; the index
records the prompts (search with others is refused); unsupported files fail naming the file."""
import json, os, subprocess, sys
import numpy as np

ROOT = os.environ.get("AULARAG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
AR = os.environ.get("AULARAG_BIN") or os.path.join(ROOT, "build/asan/aularag")
sys.path.insert(0, os.path.join(ROOT, "tests/tools"))
import ref_e5  # noqa: E402
import checks, fixtures  # noqa: E402
from checks import check  # noqa: E402


def run(args, env=None, input=None):
    e = dict(os.environ)
    for k in ("AULARAG_MODEL", "AULARAG_RERANK", "AULARAG_PRECISION", "AULARAG_EMBED_URL"):
        e.pop(k, None)
    e.update(env or {})
    return subprocess.run([AR] + args, capture_output=True, text=True, env=e, input=input)


def vecs(out):
    return [np.array(json.loads(l), dtype=np.float64) for l in out.splitlines()]


def compare(what, got, ref, cos_min=0.99999, abs_max=1e-5):
    if len(got) != len(ref):
        return check(what, False, "got %d vectors, expected %d" % (len(got), len(ref)))
    wc, wa = 1.0, 0.0
    for g, r in zip(got, ref):
        r = r.astype(np.float64)
        wc = min(wc, float(g @ r / (np.linalg.norm(g) * np.linalg.norm(r))))
        wa = max(wa, float(np.abs(g - r).max()))
    print("ok %s: worst cos %.9f, max abs %.3g" % (what, wc, wa))
    return check(what, wc >= cos_min and wa <= abs_max, "worst cos %.9f, max abs %.3g" % (wc, wa))


def main():
    fixtures.run_body(body, "aularag-st-")
    checks.finish()


def body(data, tmp):
    vids = fixtures.transcripts(data)
    tok, lines = fixtures.tokenizer(tmp, vids)
    texts = [lines[5], " ".join(lines[100:140]), lines[9] + " ", "Qual é a derivada de x ao quadrado?", lines[77]]

    def model(name, *args):
        return fixtures.model(os.path.join(tmp, name), tok, "--vocab", "1002", "--std", "0.1", *args)

    # ---- pooling from 1_Pooling/config.json, Normalize from modules.json (ids: the encoder alone) ----
    rnd = np.random.default_rng(5)
    for name, args, lengths in (
            ("cls-xlmr-long", ["--preset", "tiny-xlmr", "--pooling", "cls", "--max-pos", "1200"], [3, 40, 700, 1100, 1198]),
            ("last-bert-raw", ["--preset", "tiny-bert", "--pooling", "lasttoken", "--no-normalize"], [2, 30, 300, 512])):
        d = model(name, *args)
        seqs = [[0] + [int(x) for x in rnd.integers(4, 1002, n - 2)] + [2] for n in lengths]
        ref = ref_e5.embed_ids(d, seqs, batch=3)
        p = run(["embed", "--model", d, "--ids", "--threads", "2", "--batch", "2"], input="".join(json.dumps(s) + "\n" for s in seqs))
        check("%s: embed --ids exits 0" % name, p.returncode == 0, p.stderr[-500:])
        compare("%s vs torch (lengths %s)" % (name, lengths), vecs(p.stdout), ref)
        norms = [float(np.linalg.norm(v)) for v in vecs(p.stdout)]
        if "raw" in name:
            check("%s: no Normalize module: vectors are not unit length" % name, max(abs(n - 1) for n in norms) > 0.01, norms)
        too_long = run(["embed", "--model", d, "--ids"], input=json.dumps([0] + [5] * (lengths[-1] - 1) + [2]) + "\n")
        check("%s: one token past the position table is refused" % name, too_long.returncode != 0, too_long.stderr)
        # no prompts in the files and not e5's pooling: nothing is prepended
        p = run(["embed", "--model", d, "--query", "--threads", "2"], input="".join(t + "\n" for t in texts))
        compare("%s: --query texts get no prefix" % name, vecs(p.stdout),
                ref_e5.embed_ids(d, ref_e5.tokenize(d, texts, "raw", max_len=lengths[-1])))

    # ---- prompts from config_sentence_transformers.json: an instruct-style query prompt ----
    instruct = "Instruct: Given a student's question, retrieve lecture passages that answer it\nQuery: "
    d = model("instruct", "--preset", "tiny-xlmr", "--pooling", "mean", "--prompts", json.dumps({"query": instruct}))
    for kind, pre in (("query", instruct), ("passage", "")):
        p = run(["embed", "--model", d, "--" + kind, "--threads", "2"], input="".join(t + "\n" for t in texts))
        check("instruct --%s exits 0" % kind, p.returncode == 0, p.stderr[-300:])
        compare("instruct prompt --%s vs torch (prefix %r)" % (kind, pre[:20]), vecs(p.stdout),
                ref_e5.embed_ids(d, ref_e5.tokenize(d, texts, "raw", prefix=pre)))
    p = run(["embed", "--model", d, "--query", "--query-prefix", "pergunta: "], input="".join(t + "\n" for t in texts))
    compare("--query-prefix overrides the file's prompt", vecs(p.stdout),
            ref_e5.embed_ids(d, ref_e5.tokenize(d, texts, "raw", prefix="pergunta: ")))
    dp = model("default-prompt", "--preset", "tiny-bert", "--pooling", "mean",
               "--prompts", json.dumps({"retrieval": "Represent this: "}), "--default-prompt", "retrieval")
    p = run(["embed", "--model", dp, "--passage"], input="".join(t + "\n" for t in texts))
    compare("default_prompt_name's prompt for passages", vecs(p.stdout),
            ref_e5.embed_ids(dp, ref_e5.tokenize(dp, texts, "raw", prefix="Represent this: ")))

    # ---- e5 unchanged when the files say mean + normalize (no prompts) ----
    plain = model("e5-plain", "--preset", "tiny-bert", "--seed", "9")
    st = model("e5-st", "--preset", "tiny-bert", "--seed", "9", "--pooling", "mean")
    for kind in ("query", "passage"):
        a = run(["embed", "--model", plain, "--" + kind], input="".join(t + "\n" for t in texts))
        b = run(["embed", "--model", st, "--" + kind], input="".join(t + "\n" for t in texts))
        check("e5 with mean+normalize files == without them (--%s, bitwise)" % kind,
              a.returncode == 0 and a.stdout == b.stdout)
        compare("e5 --%s keeps \"%s: \"" % (kind, kind), vecs(a.stdout),
                ref_e5.embed_ids(plain, ref_e5.tokenize(plain, texts, kind)))

    # ---- the index records the prompts: search with others is refused ----
    src = fixtures.link_videos(os.path.join(tmp, "videos"), vids[:2])
    ix1, ix2 = os.path.join(tmp, "a.db"), os.path.join(tmp, "b.db")
    r1 = run(["ingest", "-i", ix1, "--model", plain, src])
    r2 = run(["ingest", "-i", ix2, "--model", st, src])
    i1 = json.loads(run(["info", "-i", ix1, "--json"]).stdout)
    i2 = json.loads(run(["info", "-i", ix2, "--json"]).stdout)
    check("e5 files or not: the same fingerprint in the index", r1.returncode == 0 and r2.returncode == 0 and
          i1["model"] == i2["model"], "%s / %s" % (i1.get("model"), i2.get("model")))
    ix3 = os.path.join(tmp, "c.db")
    r = run(["ingest", "-i", ix3, "--model", plain, "--query-prefix", "pergunta: ", "--passage-prefix", "trecho: ", src])
    i3 = json.loads(run(["info", "-i", ix3, "--json"]).stdout)
    check("other prompts: the index's fingerprint says so", r.returncode == 0 and i3["model"] != i1["model"] and
          i3["model"].startswith(i1["model"]), "%s vs %s" % (i3.get("model"), i1.get("model")))
    s = run(["search", "-i", ix3, "--mode", "dense", "--model", plain, "--json", "derivada"])
    check("searching it with e5's prompts is refused (mismatch)", s.returncode != 0 and "model" in s.stderr, s.stderr)
    s = run(["search", "-i", ix3, "--mode", "dense", "--model", plain, "--query-prefix", "pergunta: ",
             "--passage-prefix", "trecho: ", "--json", "derivada"])
    check("searching it with the same prompts works", s.returncode == 0 and json.loads(s.stdout)["segments"], s.stderr)

    # ---- files we cannot honour fail, naming the file ----
    bad = model("bad-dense", "--preset", "tiny-bert", "--pooling", "mean")
    mods = json.load(open(os.path.join(bad, "modules.json")))
    mods.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    json.dump(mods, open(os.path.join(bad, "modules.json"), "w"))
    r = run(["embed", "--model", bad], input="x\n")
    check("a Dense module: exit 1 naming modules.json", r.returncode == 1 and "modules.json" in r.stderr and
          "Dense" in r.stderr, r.stderr)
    badp = model("bad-pool", "--preset", "tiny-bert", "--pooling", "mean")
    pc = json.load(open(os.path.join(badp, "1_Pooling", "config.json")))
    pc["pooling_mode_mean_tokens"], pc["pooling_mode_max_tokens"] = False, True
    json.dump(pc, open(os.path.join(badp, "1_Pooling", "config.json"), "w"))
    r = run(["embed", "--model", badp], input="x\n")
    check("max pooling: exit 1 naming 1_Pooling/config.json", r.returncode == 1 and "1_Pooling/config.json" in r.stderr,
          r.stderr)


if __name__ == "__main__":
    checks.run(main)
