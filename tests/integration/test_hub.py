#!/usr/bin/python3
"""test_hub.py - `aularag model pull` against a scripted Hub on loopback (tests/hub_server.py) serving a
random-weight model (tests/tools/make_model.py), and `--model ORG/NAME` resolved through the cache.

The reference for every vector is the same command run with --model <the generated folder>; the reference
for the cache is huggingface_hub's layout (blobs/<etag>, snapshots/<commit>/<file> -> ../../blobs/<etag>,
refs/<revision>), checked file by file and also written here by hand."""
import glob, hashlib, json, os, shutil, subprocess, sys, tempfile

ROOT = os.environ.get("AULARAG_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AR = os.environ.get("AULARAG_BIN") or os.path.join(ROOT, "build/asan/aularag")
PY = "/usr/bin/python3"
COURSE = os.path.join(ROOT, "samples", "course")
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests/integration"))
from hub_server import HubServer  # noqa: E402
import checks  # noqa: E402
from checks import check  # noqa: E402

LINES = ["Quais são os dispositivos visíveis?", "o gradiente descendente", "redes neurais e matrizes", ""]


def make_model(tmp):
    """A random-weight tiny BERT with a SentencePiece tokenizer, plus the sentence-transformers files."""
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
                    "--seed", "5", "--out", out, "--tokenizer", tok], check=True, capture_output=True)
    os.makedirs(os.path.join(out, "1_Pooling"))
    json.dump({"word_embedding_dimension": 64, "pooling_mode_mean_tokens": True},
              open(os.path.join(out, "1_Pooling", "config.json"), "w"))
    json.dump([{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}],
              open(os.path.join(out, "modules.json"), "w"))
    open(os.path.join(out, "README.md"), "w").write("not needed by the encoder: never downloaded\n")
    return out


