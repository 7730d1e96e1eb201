#!/usr/bin/python3
"""asr_server.py - a scripted OpenAI-compatible speech-to-text server for tests (stdlib + numpy, 127.0.0.1).

Run it as a program (prints `PORT <n>` once listening; serves until killed, or until stdin reaches
EOF with --stdin-eof):

    /usr/bin/python3 tests/asr_server.py [--script replies.json] [--log requests.jsonl] [--port 0]

or import it:  with ASRServer({"max_upload": 200000}) as srv: ... srv.requests()

Endpoint: POST /v1/audio/transcriptions (also /audio/transcriptions, /inference), multipart/form-data
with a "file" part (a 16-bit PCM WAV) and text fields (model, language, response_format, ...).
Control: GET /_log, POST /_script (replace the script; the log is kept), POST /_reset.

The default reply is verbose_json whose segments are the WAV's speech as an energy detector finds it
(speech_spans(): 20 ms frames louder than -35 dBFS, gaps under 0.25 s bridged), times relative to the
uploaded file, text "fala N" (N = the segment's place in this reply). A test runs the same detector on
the whole recording and so knows where every segment must land once the client shifts it.

Script (JSON object), all optional:
    {"replies": [REPLY, ...], "max_upload": BYTES}
    max_upload   a file part larger than this gets 413 (before any scripted reply is used)
A request uses the first REPLY in order that still has uses left and whose "match" (if any) is a
substring of the uploaded file name; otherwise the default. REPLY fields:
    match, times (default 1; 0 = unlimited), status (default 200), headers, delay_s,
    body          send this string verbatim (malformed JSON)
    no_segments   true: {"text": ...} only, as a server that ignores verbose_json
Log (one JSON object per request): {"n", "path", "filename", "fields": {name: value}, "bytes" (the
file part), "duration" (seconds of audio in it), "reply" (index or "default"), "status", "t"}.
"""
import argparse
import io
import json
import os
import subprocess
import sys
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RATE_DEFAULT = 16000


def speech_spans(samples, rate, frame_s=0.02, db=-35.0, bridge_s=0.25, min_s=0.1):
    """[(start, end)] seconds of the frames louder than db dBFS, gaps under bridge_s joined."""
    import numpy as np
    n = max(1, int(rate * frame_s))
    thr = (10 ** (db / 20) * 32768) ** 2
    x = np.asarray(samples, dtype=np.float64)
    k = len(x) // n
    power = (x[:k * n].reshape(k, n) ** 2).mean(axis=1)
    spans = []
    for f in np.nonzero(power > thr)[0]:
        a, b = int(f) * n / rate, (int(f) + 1) * n / rate
        if spans and a - spans[-1][1] < bridge_s:
            spans[-1][1] = b
        else:
            spans.append([a, b])
    return [(a, b) for a, b in spans if b - a >= min_s]


def wav_samples(data):
    with wave.open(io.BytesIO(data)) as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            raise ValueError("expected 16-bit mono WAV")
        import numpy as np
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"), w.getframerate()


