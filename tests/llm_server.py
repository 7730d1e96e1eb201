#!/usr/bin/python3
"""llm_server.py - a scripted OpenAI-compatible chat server for tests (stdlib only, 127.0.0.1).

Run it as a program:

    /usr/bin/python3 tests/llm_server.py --script replies.json [--log requests.jsonl] [--port 0]

It binds 127.0.0.1 (port 0 = a free port) and prints one line `PORT <n>` on stdout once it is
listening; it serves until killed (SIGTERM/SIGINT) or until its stdin reaches EOF when
--stdin-eof is given (so a test that dies takes the server with it).

Or import it from a Python test:

    sys.path.insert(0, os.path.join(root, "tests")); from llm_server import LLMServer
    with LLMServer({"replies": [{"content": "Olá [1]"}]}) as srv:
        run(["aularag", "ask", "--llm-url", srv.url, ...])
        srv.requests()          # the request log, parsed

Endpoints: POST /v1/chat/completions (also /chat/completions), GET /v1/models, GET /healthz.
Control: GET /_log (the request log as a JSON array), POST /_script (replace the script with the
body; the log is kept), POST /_reset (clear the log and the use counts).

Script (JSON object):
    {"replies": [REPLY, ...], "default": REPLY}
A request is answered by the first reply in order that still has uses left and whose "match"
(if any) is a substring of the last user message; otherwise by "default" (built in: content
"Resposta de teste [1]."). REPLY fields, all optional:
    match      substring of the last user message this reply is for
    times      how many requests it answers (default 1; 0 = unlimited)
    status     HTTP status (default 200)
    headers    extra response headers, e.g. {"Retry-After": "1"}
    delay_s    sleep this long before sending anything (timeouts)
    content    the assistant text (default "Resposta de teste [1].")
    echo       true: content = the last user message
    stream     true/false forces SSE or not; default: what the request's "stream" asked
    chunks     stream: the content deltas (default: content cut into 4-character pieces)
    chunk_delay_s  stream: sleep between deltas (default 0.005)
    cut_after  stream: close the connection after this many deltas, without [DONE]
    byte_split stream: write the raw SSE bytes this many at a time, flushing each piece (so a
               UTF-8 sequence or an SSE line is split across TCP reads)
    body       send this string verbatim as the body (malformed JSON, HTML error pages)
    usage      the "usage" object (default: counts of whitespace-separated words)
    finish_reason  default "stop"
Embeddings: POST /v1/embeddings (also /embeddings) {"model", "input": str or [str...],
"encoding_format": "float"|"base64"} is answered from the script's "embeddings" list (same
rules; "match" is a substring of any input) or its "embed_default". By default each input gets
embed_vector(text, dim): a hashed bag of its lower-cased words (not normalised, never zero), so
a test can compute the same vectors itself. EMBEDDING REPLY fields, all optional:
    match, times, status, headers, delay_s, body   as above
    dim        vector length (default: the script's "dim", else 16)
    encoding   "float" or "base64" (little-endian float32); default: what the request asked
    reverse    true: data[] in reverse order (each item keeps its "index")
    no_index   true: items without "index"
    drop       leave out the last N vectors
    poison     "nan" | "inf" | "huge" (1e39: finite in JSON, not in float32): data[0][0]
    cheap      true: a vector from the text's length only (benchmarks: the server's own work stays small)
Log (--log file, JSON Lines, and GET /_log): one object per request:
    {"n": 1, "method": "POST", "path": "/v1/chat/completions", "headers": {lower-case name: value},
     "body": parsed JSON (or the raw text when it is not JSON), "reply": index in "replies" or
     "default", "t": unix time}
"""
import base64
import hashlib
import json
import re
import struct
import os
import socket
import time

from scripted_server import ChildServer, ScriptedHandler, ScriptState, main

DEFAULT_CONTENT = "Resposta de teste [1]."


class State(ScriptState):
    def set_script(self, script):
        if isinstance(script, list):
            script = {"replies": script}
        super().set_script(script)
        self.embed_uses = [0] * len(self.script.get("embeddings", []))

    def pick(self, last_user, inputs=None):
        if inputs is not None:
            return self.first_reply(self.script.get("embeddings", []), self.embed_uses,
                                    lambda m: any(m in t for t in inputs)) or \
                ("default", self.script.get("embed_default", {}))
        return self.first_reply(self.script.get("replies", []), self.uses, lambda m: m in (last_user or "")) or \
            ("default", self.script.get("default", {}))


def embed_vector(text, dim=16):
    """The default embedding: word counts hashed into dim buckets, plus a small constant part."""
    v = [0.0] * dim
    v[0] = 0.25
    for w in re.findall(r"\w+", text.lower()):
        h = int.from_bytes(hashlib.sha256(w.encode("utf-8")).digest()[:4], "little")
        v[h % dim] += 1.0 if (h >> 31) & 1 else -1.0
    return v


def last_user_message(body):
    try:
        for m in reversed(body.get("messages", [])):
            if m.get("role") == "user":
                c = m.get("content")
                return c if isinstance(c, str) else json.dumps(c, ensure_ascii=False)
    except AttributeError:
        pass
    return ""


