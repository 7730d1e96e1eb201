#!/usr/bin/python3
"""test_server.py - `aularag serve` over HTTP: the API's JSON (the same as the CLI's), the SSE stream,
errors and limits, slow clients, connection limits, path traversal, concurrency, SIGTERM.

Builds a small index from transcripts written here (or uses AULARAG_TEST_INDEX), starts the server
on a free port and talks to it with the standard library only. Prints `test_server: N passed, N failed`.
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.environ.get("AULARAG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AR = os.environ.get("AULARAG_BIN") or os.path.join(ROOT, "build", "asan", "aularag")
PY = "/usr/bin/python3"
sys.path.insert(0, os.path.join(ROOT, "tests"))
from llm_server import LLMServer  # noqa: E402

import checks  # noqa: E402
from checks import check  # noqa: E402


# ---- a tiny course: three lectures with distinct vocabulary and three kinds of URL ----
LECTURES = {
    "redes": ("Redes neurais", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", [
        "Hoje vamos estudar redes neurais artificiais e o perceptron.",
        "O algoritmo de retropropagação calcula o gradiente pela regra da cadeia.",
        "Cada camada aplica uma função de ativação como a sigmoide ou a ReLU.",
        "A taxa de aprendizado controla o tamanho do passo do gradiente.",
    ]),
    "otimizacao": ("Otimização convexa", "https://media.example.org/aulas/otimizacao.mp4", [
        "Uma função convexa tem um único mínimo global.",
        "O método de Newton usa a matriz hessiana para convergir mais rápido.",
        "Multiplicadores de Lagrange tratam restrições de igualdade.",
        "A dualidade forte vale quando a condição de Slater é satisfeita.",
    ]),
    "grafos": ("Algoritmos em grafos", "", [
        "O algoritmo de Dijkstra encontra caminhos mínimos com pesos positivos.",
        "A busca em largura visita os vértices por camadas a partir da origem.",
        "Uma árvore geradora mínima liga todos os vértices com custo mínimo.",
        "O algoritmo de Kruskal ordena as arestas pelo peso.",
    ]),
}


def srt_time(s):
    return "%02d:%02d:%02d,000" % (s // 3600, s % 3600 // 60, s % 60)


def build_index(tmp):
    src = os.path.join(tmp, "course")
    os.makedirs(src)
    rows = ["file,video_id,title,url"]
    for vid, (title, url, lines) in LECTURES.items():
        with open(os.path.join(src, vid + ".srt"), "w", encoding="utf-8") as f:
            for i, line in enumerate(lines):
                f.write("%d\n%s --> %s\n%s\n\n" % (i + 1, srt_time(i * 50), srt_time(i * 50 + 45), line))
        rows.append("%s.srt,%s,%s,%s" % (vid, vid, title, url))
    with open(os.path.join(src, "manifest.csv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    idx = os.path.join(tmp, "course.db")
    r = subprocess.run([AR, "ingest", "-i", idx, "--manifest", os.path.join(src, "manifest.csv"),
                        "--window", "60", "--overlap", "15", src], capture_output=True, text=True)
    if r.returncode != 0:
        checks.abort("ingest failed (exit %d): %s" % (r.returncode, r.stderr[-800:]))
    return idx


def q(s):
    return urllib.parse.quote(s)


def sse_events(raw):
    """Parses an SSE body into [(event, data)] (comments skipped)."""
    out = []
    for block in raw.decode("utf-8").split("\n\n"):
        ev, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            k, _, v = line.partition(":")
            v = v[1:] if v.startswith(" ") else v
            if k == "event":
                ev = v
            elif k == "data":
                data.append(v)
        if data:
            out.append((ev, "\n".join(data)))
    return out


def cli_json(*args):
    r = subprocess.run([AR, *args], capture_output=True, text=True)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        return r.returncode, {"_stderr": r.stderr[-300:]}


def raw_request(port, data, timeout=5):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
    except socket.timeout:
        pass
    s.close()
    return b"".join(chunks)


def test_basics(srv, idx):
    st, h, body = srv.json("GET", "/healthz")
    check("healthz 200 with counts", st == 200 and body.get("status") == "ok" and body.get("videos") == 3
          and body.get("segments", 0) >= 3 and body.get("answers") == "extractive", body)

    st, h, data = srv.request("GET", "/")
    check("GET / serves the page", st == 200 and h.get("content-type", "").startswith("text/html")
          and "Pergunte às aulas".encode() in data and b"/app.js" in data, (st, h))
    check("the page forbids other origins (CSP default-src 'self')", "default-src 'self'" in
          h.get("content-security-policy", ""), h)
    for name, ctype, needle in (("/app.js", "text/javascript", b"EventSource"),
                                ("/style.css", "text/css", b"focus-visible"),
                                ("/index.html", "text/html", b"aria-live")):
        st, h, data = srv.request("GET", name)
        check("GET %s is %s" % (name, ctype), st == 200 and h.get("content-type", "").startswith(ctype)
              and needle in data, (st, h.get("content-type")))
    st, h, data = srv.request("HEAD", "/")
    check("HEAD / answers without a body", st == 200 and data == b"", (st, data[:50]))

    st, h, body = srv.json("GET", "/api/videos")
    ids = sorted(v.get("video_id") for v in body.get("videos", []))
    check("videos lists the three lectures", st == 200 and ids == ["grafos", "otimizacao", "redes"], body)
    urls = {v["video_id"]: v.get("url") for v in body.get("videos", [])}
    check("videos carry their URLs", urls.get("redes", "").startswith("https://www.youtube.com/")
          and urls.get("grafos") == "", urls)


def test_search_and_ask(srv, idx):
    question = "Como o algoritmo de Dijkstra encontra caminhos mínimos?"
    st, h, body = srv.json("GET", "/api/search?q=%s&k=3&mode=lexical" % q(question))
    rc, cli = cli_json("search", "-i", idx, "-k", "3", "--mode", "lexical", "--json", question)
    check("search 200 application/json", st == 200 and h.get("content-type") == "application/json", (st, h))
    check("search JSON equals `search --json`", rc == 0 and body == cli, (body, cli))
    segs = body.get("segments", [])
    need = "rank corpus_id score video_id title url start end start_hms end_hms text link".split()
    check("segments carry the product fields", segs and all(all(k in s for k in need) for s in segs), segs[:1])
    check("top hit is the Dijkstra lecture", segs and segs[0].get("video_id") == "grafos", segs[:1])
    check("k limits the hits", 0 < len(segs) <= 3, len(segs))
    st, h, body = srv.json("GET", "/api/search?q=" + q("função convexa mínimo global"))
    check("search with default k/mode", st == 200 and body.get("segments") and
          body["segments"][0]["video_id"] == "otimizacao", body)
    st, h, body = srv.json("GET", "/api/search?q=retropropaga%C3%A7%C3%A3o+gradiente")
    check("'+' and percent-escapes decode (UTF-8 query)", st == 200 and body.get("query") ==
          "retropropagação gradiente" and body.get("segments") and body["segments"][0]["video_id"] == "redes", body)

    question = "O que o método de Newton usa para convergir?"
    st, h, data = srv.request("POST", "/api/ask", json.dumps({"question": question, "k": 4}).encode(),
                              {"Content-Type": "application/json"})
    ask = json.loads(data) if st == 200 else {}
    rc, cli = cli_json("ask", "-i", idx, "-k", "4", "--json", question)
    check("POST /api/ask 200", st == 200, (st, data[:300]))
    check("ask has answer, answer_kind, references", isinstance(ask.get("answer"), str) and ask.get("answer")
          and ask.get("answer_kind") == "extractive" and isinstance(ask.get("references"), list), ask)
    check("ask JSON equals `ask --json`", rc == 0 and ask == cli, (ask, cli))
    refs = ask.get("references", [])
    need = "video_id title url start end start_hms end_hms link".split()
    check("references carry the product fields", refs and all(all(k in r for k in need) for r in refs), refs)

    # SSE: segments, then the answer (one token for an extractive answer), references, done
    st, h, raw = srv.request("GET", "/api/ask/stream?k=4&q=" + q(question))
    ev = sse_events(raw)
    names = [e for e, _ in ev]
    check("stream is text/event-stream", st == 200 and h.get("content-type", "").startswith("text/event-stream"),
          (st, h))
    check("stream order: segments, token+, references, done", names and names[0] == "segments" and
          names[-1] == "done" and names[-2] == "references" and set(names[1:-2]) == {"token"}, names)
    segs = json.loads(ev[0][1]).get("segments") if ev else None
    check("streamed segments equal the ask's", segs == ask.get("segments"), segs)
    text = "".join(json.loads(d)["text"] for e, d in ev if e == "token")
    check("streamed answer equals the POST answer", text == ask.get("answer"), (text, ask.get("answer")))
    refs_ev = json.loads(ev[-2][1]) if len(ev) >= 2 else {}
    check("references event carries the references", refs_ev.get("references") == ask.get("references")
          and refs_ev.get("answer_kind") == "extractive", refs_ev)


def test_errors(srv):
    def err(path, want, what, method="GET", body=None, headers=None):
        st, h, data = srv.request(method, path, body, headers)
        try:
            j = json.loads(data)
        except ValueError:
            j = {}
        ok = st == want and isinstance(j.get("error"), str) and j["error"] and \
            h.get("content-type") == "application/json"
        check("%s -> %d JSON error" % (what, want), ok, (st, data[:200]))
        return j.get("error", "")

    err("/api/search", 400, "search without q")
    err("/api/search?q=%20%20", 400, "blank question")
    err("/api/search?q=x&k=0", 400, "k=0")
    err("/api/search?q=x&k=abc", 400, "k=abc")
    err("/api/search?q=x&k=51", 400, "k above the limit")
    err("/api/search?q=x&mode=fuzzy", 400, "unknown mode")
    m = err("/api/search?q=x&mode=dense", 400, "dense without a model")
    check("dense error says what is missing", "--model" in m, m)
    err("/api/search?q=" + "a" * 2001, 400, "question longer than 2000 bytes")
    err("/api/search?q=%FF%FEabc", 400, "question not UTF-8")
    err("/api/ask/stream?q=x&k=-1", 400, "stream with bad k")
    err("/api/ask", 400, "ask body not JSON", "POST", b"{question: nope", {"Content-Type": "application/json"})
    err("/api/ask", 400, "ask body not an object", "POST", b"[1,2]")
    err("/api/ask", 400, "ask question not a string", "POST", b'{"question": 5}')
    err("/api/ask", 400, "ask k not an integer", "POST", b'{"question": "x", "k": "many"}')
    err("/api/ask", 400, "ask without question", "POST", b'{"k": 3}')
    err("/api/ask", 400, "ask question too long", "POST", json.dumps({"question": "é" * 1001}).encode())
    err("/api/ask", 413, "ask body over 64 KiB", "POST", json.dumps({"question": "x" * 70000}).encode())
    e = err("/api/ask", 405, "GET on POST-only ask")
    st, h, _ = srv.request("GET", "/api/ask")
    check("405 names the allowed method", h.get("allow") == "POST", h)
    err("/api/search?q=x", 405, "POST on search", "POST", b"")
    err("/api/ask/stream?q=x", 405, "POST on the stream", "POST", b"")
    st, h, _ = srv.request("HEAD", "/api/ask/stream?q=x")
    check("HEAD on the stream is refused (it would start an answer)", st == 405 and h.get("allow") == "GET", (st, h))
    err("/api/nothing", 404, "unknown API path")
    err("/nothing.html", 404, "unknown file")

    # requests too big for the connection's 64 KiB memory are refused by libmicrohttpd itself
    resp = raw_request(srv.port, b"GET /api/search?q=" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    check("70 KB URL -> 414", resp.startswith(b"HTTP/1.1 414"), resp[:80])
    resp = raw_request(srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n")
    check("70 KB header -> 431", resp.startswith(b"HTTP/1.1 431"), resp[:80])

    # a chunked body (no Content-Length) over the limit is cut off too
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    c.putrequest("POST", "/api/ask")
    c.putheader("Transfer-Encoding", "chunked")
    c.putheader("Content-Type", "application/json")
    c.endheaders()
    piece = b"x" * 8192
    try:
        c.send(b'e\r\n{"question": "\r\n')
        for _ in range(10):
            c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        st = r.status
        r.read()
    except (ConnectionError, http.client.HTTPException) as ex:
        st = str(ex)
    c.close()
    check("chunked body over the limit -> 413", st == 413, st)


def test_traversal(srv):
    for path in (b"/../../../../etc/passwd", b"/%2e%2e/%2e%2e/etc/passwd", b"/..%2f..%2fetc%2fpasswd",
                 b"//etc/passwd", b"/src/server/web/app.js", b"/app.js/../../Makefile", b"/./index.html",
                 b"/..", b"/%2e%2e"):
        resp = raw_request(srv.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status = resp.split(b"\r\n", 1)[0]
        check("no file outside the page: %s" % path.decode(), (b" 404 " in status or b" 400 " in status)
              and b"root:" not in resp and b"CFLAGS" not in resp, status)


def test_concurrency(srv):
    questions = ["Dijkstra caminhos mínimos", "matriz hessiana Newton", "função de ativação sigmoide",
                 "árvore geradora mínima Kruskal", "multiplicadores de Lagrange restrições"]
    expected = {}
    for qq in questions:
        st, h, body = srv.json("GET", "/api/search?k=5&q=" + q(qq))
        expected[qq] = body
    results, errors = [], []
    lock = threading.Lock()

    def worker(n):
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        for i in range(12):
            qq = questions[(n + i) % len(questions)]
            try:
                if i % 3 == 2:
                    c.request("POST", "/api/ask", json.dumps({"question": qq, "k": 5}))
                else:
                    c.request("GET", "/api/search?k=5&q=" + q(qq))
                r = c.getresponse()
                body = json.loads(r.read())
                ok = r.status == 200 and body.get("segments") == expected[qq]["segments"]
                with lock:
                    results.append(ok)
            except Exception as ex:  # noqa: BLE001 - any failure counts
                with lock:
                    errors.append(repr(ex))
        c.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    check("32 clients x 12 keep-alive requests: all 200 with the right hits",
          len(results) == 384 and all(results) and not errors,
          "%d ok of %d, errors %s" % (sum(results), len(results), errors[:3]))
    print("   (%.2f s for 384 requests)" % (time.time() - t0))


def test_slow_clients(idx):
    srv = checks.Server(AR, idx, "--idle-timeout", "3", "--max-per-ip", "4")
    try:
        # a client that sends half a request line and stalls is cut off after the idle timeout
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        s.sendall(b"GET /healthz HT")
        t0 = time.time()
        try:
            got = s.recv(100)
        except (socket.timeout, ConnectionError):
            got = b"timeout"
        waited = time.time() - t0
        s.close()
        check("stalled client is disconnected after the idle timeout", got != b"timeout" and 2.0 < waited < 9,
              (got, waited))

        # per-address limit: 4 idle connections are allowed, a 5th is turned away, others recover.
        # (MHD releases a closed connection's slot lazily, on the listener's next wake-up: give the
        # stalled one above time to go, and wake the listener with a request.)
        time.sleep(0.5)
        srv.request("GET", "/healthz")
        time.sleep(0.5)
        idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=5) for _ in range(4)]
        for s in idle:
            s.sendall(b"GET /heal")
        time.sleep(1.0)  # let the server accept all four
        extra = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        try:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            got = extra.recv(100)
        except (ConnectionError, socket.timeout):
            got = b""
        extra.close()
        check("connection over the per-address limit is refused", not got.startswith(b"HTTP/1.1 200"),
              (got, srv.lines[-6:]))
        for s in idle:
            s.close()
        time.sleep(0.3)
        st, _, _ = srv.request("GET", "/healthz")
        check("server serves again once the idle clients are gone", st == 200, st)
    finally:
        rc = srv.stop()
    check("server with limits exits 0 on SIGTERM", rc == 0, (rc, srv.lines[-5:]))


def test_sigterm_drains(idx):
    tokens = ["A ", "hessiana ", "dá ", "a ", "curvatura ", "[1]."]
    script = {"replies": [{"times": 0, "chunks": tokens, "chunk_delay_s": 0.4}]}
    with LLMServer(script) as llm:
        env = dict(os.environ, AULARAG_LLM_MODEL="test")
        srv = checks.Server(AR, idx, "--llm-url", llm.url, "--no-cache", env=env)
        got = {}

        def stream():
            try:
                st, h, raw = srv.request("GET", "/api/ask/stream?q=" + q("método de Newton hessiana"), timeout=30)
                got["ev"] = sse_events(raw)
            except Exception as ex:  # noqa: BLE001
                got["err"] = repr(ex)

        t = threading.Thread(target=stream)
        t.start()
        time.sleep(1.0)  # the answer is half-way through its tokens
        srv.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        try:
            socket.create_connection(("127.0.0.1", srv.port), timeout=2).close()
            refused = False
        except OSError:
            refused = True
        t.join(30)
        rc = srv.stop()
        ev = got.get("ev", [])
        names = [e for e, _ in ev]
        text = "".join(json.loads(d)["text"] for e, d in ev if e == "token")
        check("LLM answer streams token by token", names.count("token") == len(tokens) and text == "".join(tokens),
              (names, text, got.get("err")))
        check("in-flight stream finishes after SIGTERM (references, done)", names[-2:] == ["references", "done"],
              names)
        refs = json.loads(ev[-2][1]) if len(ev) >= 2 else {}
        check("streamed LLM answer is marked llm", refs.get("answer_kind") == "llm", refs)
        check("no new connections after SIGTERM", refused)
        check("exit 0 after draining", rc == 0, (rc, srv.lines[-5:]))


def make_model(tmp, seed):
    """A random-weight tiny BERT with a SentencePiece model trained on the course (tests/tools)."""
    tok = os.path.join(tmp, "tok")
    if not os.path.isdir(tok):
        text = os.path.join(tmp, "text.txt")
        with open(text, "w", encoding="utf-8") as f:
            for _, (_, _, lines) in LECTURES.items():
                f.write("\n".join(lines) + "\n")
        subprocess.run([PY, os.path.join(ROOT, "tests/tools/make_tokenizer.py"), "--text", text, "--vocab", "120",
                        "--out", tok], check=True, capture_output=True)
    out = os.path.join(tmp, "model%d" % seed)
    subprocess.run([PY, os.path.join(ROOT, "tests/tools/make_model.py"), "--preset", "tiny-bert", "--vocab", "122",
                    "--seed", str(seed), "--out", out, "--tokenizer", tok], check=True, capture_output=True)
    return out


def test_dense(idx, tmp):
    model, other = make_model(tmp, 1), make_model(tmp, 2)
    didx = os.path.join(tmp, "dense.db")
    r = subprocess.run([AR, "ingest", "-i", didx, "--model", model, "--manifest",
                        os.path.join(tmp, "course", "manifest.csv"), "--window", "60", "--overlap", "15",
                        os.path.join(tmp, "course")], capture_output=True, text=True)
    check("ingest with a model", r.returncode == 0, r.stderr[-500:])
    srv = checks.Server(AR, didx, "--model", model)
    try:
        st, h, body = srv.json("GET", "/healthz")
        check("healthz lists dense and hybrid with a model", st == 200 and body.get("modes") ==
              ["lexical", "dense", "hybrid", "auto"] and str(body.get("model", "")).startswith("e5:"), body)
        question = "matriz hessiana e método de Newton"
        for mode, cli_mode in (("dense", ["--mode", "dense"]), ("hybrid", ["--mode", "hybrid"]), ("auto", [])):
            st, h, got = srv.json("GET", "/api/search?k=4&mode=%s&q=%s" % (mode, q(question)))
            rc, want = cli_json("search", "-i", didx, "--model", model, "-k", "4", "--json", *cli_mode, question)
            check("mode=%s search equals the CLI's" % mode, st == 200 and rc == 0 and got == want, (st, got, want))
        check("auto means hybrid with a model and vectors", got.get("mode") == "hybrid", got.get("mode"))
        st, h, data = srv.request("POST", "/api/ask", json.dumps({"question": question, "mode": "dense", "k": 3}))
        ask = json.loads(data) if st == 200 else {}
        rc, cli = cli_json("ask", "-i", didx, "--model", model, "--mode", "dense", "-k", "3", "--json", question)
        check("dense ask equals the CLI's", st == 200 and rc == 0 and ask == cli and ask.get("mode") == "dense",
              (st, data[:300], cli))
        # the encoder is shared under a lock: concurrent dense searches still give the single-client hits
        want = {}
        qs = ["função convexa", "busca em largura", "taxa de aprendizado", "árvore geradora", "dualidade forte"]
        for qq in qs:
            want[qq] = srv.json("GET", "/api/search?k=5&mode=dense&q=" + q(qq))[2]
        bad = []

        def worker(n):
            for i in range(6):
                qq = qs[(n + i) % len(qs)]
                got = srv.json("GET", "/api/search?k=5&mode=dense&q=" + q(qq))[2]
                if got != want[qq]:
                    bad.append(qq)
        ts = [threading.Thread(target=worker, args=(n,)) for n in range(12)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        check("12 clients x 6 dense searches agree with one client", not bad, bad[:3])
    finally:
        rc = srv.stop()
    check("dense server exits 0", rc == 0, (rc, srv.lines[-5:]))

    srv = checks.Server(AR, idx, "--model", model)   # a lexical-only index: the model cannot help
    try:
        st, h, body = srv.json("GET", "/api/search?q=x&mode=hybrid")
        check("hybrid on an index without vectors -> 400 that says so", st == 400 and "vectors" in body.get("error", ""),
              body)
        st, h, body = srv.json("GET", "/api/search?q=" + q("Dijkstra caminhos"))
        check("auto on an index without vectors is lexical", st == 200 and body.get("mode") == "lexical", body)
    finally:
        srv.stop()
    r = subprocess.run([AR, "serve", "-i", didx, "--model", other, "--port", "0"], capture_output=True, text=True,
                       timeout=60)
    check("an index made with another model -> exit 1 naming both", r.returncode == 1 and "model" in r.stderr,
          (r.returncode, r.stderr[-300:]))


def test_cache_follows_index(tmp):
    """Search responses are cached; re-ingesting while serving must show up at once."""
    idx = os.path.join(tmp, "live.db")
    subprocess.run([AR, "ingest", "-i", idx, "--quiet", os.path.join(tmp, "course")], check=True, capture_output=True)
    srv = checks.Server(AR, idx)
    try:
        path = "/api/search?k=3&q=" + q("zebra listrada savana")
        first = srv.json("GET", path)[2]
        check("a word no lecture has finds nothing", first.get("segments") == [], first)
        check("the same search again is identical (cached)", srv.json("GET", path)[2] == first)
        new = os.path.join(tmp, "zoologia")
        os.makedirs(new)
        with open(os.path.join(new, "zoologia.srt"), "w", encoding="utf-8") as f:
            f.write("1\n00:00:01,000 --> 00:00:06,000\nA zebra listrada vive na savana africana.\n\n")
        r = subprocess.run([AR, "ingest", "-i", idx, "--quiet", new], capture_output=True, text=True)
        check("ingest while the server runs", r.returncode == 0, r.stderr[-300:])
        time.sleep(0.2)   # lookups re-check the index files every 50 ms
        after = srv.json("GET", path)[2]
        check("the new lecture is found right after the ingest (cache dropped)",
              after.get("segments") and after["segments"][0]["video_id"] == "zoologia", after)
        vids = [v["video_id"] for v in srv.json("GET", "/api/videos")[2].get("videos", [])]
        check("videos lists the new lecture", "zoologia" in vids, vids)
    finally:
        srv.stop()
    # the cache can be turned off
    srv = checks.Server(AR, idx, "--search-cache", "0")
    try:
        st, _, body = srv.json("GET", "/api/search?k=3&q=" + q("zebra listrada savana"))
        check("--search-cache 0 still answers", st == 200 and body.get("segments"), body)
    finally:
        srv.stop()


def test_llm_failures(idx):
    script = {"replies": [{"match": "falha total", "times": 0, "status": 500, "body": "{\"error\": \"boom\"}"},
                          {"match": "resposta lenta", "times": 0, "chunks": ["um ", "dois ", "tres ", "quatro"],
                           "chunk_delay_s": 0.5}]}
    with LLMServer(script) as llm:
        srv = checks.Server(AR, idx, "--llm-url", llm.url, "--llm-model", "test", "--retries", "0", "--no-cache")
        try:
            st, h, data = srv.request("POST", "/api/ask", json.dumps({"question": "falha total no Dijkstra"}))
            err = json.loads(data).get("error", "") if data.startswith(b"{") else ""
            check("LLM answering 500 -> 502 JSON error", st == 502 and err, (st, data[:200]))
            check("the error never leaks a key or the prompt", "Dijkstra" not in err, err)
            st, h, raw = srv.request("GET", "/api/ask/stream?q=" + q("falha total no Dijkstra"))
            ev = sse_events(raw)
            names = [e for e, _ in ev]
            check("stream: segments, then an error event, then done", names == ["segments", "error", "done"], names)
            if "error" in names:
                e = json.loads(ev[names.index("error")][1])
                check("the error event carries the HTTP-like status", e.get("status") == 502 and e.get("error"), e)

            # a client that leaves mid-answer: the server carries on and serves others
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            s.sendall(("GET /api/ask/stream?q=%s HTTP/1.1\r\nHost: x\r\n\r\n" % q("resposta lenta Kruskal")).encode())
            buf = b""
            while b"event: token" not in buf:
                b = s.recv(4096)
                if not b:
                    break
                buf += b
            s.close()
            check("the stream had started before the client left", b"event: token" in buf, buf[-200:])
            st, _, _ = srv.request("GET", "/healthz")
            check("server still serves after a client left mid-stream", st == 200, st)
        finally:
            rc = srv.stop()
        check("SIGTERM with an abandoned stream in flight -> exit 0", rc == 0, (rc, srv.lines[-5:]))


def test_slow_llm_keeps_stream(idx):
    """An LLM silent for longer than the idle timeout: keep-alive comments hold the stream open."""
    with LLMServer({"replies": [{"times": 0, "delay_s": 4, "content": "Demorou, mas veio [1]."}]}) as llm:
        srv = checks.Server(AR, idx, "--llm-url", llm.url, "--llm-model", "test", "--no-cache", "--idle-timeout", "2")
        try:
            st, h, raw = srv.request("GET", "/api/ask/stream?q=" + q("Dijkstra caminhos"), timeout=30)
            names = [e for e, _ in sse_events(raw)]
            check("a stream outlives the idle timeout while the LLM is silent", names[-2:] == ["references", "done"]
                  and b": keep-alive" in raw, (names, raw[-200:]))
        finally:
            srv.stop()


def test_cli(idx, tmp):
    r = subprocess.run([AR, "serve"], capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "")})
    check("serve without an index -> exit 2", r.returncode == 2 and "-i INDEX" in r.stderr, r.stderr[-200:])
    r = subprocess.run([AR, "serve", "-i", idx, "--port", "70000"], capture_output=True, text=True)
    check("port out of range -> exit 2", r.returncode == 2, r.stderr[-200:])
    r = subprocess.run([AR, "serve", "--help"], capture_output=True, text=True)
    check("serve --help -> exit 0", r.returncode == 0 and "/api/ask/stream" in r.stdout)
    missing = os.path.join(tmp, "missing.db")
    r = subprocess.run([AR, "serve", "-i", missing, "--port", "0"], capture_output=True, text=True, timeout=30)
    check("missing index -> exit 1, names the file, creates nothing", r.returncode == 1 and "missing.db" in r.stderr
          and not os.path.exists(missing), (r.returncode, r.stderr[-200:]))
    for i in range(3):   # SIGTERM the moment the listening line is out: still a clean stop
        rc = checks.Server(AR, idx).stop()
        if rc != 0:
            break
    check("SIGTERM right after start -> exit 0", rc == 0, rc)
    srv = checks.Server(AR, idx)
    try:
        r = subprocess.run([AR, "serve", "-i", idx, "--port", str(srv.port)], capture_output=True, text=True,
                           timeout=30)
        check("port in use -> exit 1 with a message", r.returncode == 1 and "cannot listen" in r.stderr,
              (r.returncode, r.stderr[-200:]))
    finally:
        srv.stop()


def main():
    with tempfile.TemporaryDirectory(prefix="aularag-srv-") as tmp:
        idx = os.environ.get("AULARAG_TEST_INDEX") or build_index(tmp)
        srv = checks.Server(AR, idx)
        try:
            test_basics(srv, idx)
            test_search_and_ask(srv, idx)
            test_errors(srv)
            test_traversal(srv)
            test_concurrency(srv)
        finally:
            rc = srv.stop()
        check("SIGTERM -> exit 0", rc == 0, (rc, srv.lines[-5:]))
        check("log has the start and stop lines", any("listening on" in l for l in srv.lines) and
              any("stopped after" in l for l in srv.lines), srv.lines[-5:])
        test_slow_clients(idx)
        test_sigterm_drains(idx)
        test_llm_failures(idx)
        test_slow_llm_keeps_stream(idx)
        if not os.environ.get("AULARAG_TEST_INDEX"):
            test_dense(idx, tmp)
            test_cache_follows_index(tmp)
        test_cli(idx, tmp)


if __name__ == "__main__":
    checks.run(main)