def parse_multipart(ctype, body):
    """{name: (filename or None, bytes)} of a multipart/form-data body."""
    b = None
    for p in ctype.split(";"):
        p = p.strip()
        if p.startswith("boundary="):
            b = p[9:].strip('"')
    if not b:
        raise ValueError("no boundary")
    out = {}
    for part in body.split(b"--" + b.encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        if data.endswith(b"\r\n"):
            data = data[:-2]
        name = fname = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition:"):
                for item in line.split(";")[1:]:
                    k, _, v = item.strip().partition("=")
                    if k == "name":
                        name = v.strip('"')
                    elif k == "filename":
                        fname = v.strip('"')
        if name is not None:
            out[name] = (fname, data)
    return out


class State:
    def __init__(self, script, log_path):
        self.lock = threading.Lock()
        self.log_path = log_path
        self.log = []
        self.set_script(script)

    def set_script(self, script):
        self.script = script or {}
        self.uses = [0] * len(self.script.get("replies", []))

    def pick(self, fname):
        with self.lock:
            for i, r in enumerate(self.script.get("replies", [])):
                times = r.get("times", 1)
                if times and self.uses[i] >= times:
                    continue
                if r.get("match") is not None and r["match"] not in (fname or ""):
                    continue
                self.uses[i] += 1
                return i, r
            return "default", {}

    def record(self, entry):
        with self.lock:
            entry["n"] = len(self.log) + 1
            self.log.append(entry)
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry, ensure_ascii=False) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "aularag-test-asr/1"

    def log_message(self, fmt, *args):
        pass

    def _send(self, status, body, headers=None):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def do_GET(self):
        st = self.server.state
        if self.path == "/_log":
            with st.lock:
                return self._send(200, json.dumps(st.log))
        self._send(404, '{"error":{"message":"not found"}}')

    def do_POST(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        if self.path == "/_script":
            st.set_script(json.loads(raw or b"{}"))
            return self._send(200, '{"ok":true}')
        if self.path == "/_reset":
            with st.lock:
                st.log, st.uses = [], [0] * len(st.uses)
            return self._send(200, '{"ok":true}')
        if self.path.rstrip("/") not in ("/v1/audio/transcriptions", "/audio/transcriptions", "/inference"):
            return self._send(404, '{"error":{"message":"unknown path"}}')
        entry = {"path": self.path, "t": time.time()}
        try:
            form = parse_multipart(self.headers.get("Content-Type", ""), raw)
            fname, data = form["file"]
            entry.update(filename=fname, bytes=len(data),
                         fields={k: v[1].decode("utf-8", "replace") for k, v in form.items() if k != "file"})
        except (ValueError, KeyError) as e:
            entry.update(status=400, reply=None)
            st.record(entry)
            return self._send(400, json.dumps({"error": {"message": "bad multipart: %s" % e}}))
        limit = st.script.get("max_upload")
        if limit and len(data) > limit:
            entry.update(status=413, reply="max_upload")
            st.record(entry)
            return self._send(413, json.dumps({"error": {"message": "file too large (%d > %d)" % (len(data), limit)}}))
        idx, r = st.pick(fname)
        status = int(r.get("status", 200))
        entry.update(reply=idx, status=status)
        try:
            samples, rate = wav_samples(data)
            entry["duration"] = len(samples) / rate
        except (ValueError, EOFError, wave.Error) as e:
            samples, rate = None, RATE_DEFAULT
            entry["wav_error"] = str(e)
        st.record(entry)
        if r.get("delay_s"):
            time.sleep(float(r["delay_s"]))
        if "body" in r:
            return self._send(status, r["body"], r.get("headers"))
        if status != 200:
            return self._send(status, json.dumps({"error": {"message": "scripted %d" % status}}), r.get("headers"))
        if samples is None:
            return self._send(400, json.dumps({"error": {"message": "not a 16-bit mono WAV"}}))
        spans = speech_spans(samples, rate)
        segs = [{"id": i, "seek": 0, "start": round(a, 3), "end": round(b, 3), "text": " fala %d" % (i + 1)}
                for i, (a, b) in enumerate(spans)]
        text = "".join(s["text"] for s in segs)
        if r.get("no_segments"):
            return self._send(200, json.dumps({"text": text}), r.get("headers"))
        lang = entry["fields"].get("language") or "portuguese"
        self._send(200, json.dumps({"task": "transcribe", "language": lang, "duration": len(samples) / rate,
                                    "text": text, "segments": segs}), r.get("headers"))


def serve(script, log_path, port=0):
    srv = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    srv.daemon_threads = True
    srv.state = State(script, log_path)
    return srv


class ASRServer:
    """The server in a child process (killed with the test): .url, .requests(), .set_script()."""

    def __init__(self, script=None):
        self.script = script or {}
        self.proc = None

    def __enter__(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="aularag-asr-srv-")
        path = os.path.join(self.dir, "script.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.script, f)
        self.log_path = os.path.join(self.dir, "requests.jsonl")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--script", path, "--log",
                                      self.log_path, "--stdin-eof"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError("asr_server did not start: %r" % line)
        self.url = "http://127.0.0.1:%d" % int(line.split()[1])
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)

    def requests(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]

    def _post(self, path, body):
        import urllib.request
        req = urllib.request.Request(self.url + path, data=body.encode(), method="POST")
        urllib.request.urlopen(req, timeout=5).read()

    def set_script(self, script):
        self._post("/_script", json.dumps(script))

    def reset(self):
        """Clears the log (the file too) and the use counts."""
        self._post("/_reset", "{}")
        open(self.log_path, "w").close()


def main():
    ap = argparse.ArgumentParser(description="scripted OpenAI-compatible speech-to-text server for tests")
    ap.add_argument("--script")
    ap.add_argument("--log")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--stdin-eof", action="store_true")
    a = ap.parse_args()
    script = {}
    if a.script:
        with open(a.script, encoding="utf-8") as f:
            script = json.load(f)
    srv = serve(script, a.log, a.port)
    print("PORT %d" % srv.server_address[1], flush=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        if a.stdin_eof:
            sys.stdin.read()
        else:
            t.join()
    except KeyboardInterrupt:
        pass
    srv.shutdown()
    srv.server_close()


if __name__ == "__main__":
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    main()
