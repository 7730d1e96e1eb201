#!/usr/bin/python3
"""test_embeddings_server.py - `serve --model M` as an OpenAI-compatible embeddings server (POST /v1/embeddings).

Requests are shaped like the OpenAI Python client's (http.client by hand: Bearer key, its User-Agent, base64
by default); replies are checked field by field. Independent references: sentencepiece + PyTorch
(tests/tools/ref_e5.py) for the vectors and the token counts; `ingest --model M` for the ingest through the
server, whose stored vectors must be bitwise equal. Errors come in OpenAI's shape {"error": {"message",
"type", "param", "code"}}."""
import base64, http.client, json, os, sqlite3, subprocess, sys
import numpy as np

AR = os.environ.get("AULARAG_BIN") or sys.exit("AULARAG_BIN not set (run through make test)")
ROOT = os.environ.get("AULARAG_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "tools"))
import checks, fixtures  # noqa: E402
from checks import check  # noqa: E402
import ref_e5  # noqa: E402

OPENAI_HEADERS = {"Content-Type": "application/json", "Accept": "application/json", "Authorization": "Bearer sk-test",
                  "User-Agent": "OpenAI/Python 1.40.0", "X-Stainless-Lang": "python"}


def env():
    return {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_MODEL", "AULARAG_EMBED", "AULARAG_LLM"))}


def run(args, input=None):
    return subprocess.run([AR] + args, capture_output=True, text=True, env=env(), input=input)


def post(srv, body, headers=None, path="/v1/embeddings"):
    """(status, parsed JSON or None, raw bytes) of one POST on a fresh connection."""
    raw = body if isinstance(body, (bytes, str)) else json.dumps(body)
    st, _, data = srv.request("POST", path, raw, dict(OPENAI_HEADERS, **(headers or {})))
    try:
        return st, json.loads(data), data
    except ValueError:
        return st, None, data


def post_early_reply(srv, body):
    """A POST whose reply may come before the body is sent (an announced oversized body): the body is sent
    as far as the server takes it, then the reply is read. (status, parsed JSON or None, raw)."""
    import socket
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    try:
        s.sendall(b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body))
        try:
            s.sendall(body)
        except OSError:
            pass
        data = b""
        while True:
            try:
                k = s.recv(65536)
            except OSError:
                break
            if not k:
                break
            data += k
    finally:
        s.close()
    head, _, rest = data.partition(b"\r\n\r\n")
    st = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
    try:
        return st, json.loads(rest), data
    except ValueError:
        return st, None, data


def vectors(reply):
    """data[] in index order -> float32 matrix (float arrays or base64 little-endian float32)."""
    rows = sorted(reply["data"], key=lambda d: d["index"])
    return np.stack([np.frombuffer(base64.b64decode(d["embedding"]), dtype="<f4") if isinstance(d["embedding"], str)
                     else np.asarray(d["embedding"], dtype=np.float32) for d in rows])


def is_oai_error(st, o, status, code=None):
    e = (o or {}).get("error")
    return (st == status and isinstance(e, dict) and isinstance(e.get("message"), str) and e["message"]
            and e.get("type") == "invalid_request_error" and (code is None or e.get("code") == code))


def blobs(db):
    c = sqlite3.connect(db)
    r = c.execute("SELECT s.text, v.blob FROM segments s JOIN vectors v ON v.segment_id = s.id ORDER BY s.id").fetchall()
    c.close()
    return r


def main():
    fixtures.run_body(body, "aularag-embsrv-")


def body(data, tmp):
    vids = fixtures.transcripts(data)
    small = fixtures.link_videos(os.path.join(tmp, "small"), vids[:3])
    tok, lines = fixtures.tokenizer(tmp, vids)
    model = fixtures.model(os.path.join(tmp, "e5-tiny"), tok, "--preset", "tiny-bert", "--std", "0.1", "--seed", "3")

    # ---- the local index: short windows, so no segment reaches either cap (tokens locally, words via the API) ----
    local, remote = os.path.join(tmp, "local.db"), os.path.join(tmp, "remote.db")
    seg = ["--window", "30", "--overlap", "5"]
    r = run(["ingest", "-i", local, "--model", model, "-q"] + seg + [small])
    check("ingest --model exits 0", r.returncode == 0, r.stderr[-1500:])

    srv = checks.Server(AR, local, "--model", model, "--threads", "2", env=env())
    try:
        served(srv, model, tmp, local, remote, seg, small, lines)
    finally:
        check("server stops cleanly", srv.stop() == 0, "\n".join(srv.lines[-10:]))
        check("no sanitizer report in the server log", not any("Sanitizer" in l for l in srv.lines),
              "\n".join(srv.lines[-30:]))

    # ---- a server without a model: the route answers 404 in OpenAI's shape, naming --model ----
    bare = checks.Server(AR, local, env=env())
    try:
        st, o, raw = post(bare, {"input": "x", "model": "e5-tiny"})
        check("no --model: 404 model_not_found naming --model",
              st == 404 and o["error"]["code"] == "model_not_found" and "--model" in o["error"]["message"], raw)
    finally:
        bare.stop()


def served(srv, model, tmp, local, remote, seg, small, lines):
    rnd = np.random.RandomState(5)
    texts = ["query: " + lines[i] for i in rnd.choice(len(lines), 6, replace=False)]
    texts += ["passage: " + " ".join(lines[100:112]), "  spaces around  ", "olá, ação — ü 漢字 😀", ""]
    long_text = " ".join(lines[2000:2400])   # far past 512 tokens

    # ---- OpenAI client's default: base64, with model and input list ----
    st, o, raw = post(srv, {"input": texts, "model": "e5-tiny", "encoding_format": "base64"})
    check("base64 request: 200", st == 200, raw[:500])
    if st != 200:
        return
    check("reply: object list, model name, one item per input in order",
          o["object"] == "list" and o["model"] == "e5-tiny" and [d["index"] for d in o["data"]] == list(range(len(texts)))
          and all(d["object"] == "embedding" and isinstance(d["embedding"], str) for d in o["data"]), raw[:300])
    b64 = vectors(o)
    ids = ref_e5.tokenize(model, texts, "raw")
    ref = np.stack(ref_e5.embed_ids(model, ids))
    check("vectors match sentencepiece + PyTorch (max abs <= 1e-5)", b64.shape == ref.shape
          and float(np.abs(b64 - ref).max()) <= 1e-5, float(np.abs(b64 - ref).max()) if b64.shape == ref.shape else b64.shape)
    check("vectors are unit length", np.allclose(np.linalg.norm(b64.astype(np.float64), axis=1), 1, atol=1e-5))
    want_tokens = sum(len(x) for x in ids)
    check("usage: prompt_tokens = total_tokens = the tokens embedded (sentencepiece count)",
          o["usage"] == {"prompt_tokens": want_tokens, "total_tokens": want_tokens}, (o["usage"], want_tokens))

    st, o2, raw = post(srv, {"input": texts, "model": "e5-tiny", "encoding_format": "float"})
    f = vectors(o2) if st == 200 else None
    check("float reply: numbers, bitwise equal to base64", st == 200 and isinstance(o2["data"][0]["embedding"], list)
          and f.tobytes() == b64.tobytes(), raw[:300])
    st, o3, raw = post(srv, {"input": texts})
    check("no model, no encoding_format: float, same vectors",
          st == 200 and isinstance(o3["data"][0]["embedding"], list) and vectors(o3).tobytes() == b64.tobytes(), raw[:300])
    st, o4, raw = post(srv, {"input": texts[2], "model": model})
    check("one string input (model given as its path): one vector, equal to its row",
          st == 200 and len(o4["data"]) == 1 and vectors(o4).tobytes() == b64[2].tobytes(), raw[:300])
    emb = run(["embed", "--model", model, "--raw"], input="".join(t + "\n" for t in texts[:6]))
    loc = np.array([json.loads(l) for l in emb.stdout.splitlines()], dtype=np.float32)
    check("same bits as `aularag embed --raw` on this machine", loc.tobytes() == b64[:6].tobytes(), emb.stderr[-300:])

    # ---- long input: truncated to the model's 512 tokens by default, refused with "truncate": false ----
    st, o, raw = post(srv, {"input": [long_text]})
    full = ref_e5.tokenize(model, [long_text], "raw", max_len=None)
    check("the long text is past 512 tokens", len(full[0]) > 512, len(full[0]))
    ref_long = ref_e5.embed_ids(model, ref_e5.tokenize(model, [long_text], "raw"))[0]
    check("long input: truncated like the local encoder (first 510 tokens + specials), usage 512",
          st == 200 and float(np.abs(vectors(o)[0] - ref_long).max()) <= 1e-5 and o["usage"]["prompt_tokens"] == 512,
          raw[:300])
    st, o, raw = post(srv, {"input": ["short", long_text], "truncate": False})
    check("truncate false: 400 context_length_exceeded naming input[1] and the limit",
          is_oai_error(st, o, 400, "context_length_exceeded") and "input[1]" in o["error"]["message"]
          and "512" in o["error"]["message"], raw)

    # ---- errors, in OpenAI's shape ----
    cases = [
        ("token arrays", {"input": [[1, 2, 3]]}, 400, "unsupported_input", "token arrays"),
        ("token array (flat)", {"input": [1, 2, 3]}, 400, "unsupported_input", "token arrays"),
        ("another model", {"input": "x", "model": "text-embedding-3-small"}, 404, "model_not_found", "e5-tiny"),
        ("bad encoding_format", {"input": "x", "encoding_format": "int8"}, 400, "invalid_value", "encoding_format"),
        ("dimensions another size", {"input": "x", "dimensions": 7}, 400, "invalid_value", "dimensions"),
        ("missing input", {"model": "e5-tiny"}, 400, "missing_required_parameter", "input"),
        ("empty input array", {"input": []}, 400, "invalid_value", "empty"),
        ("input a number", {"input": 5}, 400, "invalid_type", "input"),
        ("a non-string item", {"input": ["a", None]}, 400, "invalid_type", "input[1]"),
        ("too many inputs", {"input": ["a"] * 257}, 400, "too_many_inputs", "256"),
        ("not an object", [1, 2], 400, "invalid_request", "JSON object"),
    ]
    for what, req, status, code, word in cases:
        st, o, raw = post(srv, req)
        check("%s: %d %s" % (what, status, code), is_oai_error(st, o, status, code) and word in o["error"]["message"],
              (st, raw[:300]))
    st, o, raw = post(srv, '{"input": ["a",')
    check("invalid JSON: 400 naming the position", is_oai_error(st, o, 400, "invalid_json") and "column" in
          o["error"]["message"], raw)
    st, o, raw = post(srv, {"input": ["a"] * 256})
    check("256 inputs (the limit) are served", st == 200 and len(o["data"]) == 256, raw[:200])
    big = json.dumps({"input": ["x" * 1000] * 4200})   # 4.2 MB: over the 4 MiB body limit
    st, o, raw = post_early_reply(srv, big.encode())
    check("body over 4 MiB: 413 request_too_large", st == 413 and o and o["error"]["code"] == "request_too_large", raw[:300])
    st, _, raw = srv.request("GET", "/v1/embeddings")
    check("GET /v1/embeddings: 405", st == 405, raw)
    st, _, raw = srv.request("GET", "/v1/models")
    m = json.loads(raw) if st == 200 else {}
    check("GET /v1/models lists the model with its dimension", st == 200 and [d["id"] for d in m["data"]] == ["e5-tiny"]
          and m["data"][0]["dimensions"] == 64, raw[:300])
    st, _, raw = srv.request("GET", "/healthz")
    check("the search API still answers beside it", st == 200, raw[:200])

    # ---- ingest through this server: bitwise the vectors `ingest --model` stored ----
    url = "http://127.0.0.1:%d/v1" % srv.port
    r = run(["ingest", "-i", remote, "--embed-url", url, "--embed-model", "e5-tiny", "-q"] + seg + [small])
    check("ingest --embed-url <aularag serve> exits 0", r.returncode == 0, r.stderr[-1500:])
    a, b = blobs(local), blobs(remote)
    check("same segments both ways (%d)" % len(a), len(a) > 20 and [t for t, _ in a] == [t for t, _ in b],
          (len(a), len(b)))
    same = sum(x[1] == y[1] for x, y in zip(a, b))
    check("every stored vector bitwise equal to ingest --model's (%d/%d)" % (same, len(a)), same == len(a) and len(a) > 0)


if __name__ == "__main__":
    checks.run(main)
