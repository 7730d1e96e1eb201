"""checks.py - the pass/fail count every Python integration test reports through.

tests/run.sh reads the last "NAME: N passed, N failed" line a test prints; NAME is the script's
file name without ".py". check() counts, finish() prints that line and exits, run(main) also
counts a crash as a failure, abort() ends a test that cannot go on (missing data, setup failed).
Server starts an aularag server; request() sends one HTTP request to a loopback port."""
import os
import sys
import traceback

NAME = os.path.splitext(os.path.basename(sys.argv[0]))[0]
passed = failed = 0


def check(what, ok, detail=""):
    """Counts one check; a failure prints "FAIL: what" and the detail (cut at 3,000 characters)."""
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(("FAIL: %s\n  %s" % (what, detail) if detail != "" else "FAIL: %s" % what)[:3000])
    return bool(ok)


def finish():
    print("%s: %d passed, %d failed" % (NAME, passed, failed))
    sys.exit(1 if failed else 0)


def abort(why):
    global failed
    print(why)
    failed += 1
    finish()


def run(main):
    global failed
    try:
        main()
    except Exception:  # a crash is a failure, not a missing result line
        traceback.print_exc()
        failed += 1
    finish()


def request(port, method, path, body=None, headers=None, timeout=30, source=None):
    """One request to 127.0.0.1:port on a fresh connection (from the address source, if given): (status,
    headers with lower-case names, body bytes)."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0) if source else None)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data
    finally:
        c.close()


class Server:
    """An aularag command that serves HTTP (`serve` by default) on a free loopback port, started and
    stopped the way every server test needs: stderr collected in .lines, the port read from the
    "listening on http://" line, SIGTERM on stop (then SIGKILL after `timeout`). Use it for every test
    that starts a server, so there is one start-up helper: Server(AR, index, "--course", "db")."""

    def __init__(self, binary, index, *args, env=None, command="serve", wait=30):
        import subprocess
        import threading
        argv = [binary, command] + (["-i", index] if index else []) + ["--port", "0", *args]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        self.lines, self.port = [], None
        ready = threading.Event()

        def pump():
            for line in self.proc.stderr:
                self.lines.append(line.rstrip("\n"))
                if "listening on http://" in line and not ready.is_set():
                    self.port = int(line.split("listening on http://")[1].split("/")[0].rsplit(":", 1)[1])
                    ready.set()
            ready.set()

        self.pump = threading.Thread(target=pump, daemon=True)
        self.pump.start()
        ready.wait(wait)
        if not self.port:
            self.proc.kill()
            raise RuntimeError("server did not start: " + "\n".join(self.lines[-20:]))

    def stop(self, timeout=30):
        import signal
        import subprocess
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "killed"
        self.pump.join(5)
        return rc

    def request(self, method, path, body=None, headers=None, timeout=30, source=None):
        return request(self.port, method, path, body, headers, timeout, source)

    def json(self, method, path, body=None, headers=None):
        """request() with the body parsed as JSON: (status, headers, object); {"_raw": ...} if not JSON."""
        import json
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        h = dict(headers or {})
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        st, hd, data = self.request(method, path, body, h)
        try:
            return st, hd, json.loads(data)
        except ValueError:
            return st, hd, {"_raw": data[:300]}
