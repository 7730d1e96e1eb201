#!/usr/bin/python3
"""scripted_server.py - what the scripted test servers (asr_server.py, llm_server.py, hub_server.py) share
(stdlib only, 127.0.0.1).

    loopback_server(Handler)   a ThreadingHTTPServer on 127.0.0.1 (port 0 = a free one)
    QuietHandler               HTTP/1.1, no request lines on stderr (tests read the request log instead)
    ScriptedHandler            + JSON replies, the control endpoints (GET /_log, POST /_script, POST /_reset)
                               and the reply fields every script knows (delay_s, status, headers, body)
    ScriptState                the script, each reply's use count and the request log (kept in memory and
                               appended to a JSON Lines file)
    ChildServer                a test's handle on the server run as a child process: .url, .requests()
    main(...)                  the command line: --script FILE --log FILE --port N --stdin-eof; prints
                               `PORT <n>` once listening, serves until killed or until stdin reaches EOF
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NOT_FOUND = '{"error":{"message":"not found"}}'


def loopback_server(handler, port=0):
    """Request threads are daemons: a test that ends mid-request is not held up by them."""
    srv = ThreadingHTTPServer(("127.0.0.1", port), handler)
    srv.daemon_threads = True
    return srv


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: tests read the request log instead
        pass


class ScriptState:
    """Subclasses pick a reply for a request with first_reply(); set_script() is theirs to extend."""

    def __init__(self, script, log_path):
        self.lock = threading.Lock()
        self.log_path = log_path
        self.log = []
        self.set_script(script)

    def set_script(self, script):
        self.script = script or {}
        self.uses = [0] * len(self.script.get("replies", []))

    def reset(self):
        """Clears the log (not the file) and the use counts."""
        with self.lock:
            self.log = []
            self.set_script(self.script)

    def first_reply(self, replies, uses, fits):
        """The first reply with uses left ("times", default 1; 0 = unlimited) whose "match", if any, fits:
        (index, reply), its use counted; None when no reply is left."""
        with self.lock:
            for i, r in enumerate(replies):
                times = r.get("times", 1)
                if times and uses[i] >= times:
                    continue
                if r.get("match") is not None and not fits(r["match"]):
                    continue
                uses[i] += 1
                return i, r
            return None

    def record(self, entry):
        with self.lock:
            entry["n"] = len(self.log) + 1
            self.log.append(entry)
            if self.log_path:
                with open(self.log_path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(entry, ensure_ascii=False) + "\n")


class ScriptedHandler(QuietHandler):
    """self.server.state is a ScriptState. Subclasses answer in answer_get() and answer_post(raw), and say
    in scripted_error(status) what a scripted error status carries."""

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

    def _headers(self):
        return {k.lower(): v for k, v in self.headers.items()}

    def do_GET(self):
        st = self.server.state
        if self.path == "/_log":
            with st.lock:
                return self._send(200, json.dumps(st.log, ensure_ascii=False))
        self.answer_get()

    def answer_get(self):
        self._send(404, NOT_FOUND)

    def do_POST(self):
        st = self.server.state
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n > 0 else b""
        if self.path == "/_script":
            st.set_script(json.loads(raw or b"{}"))
            return self._send(200, '{"ok":true}')
        if self.path == "/_reset":
            st.reset()
            return self._send(200, '{"ok":true}')
        self.answer_post(raw)

    def send_scripted(self, r):
        """Sleeps the reply's delay_s, then sends its "body" verbatim or, for a status other than 200, the
        scripted error. True when it sent something (the caller is done)."""
        if r.get("delay_s"):
            time.sleep(float(r["delay_s"]))
        status = int(r.get("status", 200))
        if "body" in r:
            self._send(status, r["body"], r.get("headers"))
            return True
        if status != 200:
            self._send(status, json.dumps(self.scripted_error(status)), r.get("headers"))
            return True
        return False


class ChildServer:
    """Starts a scripted server program as a child process (so the client under test and the server never
    share a GIL), with --stdin-eof so that a test that dies takes it along, and stops it on exit.
    script: a dict/list, or a path to a JSON file. Subclasses name the program and their temp dir prefix."""
    program = None
    prefix = None

    def __init__(self, script=None, log_path=None):
        self.script = script if script is not None else {}
        self.log_path = log_path
        self.proc = None
        self.port = None

    def __enter__(self):
        import tempfile
        self.dir = tempfile.mkdtemp(prefix=self.prefix)
        path = self.script
        if not isinstance(path, str):
            path = os.path.join(self.dir, "script.json")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(self.script, f, ensure_ascii=False)
        self.log_path = self.log_path or os.path.join(self.dir, "requests.jsonl")
        self.proc = subprocess.Popen([sys.executable, self.program, "--script", path, "--log", self.log_path,
                                      "--stdin-eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError("%s did not start: %r" % (os.path.basename(self.program)[:-3], line))
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
        import shutil
        shutil.rmtree(self.dir, ignore_errors=True)

    def requests(self):
        """The request log: a list of dicts (see the server's docstring)."""
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path, encoding="utf-8") as f:
            return [json.loads(l) for l in f if l.strip()]

    def set_script(self, script):
        self._post("/_script", json.dumps(script))

    def reset(self):
        self._post("/_reset", "{}")

    def _post(self, path, body):
        import urllib.request
        req = urllib.request.Request(self.url + path, data=body.encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=5).read()


def main(description, handler, state):
    """The program: state(script, log_path) is the server's ScriptState, handler its request handler.
    SIGTERM exits 0."""
    import signal
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--script", help="JSON file: the script (see the server's docstring)")
    ap.add_argument("--log", help="append one JSON line per request here")
    ap.add_argument("--port", type=int, default=0, help="0 = a free port")
    ap.add_argument("--stdin-eof", action="store_true", help="exit when stdin reaches EOF")
    a = ap.parse_args()
    script = {}
    if a.script:
        with open(a.script, encoding="utf-8") as f:
            script = json.load(f)
    srv = loopback_server(handler, a.port)
    srv.state = state(script, a.log)
    print("PORT %d" % srv.server_address[1], flush=True)
    if a.stdin_eof:
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        t.start()
        try:
            sys.stdin.read()
        except KeyboardInterrupt:
            pass
        srv.shutdown()
    else:
        try:
            srv.serve_forever(poll_interval=0.05)
        except KeyboardInterrupt:
            pass
    srv.server_close()