def env_for(hf_home, hub=None, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_", "HF_", "HUGGING"))}
    env["HF_HOME"] = hf_home
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    if hub:
        env["HF_ENDPOINT"] = hub.url
    env.update(extra)
    return env


def run(args, env, stdin=None):
    return subprocess.run([AR] + args, capture_output=True, text=True, env=env, input=stdin, timeout=120)


def embed(model, env, *args):
    return run(["embed", "--model", model] + list(args), env, "\n".join(LINES) + "\n")


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def cache_checks(hf_home, repo_id, model, commit, what):
    """The pulled cache against huggingface_hub's layout, file by file."""
    repo = os.path.join(hf_home, "hub", "models--" + repo_id.replace("/", "--"))
    ref = os.path.join(repo, "refs", "main")
    check("%s: refs/main names the commit" % what, os.path.isfile(ref) and open(ref).read() == commit)
    want = ["config.json", "model.safetensors", "tokenizer.json", "sentencepiece.bpe.model", "modules.json",
            "1_Pooling/config.json"]
    for f in want:
        link = os.path.join(repo, "snapshots", commit, f)
        if not check("%s: snapshots/<commit>/%s is a symlink" % (what, f), os.path.islink(link)):
            continue
        target = os.readlink(link)
        data = open(os.path.join(model, f), "rb").read()
        lfs = f.endswith(".safetensors") or len(data) > 64 * 1024
        etag = hashlib.sha256(data).hexdigest() if lfs else hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        depth = "../" * (2 + f.count("/"))
        check("%s: %s -> %sblobs/<%s>" % (what, f, depth, "sha256" if lfs else "git sha1"),
              target == depth + "blobs/" + etag, target)
        check("%s: %s holds the served bytes" % (what, f), open(link, "rb").read() == data)
    check("%s: README.md (not needed) was not fetched" % what,
          not os.path.exists(os.path.join(repo, "snapshots", commit, "README.md")))
    check("%s: no .incomplete left" % what, not glob.glob(os.path.join(repo, "blobs", "*.incomplete")))
    return repo


def main():
    tmp = tempfile.mkdtemp(prefix="aularag-hub-")
    model = make_model(tmp)
    ref = embed(model, env_for(os.path.join(tmp, "none")))
    if not check("embed --model DIR (the reference) works", ref.returncode == 0 and ref.stdout, ref.stderr[-500:]):
        checks.finish()
    ref_q = embed(model, env_for(os.path.join(tmp, "none")), "--passage")
    ref_tok = run(["tokenize", "--model", model], env_for(os.path.join(tmp, "none")), "\n".join(LINES) + "\n")
    size = os.path.getsize(os.path.join(model, "model.safetensors"))
    lfs_sha = sha256(os.path.join(model, "model.safetensors"))
    check("the model file is large enough to cut mid-body (%d bytes)" % size, size > 100000)

    with HubServer({"org/tiny": model, "gated/tiny": model}) as hub:
        commit = hub.repos["org/tiny"].commit
        home = os.path.join(tmp, "hf1")
        env = env_for(home, hub)

        # 1. a pull whose CDN connection is cut mid-body: resumed with Range in the same run
        hub.cut_after = 100000
        p = run(["model", "pull", "org/tiny"], env)
        check("pull (connection cut once): exit 0", p.returncode == 0, p.stderr[-800:])
        snap = os.path.join(home, "hub", "models--org--tiny", "snapshots", commit)
        check("pull prints the snapshot folder", p.stdout.strip() == snap, p.stdout)
        cdn = hub.requests("GET", "/cdn/" + lfs_sha)
        check("model.safetensors: fetched twice, the second from byte 100000",
              len(cdn) == 2 and "range" not in cdn[0][2] and cdn[1][2].get("range") == "bytes=100000-",
              [(e[1], e[2].get("range")) for e in cdn])
        check("HEAD asked for Accept-Encoding: identity", all(e[2].get("accept-encoding") == "identity"
                                                              for e in hub.requests("HEAD")))
        repo = cache_checks(home, "org/tiny", model, commit, "pull")

        # 2. --model ORG/NAME everywhere the folder worked: same vectors, same ids, also through AULARAG_MODEL
        e = embed("org/tiny", env)
        check("embed --model org/tiny == embed --model DIR", e.returncode == 0 and e.stdout == ref.stdout, e.stderr[-500:])
        e = embed("org/tiny@main", env, "--passage")
        check("embed --model org/tiny@main --passage == DIR", e.stdout == ref_q.stdout and e.returncode == 0, e.stderr[-500:])
        e = embed("org/tiny@" + commit, env)
        check("embed --model org/tiny@<commit> == DIR", e.stdout == ref.stdout and e.returncode == 0, e.stderr[-500:])
        e = run(["embed"], dict(env, AULARAG_MODEL="org/tiny"), "\n".join(LINES) + "\n")
        check("AULARAG_MODEL=org/tiny == DIR", e.stdout == ref.stdout and e.returncode == 0, e.stderr[-500:])
        t = run(["tokenize", "--model", "org/tiny"], env, "\n".join(LINES) + "\n")
        check("tokenize --model org/tiny == DIR", t.returncode == 0 and t.stdout == ref_tok.stdout, t.stderr[-500:])
        ix = os.path.join(tmp, "ix.db")
        g = run(["ingest", "-q", "-i", ix, "--model", "org/tiny", COURSE], env)
        s = run(["search", "-i", ix, "--model", "org/tiny", "--mode", "dense", "--json", "gradiente"], env)
        check("ingest and dense search with --model org/tiny", g.returncode == 0 and s.returncode == 0 and
              json.loads(s.stdout)["segments"], (g.stderr + s.stderr)[-800:])
        srv = checks.Server(AR, ix, "--model", "org/tiny", env=env)
        try:
            st, _, body = srv.json("GET", "/api/search?q=gradiente&k=3&mode=dense")
            check("serve --model org/tiny answers dense searches", st == 200 and body.get("segments"), str(body)[:300])
        finally:
            srv.stop()
        inf = run(["info", "-i", ix, "--model", "org/tiny"], env)
        check("info --model org/tiny shows the resolved folder", inf.returncode == 0 and snap in inf.stdout,
              inf.stdout + inf.stderr)

        # 3. no network at run time: the same commands with the Hub gone (endpoint pointing nowhere)
        off = dict(env, HF_ENDPOINT="http://127.0.0.1:9")
        n_before = len(hub.log)
        e = embed("org/tiny", off)
        check("embed --model org/tiny with no Hub reachable", e.returncode == 0 and e.stdout == ref.stdout)
        check("running a verb sent nothing to the Hub", len(hub.log) == n_before)

        # 4. pulling again: files already in the cache are not downloaded again
        hub.log.clear()
        p = run(["model", "pull", "-q", "org/tiny"], env)
        check("second pull: exit 0, nothing downloaded", p.returncode == 0 and not hub.requests("GET", "/cdn/"),
              p.stderr[-500:])
        ls = run(["model", "list", "--json"], env)
        rows = [json.loads(l) for l in ls.stdout.splitlines()]
        check("model list --json shows org/tiny at the commit", ls.returncode == 0 and
              [(r["repo_id"], r["main"]) for r in rows] == [("org/tiny", commit)], ls.stdout + ls.stderr)

        # 4b. two pulls into one cache at once: they take turns per file, both succeed, one good blob
        home_c = os.path.join(tmp, "hfc")
        procs = [subprocess.Popen([AR, "model", "pull", "-q", "org/tiny"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env_for(home_c, hub)) for _ in range(2)]
        outs = [pr.communicate(timeout=120) + (pr.returncode,) for pr in procs]
        blob_c = os.path.join(home_c, "hub", "models--org--tiny", "blobs", lfs_sha)
        check("two pulls at once: both exit 0", all(o[2] == 0 for o in outs), [o[1][-300:] for o in outs])
        check("two pulls at once: the blob is whole, nothing partial left", os.path.isfile(blob_c) and
              sha256(blob_c) == lfs_sha and not glob.glob(os.path.join(os.path.dirname(blob_c), "*.incomplete")))

        # 5. a partial blob from an earlier (killed) run is resumed from its length
        home2 = os.path.join(tmp, "hf2")
        blobs = os.path.join(home2, "hub", "models--org--tiny", "blobs")
        os.makedirs(blobs)
        data = open(os.path.join(model, "model.safetensors"), "rb").read()
        open(os.path.join(blobs, lfs_sha + ".incomplete"), "wb").write(data[:77777])
        hub.log.clear()
        p = run(["model", "pull", "org/tiny"], env_for(home2, hub))
        cdn = hub.requests("GET", "/cdn/" + lfs_sha)
        check("resume across runs: one GET with Range: bytes=77777-", p.returncode == 0 and len(cdn) == 1 and
              cdn[0][2].get("range") == "bytes=77777-", [(e[1], e[2].get("range")) for e in cdn] + [p.stderr[-500:]])
        check("resumed blob has the right SHA-256", sha256(os.path.join(blobs, lfs_sha)) == lfs_sha)

        # 6. a partial blob holding wrong bytes: the SHA-256 check refuses it and removes it; the next pull works
        home3 = os.path.join(tmp, "hf3")
        blobs = os.path.join(home3, "hub", "models--org--tiny", "blobs")
        os.makedirs(blobs)
        part = os.path.join(blobs, lfs_sha + ".incomplete")
        open(part, "wb").write(b"\xff" * 5000)
        p = run(["model", "pull", "org/tiny"], env_for(home3, hub))
        check("corrupt partial: exit 1 naming SHA-256", p.returncode == 1 and "SHA-256" in p.stderr, p.stderr[-500:])
        check("corrupt partial: removed", not os.path.exists(part) and not os.path.exists(os.path.join(blobs, lfs_sha)))
        check("corrupt partial: refs/main not written",
              not os.path.exists(os.path.join(home3, "hub", "models--org--tiny", "refs", "main")))
        p = run(["model", "pull", "org/tiny"], env_for(home3, hub))
        check("pull after the corrupt partial: exit 0", p.returncode == 0, p.stderr[-500:])

        # 7. the Hub advertises a SHA-256 the bytes do not have: refused, nothing kept, the model unusable
        hub.bad_sha = True
        home4 = os.path.join(tmp, "hf4")
        p = run(["model", "pull", "org/tiny"], env_for(home4, hub))
        hub.bad_sha = False
        blobs = os.path.join(home4, "hub", "models--org--tiny", "blobs")
        check("wrong X-Linked-Etag: exit 1, message names SHA-256 and X-Linked-Etag",
              p.returncode == 1 and "SHA-256" in p.stderr and "X-Linked-Etag" in p.stderr, p.stderr[-500:])
        check("wrong X-Linked-Etag: no partial or blob of model.safetensors left",
              not [f for f in os.listdir(blobs) if "00000000" in f or f.startswith(lfs_sha)], os.listdir(blobs))
        e = embed("org/tiny", env_for(home4, hub))
        check("after the refused pull, --model org/tiny is not cached: exit 1 naming `model pull`",
              e.returncode == 1 and "aularag model pull org/tiny" in e.stderr, e.stderr[-500:])

        # 8. a gated repository: 401 without a token names HF_TOKEN; the token is never sent to the CDN
        hub.token = "hf_s3cr3t"
        home5 = os.path.join(tmp, "hf5")
        p = run(["model", "pull", "gated/tiny"], env_for(home5, hub))
        check("401 without a token: exit 1, message names HF_TOKEN", p.returncode == 1 and "HF_TOKEN" in p.stderr and
              "401" in p.stderr, p.stderr[-500:])
        p = run(["model", "pull", "gated/tiny"], env_for(home5, hub, HF_TOKEN="wrong"))
        check("401 with a wrong token: exit 1, says HF_TOKEN was refused", p.returncode == 1 and "HF_TOKEN" in p.stderr
              and "refused" in p.stderr and "wrong" not in p.stderr, p.stderr[-500:])
        hub.log.clear()
        p = run(["model", "pull", "gated/tiny"], env_for(home5, hub, HF_TOKEN="hf_s3cr3t"))
        hub.token = None
        check("with HF_TOKEN: exit 0", p.returncode == 0, p.stderr[-500:])
        sent = [(e[0], e[1].split("?")[0]) for e in hub.log if "authorization" in e[2]]
        check("with HF_TOKEN: the API and resolve requests carry it",
              any(m == "HEAD" for m, _ in sent) and any(u.startswith("/api/") for _, u in sent), sent)
        check("with HF_TOKEN: never sent to the CDN (another host)", hub.requests("GET", "/cdn/") and
              not [u for _, u in sent if u.startswith("/cdn/")], sent)
        check("with HF_TOKEN: the token never appears in output", "hf_s3cr3t" not in p.stdout + p.stderr)

        # 8b. a hostile Hub: a redirect to a local file is not followed; a server that ignores Range restarts
        hub.cdn_url = "file:///etc/hostname"
        home_f = os.path.join(tmp, "hff")
        p = run(["model", "pull", "--retries", "0", "org/tiny"], env_for(home_f, hub))
        hub.cdn_url = None
        check("Location file:///...: refused, nothing stored", p.returncode == 1 and not glob.glob(
            os.path.join(home_f, "hub", "models--org--tiny", "blobs", lfs_sha + "*")), p.stderr[-300:])
        home_r = os.path.join(tmp, "hfr")
        blobs = os.path.join(home_r, "hub", "models--org--tiny", "blobs")
        os.makedirs(blobs)
        open(os.path.join(blobs, lfs_sha + ".incomplete"), "wb").write(data[:5000])
        hub.ignore_range = True
        p = run(["model", "pull", "org/tiny"], env_for(home_r, hub))
        hub.ignore_range = False
        check("a CDN that ignores Range (200 to a Range request): the file starts over and is whole",
              p.returncode == 0 and sha256(os.path.join(blobs, lfs_sha)) == lfs_sha, p.stderr[-300:])

        # 9. a renamed repository: the Hub's relative redirects are followed
        hub.moved = {"old/tiny": "org/tiny"}
        home6 = os.path.join(tmp, "hf6")
        p = run(["model", "pull", "old/tiny"], env_for(home6, hub))
        hub.moved = {}
        check("renamed repo (307 relative redirects): exit 0", p.returncode == 0, p.stderr[-500:])

        # 10. what is not there, and usage errors
        p = run(["model", "pull", "org/nothing"], env_for(os.path.join(tmp, "hf7"), hub))
        check("unknown repo: exit 1, 404 named", p.returncode == 1 and "404" in p.stderr, p.stderr[-300:])
        p = run(["model", "pull", "org/tiny", "--revision", "v9"], env_for(os.path.join(tmp, "hf7"), hub))
        check("unknown revision: exit 1", p.returncode == 1 and "v9" in p.stderr, p.stderr[-300:])
        for args in (["model", "pull"], ["model", "pull", "not-a-repo-id"], ["model", "pull", "a/b/c"], ["model"],
                     ["model", "fetch", "org/tiny"]):
            p = run(args, env)
            check("usage error: %s -> exit 2" % " ".join(args), p.returncode == 2, p.stderr[-300:])
        p = run(["model", "pull", "org/tiny"], env_for(os.path.join(tmp, "hf8"), None, HF_ENDPOINT="file:///etc"))
        check("HF_ENDPOINT not http(s): usage error naming HF_ENDPOINT", p.returncode == 2 and "HF_ENDPOINT" in p.stderr,
              p.stderr[-300:])
        p = run(["model", "pull", "--retries", "0", "org/tiny"], env_for(os.path.join(tmp, "hf8"), None,
                                                                         HF_ENDPOINT="http://127.0.0.1:9"))
        check("Hub unreachable: exit 1 naming the endpoint", p.returncode == 1 and "127.0.0.1:9" in p.stderr,
              p.stderr[-300:])

    # 11. a cache written by hand in huggingface_hub's layout (as huggingface-cli leaves it) resolves
    hand = os.path.join(tmp, "handcache")
    repo = os.path.join(hand, "models--hand--made")
    c1 = "1" * 40
    files = sorted(os.path.relpath(os.path.join(d, f), model) for d, _, fs in os.walk(model) for f in fs)
    for f in files:   # every file of the model folder (the sentence-transformers ones in subfolders too)
        data = open(os.path.join(model, f), "rb").read()
        blob = hashlib.sha256(data).hexdigest()
        os.makedirs(os.path.join(repo, "blobs"), exist_ok=True)
        open(os.path.join(repo, "blobs", blob), "wb").write(data)
        link = os.path.join(repo, "snapshots", c1, f)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(os.path.join(repo, "blobs", blob), os.path.dirname(link)), link)
    os.makedirs(os.path.join(repo, "refs"))
    open(os.path.join(repo, "refs", "main"), "w").write(c1)
    open(os.path.join(repo, "refs", "v1"), "w").write(c1 + "\n")
    henv = env_for(os.path.join(tmp, "unused"), None, HF_HUB_CACHE=hand)
    for m in ("hand/made", "hand/made@v1", "hand/made@" + c1):
        e = embed(m, henv)
        check("hand-made cache: embed --model %s == DIR" % m, e.returncode == 0 and e.stdout == ref.stdout,
              e.stderr[-500:])
    e = embed("hand/made@v2", henv)
    check("hand-made cache: an unknown revision names `model pull ... --revision v2`",
          e.returncode == 1 and "aularag model pull hand/made --revision v2" in e.stderr, e.stderr[-500:])
    e = embed("hand/other", henv)
    check("not cached: exit 1 naming the cache and `aularag model pull hand/other`",
          e.returncode == 1 and "aularag model pull hand/other" in e.stderr and hand in e.stderr, e.stderr[-500:])
    # a local folder wins over the cache: ORG/NAME that exists as a path is that path
    os.makedirs(os.path.join(tmp, "cwd", "hand"))
    shutil.copytree(model, os.path.join(tmp, "cwd", "hand", "made"))
    p = subprocess.run([AR, "embed", "--model", "hand/made"], capture_output=True, text=True, cwd=os.path.join(tmp, "cwd"),
                       env=dict(henv, HF_HUB_CACHE=os.path.join(tmp, "empty")), input="\n".join(LINES) + "\n")
    check("an existing folder ORG/NAME is used as a folder", p.returncode == 0 and p.stdout == ref.stdout, p.stderr[-300:])
    shutil.rmtree(tmp, ignore_errors=True)


checks.run(main)