class Handler(ScriptedHandler):
    server_version = "aularag-test-llm/1"

    def scripted_error(self, status):
        return {"error": {"message": "scripted error %d" % status, "type": "test"}}

    def answer_get(self):
        if self.path in ("/healthz", "/health"):
            self._send(200, '{"ok":true}')
        elif self.path.rstrip("/") in ("/v1/models", "/models"):
            self._send(200, json.dumps({"object": "list", "data": [{"id": "test-model", "object": "model"}]}))
        else:
            super().answer_get()

    def answer_post(self, raw):
        st = self.server.state
        text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        if self.path.rstrip("/") in ("/v1/embeddings", "/embeddings"):
            return self._embeddings(body)
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            st.record({"method": "POST", "path": self.path, "headers": self._headers(), "body": body,
                       "reply": None, "t": time.time()})
            return self._send(404, '{"error":{"message":"unknown path %s"}}' % self.path)
        idx, r = st.pick(last_user_message(body) if isinstance(body, dict) else "")
        st.record({"method": "POST", "path": self.path, "headers": self._headers(), "body": body,
                   "reply": idx, "t": time.time()})
        if self.send_scripted(r):
            return
        headers = r.get("headers", {})
        content = r.get("content", DEFAULT_CONTENT)
        if r.get("echo"):
            content = last_user_message(body)
        model = body.get("model", "") if isinstance(body, dict) else ""
        stream = r.get("stream")
        if stream is None:
            stream = bool(isinstance(body, dict) and body.get("stream"))
        usage = r.get("usage") or {"prompt_tokens": len(text.split()), "completion_tokens": len(content.split()),
                                   "total_tokens": len(text.split()) + len(content.split())}
        if not stream:
            out = {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()), "model": model,
                   "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                                "finish_reason": r.get("finish_reason", "stop")}],
                   "usage": usage}
            return self._send(200, json.dumps(out, ensure_ascii=False), headers=headers)
        self._stream(r, content, model, usage, headers)

    def _embeddings(self, body):
        st = self.server.state
        inputs = body.get("input", []) if isinstance(body, dict) else []
        if isinstance(inputs, str):
            inputs = [inputs]
        idx, r = st.pick("", [t for t in inputs if isinstance(t, str)])
        st.record({"method": "POST", "path": self.path, "headers": self._headers(), "body": body,
                   "reply": idx, "t": time.time()})
        if self.send_scripted(r):
            return
        headers = r.get("headers", {})
        dim = int(r.get("dim", st.script.get("dim", 16)))
        if r.get("cheap"):
            vecs = [[1.0 if j in (0, len(str(t)) % dim) else 0.0 for j in range(dim)] for t in inputs]
        else:
            vecs = [embed_vector(str(t), dim) for t in inputs]
        poison = r.get("poison")
        if poison and vecs:
            vecs[0][0] = {"nan": float("nan"), "inf": float("inf"), "huge": 1e39}[poison]
        enc = r.get("encoding") or (body.get("encoding_format") if isinstance(body, dict) else None) or "float"
        data = []
        for i, v in enumerate(vecs):
            e = base64.b64encode(struct.pack("<%df" % len(v), *v)).decode() if enc == "base64" else v
            item = {"object": "embedding", "embedding": e}
            if not r.get("no_index"):
                item["index"] = i
            data.append(item)
        if r.get("drop"):
            data = data[:max(0, len(data) - int(r["drop"]))]
        if r.get("reverse"):
            data.reverse()
        out = {"object": "list", "data": data, "model": body.get("model", "") if isinstance(body, dict) else "",
               "usage": {"prompt_tokens": sum(len(str(t).split()) for t in inputs), "total_tokens": 0}}
        return self._send(200, json.dumps(out), headers=headers)

    def _stream(self, r, content, model, usage, headers):
        chunks = r.get("chunks")
        if chunks is None:
            chunks = [content[i:i + 4] for i in range(0, len(content), 4)]
        events = []
        for c in chunks:
            ev = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": model,
                  "choices": [{"index": 0, "delta": {"content": c}, "finish_reason": None}]}
            events.append("data: " + json.dumps(ev, ensure_ascii=False) + "\n\n")
        cut = r.get("cut_after")
        if cut is not None:
            events = events[:int(cut)]
        else:
            fin = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "model": model,
                   "choices": [{"index": 0, "delta": {}, "finish_reason": r.get("finish_reason", "stop")}],
                   "usage": usage}
            events.append("data: " + json.dumps(fin, ensure_ascii=False) + "\n\n")
            events.append("data: [DONE]\n\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # body ends when the connection closes
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.end_headers()
        self.close_connection = True
        delay = float(r.get("chunk_delay_s", 0.005))
        split = r.get("byte_split")
        if split:  # no Nagle: each small write should leave as its own segment
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for ev in events:
                data = ev.encode("utf-8")
                step = int(split) if split else len(data)
                for i in range(0, len(data), step):
                    self.wfile.write(data[i:i + step])
                    self.wfile.flush()
                    if split:
                        time.sleep(0.0005)
                if delay:
                    time.sleep(delay)
        except (BrokenPipeError, ConnectionResetError):
            pass


class LLMServer(ChildServer):
    """Starts this file as a subprocess and stops it on exit (scripted_server.ChildServer). script: a
    dict/list, or a path to a JSON file."""
    program = os.path.abspath(__file__)
    prefix = "aularag-llm-"


if __name__ == "__main__":
    main("scripted OpenAI-compatible chat server for tests", Handler, State)
