#!/usr/bin/python3
"""hub_server.py - a scripted Hugging Face Hub for tests (stdlib only, 127.0.0.1, a free port).

Import it from a Python test:

    sys.path.insert(0, os.path.join(root, "tests")); from hub_server import HubServer
    with HubServer({"org/model": "/path/to/model/dir"}) as hub:
        run(["aularag", "model", "pull", "org/model"], env={"HF_ENDPOINT": hub.url, ...})
        hub.log                 # [(method, path, headers dict with lower-case names)]

What it answers, with the headers the real Hub sends (read from huggingface_hub's file_download.py):
    GET  /api/models/ORG/NAME/revision/REV   {"id", "sha": COMMIT, "siblings": [{"rfilename"}...]}; REV is
                                             "main" or the commit (404 with X-Error-Code otherwise)
    HEAD /ORG/NAME/resolve/REV/FILE          small files: 200, ETag = the git blob SHA-1 (quoted),
                                             Content-Length, X-Repo-Commit. LFS files (model.safetensors
                                             and anything over 64 KiB): 302 to an absolute "CDN" URL
                                             http://localhost:PORT/cdn/<sha256>?sig=... (another host name,
                                             as a CDN is), with X-Linked-Etag = "<sha256>",
                                             X-Linked-Size, X-Repo-Commit
    GET  the same URLs                       the bytes; the CDN honours "Range: bytes=N-" (206)
Faults, set as attributes between runs (hub.cut_after = 1000, ...):
    cut_after    the next CDN GET sends its full Content-Length but closes after this many body bytes
                 (each cut is used once; a list cuts several GETs in turn)
    bad_sha      X-Linked-Etag advertises a wrong SHA-256 for every LFS file
    token        when set, API and resolve requests without "Authorization: Bearer <token>" get 401 (a gated
                 repo); the CDN needs none (its URLs are signed)
    moved        {"old/name": "org/model"}: the API and HEAD under the old name answer 307 with a relative Location
    ignore_range the CDN answers 200 with the whole file even to a Range request
    cdn_url      the Location LFS files redirect to, instead of the CDN (a hostile hub: "file:///etc/passwd")
The model folders are read at start: one random commit per repo."""
import hashlib
import json
import os
import random
import threading
import urllib.parse

from scripted_server import QuietHandler, loopback_server

LFS_MIN = 64 * 1024


class Repo:
    def __init__(self, repo_id, folder, seed):
        self.id = repo_id
        self.commit = "%040x" % random.Random(seed).getrandbits(160)
        self.files = {}
        for dp, _, fs in os.walk(folder):
            for f in fs:
                path = os.path.join(dp, f)
                rel = os.path.relpath(path, folder).replace(os.sep, "/")
                with open(path, "rb") as fh:
                    self.files[rel] = fh.read()

    def is_lfs(self, name):
        return name.endswith(".safetensors") or len(self.files[name]) > LFS_MIN


def git_blob_sha1(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HubServer:
    def __init__(self, repos):
        self.repos = {rid: Repo(rid, d, i) for i, (rid, d) in enumerate(sorted(repos.items()))}
        self.blobs = {}
        for r in self.repos.values():
            for name, data in r.files.items():
                self.blobs[hashlib.sha256(data).hexdigest()] = data
        self.log = []
        self.cut_after = None
        self.bad_sha = False
        self.token = None
        self.moved = {}
        self.ignore_range = False
        self.cdn_url = None
        self.lock = threading.Lock()
        hub = self

        class Handler(QuietHandler):
            def send(self, status, body=b"", headers=None, head=False):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, str(v))
                if "Content-Length" not in (headers or {}):
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def error(self, status, code, msg, head=False):
                body = json.dumps({"error": msg}).encode()
                self.send(status, body, {"Content-Type": "application/json", "X-Error-Code": code,
                                         "X-Error-Message": msg}, head)

            def handle_any(self, head):
                u = urllib.parse.urlsplit(self.path)
                with hub.lock:
                    hub.log.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
                if hub.token and not u.path.startswith("/cdn/") and \
                        self.headers.get("Authorization") != "Bearer " + hub.token:
                    return self.error(401, "GatedRepo", "Access to this model is restricted. You must have access "
                                      "to it and be authenticated to access it.", head)
                parts = [urllib.parse.unquote(p) for p in u.path.split("/")[1:]]
                if parts[:2] == ["api", "models"] and len(parts) == 6 and parts[4] == "revision":
                    rid = parts[2] + "/" + parts[3]
                    if rid in hub.moved:
                        new = "/api/models/" + hub.moved[rid] + "/" + "/".join(u.path.split("/")[5:])
                        return self.send(307, b"", {"Location": new}, head)
                    r = hub.repos.get(rid)
                    if not r:
                        return self.error(404, "RepoNotFound", "Repository not found", head)
                    if parts[5] not in ("main", r.commit):
                        return self.error(404, "RevisionNotFound", "Invalid rev id: " + parts[5], head)
                    body = json.dumps({"id": r.id, "sha": r.commit, "private": False,
                                       "siblings": [{"rfilename": f} for f in sorted(r.files)]}).encode()
                    return self.send(200, body, {"Content-Type": "application/json"}, head)
                if parts[:1] == ["cdn"] and len(parts) == 2:
                    data = hub.blobs.get(parts[1])
                    if data is None:
                        return self.send(404, b"no such object", head=head)
                    start, status = 0, 200
                    rng = self.headers.get("Range")
                    if rng and not hub.ignore_range:
                        start = int(rng.split("=")[1].split("-")[0])
                        if start >= len(data):
                            return self.send(416, b"", {"Content-Range": "bytes */%d" % len(data)}, head)
                        status = 206
                    body = data[start:]
                    headers = {"Content-Length": len(body), "ETag": '"%s"' % parts[1], "Accept-Ranges": "bytes"}
                    if status == 206:
                        headers["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
                    cut = None
                    with hub.lock:
                        if not head and hub.cut_after is not None:
                            if isinstance(hub.cut_after, list):
                                cut = hub.cut_after.pop(0)
                                if not hub.cut_after:
                                    hub.cut_after = None
                            else:
                                cut, hub.cut_after = hub.cut_after, None
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, str(v))
                    self.end_headers()
                    if head:
                        return
                    if cut is not None and cut < len(body):
                        self.wfile.write(body[:cut])
                        self.wfile.flush()
                        self.close_connection = True
                        self.connection.shutdown(2)
                        return
                    self.wfile.write(body)
                    return
                if len(parts) >= 5 and parts[2] == "resolve":
                    rid = parts[0] + "/" + parts[1]
                    if rid in hub.moved:
                        new = "/" + hub.moved[rid] + "/" + "/".join(u.path.split("/")[3:])
                        return self.send(307, b"", {"Location": new}, head)
                    r = hub.repos.get(rid)
                    if not r:
                        return self.error(404, "RepoNotFound", "Repository not found", head)
                    if parts[3] not in ("main", r.commit):
                        return self.error(404, "RevisionNotFound", "Invalid rev id: " + parts[3], head)
                    name = "/".join(parts[4:])
                    if name not in r.files:
                        return self.error(404, "EntryNotFound", "Entry not found", head)
                    data = r.files[name]
                    h = {"X-Repo-Commit": r.commit, "ETag": '"%s"' % git_blob_sha1(data)}
                    if r.is_lfs(name):
                        sha = hashlib.sha256(data).hexdigest()
                        shown = ("0" * 8 + sha[8:]) if hub.bad_sha else sha
                        h.update({"X-Linked-Etag": '"%s"' % shown, "X-Linked-Size": len(data),
                                  "Location": hub.cdn_url or "http://localhost:%d/cdn/%s?sig=test" % (hub.port, sha)})
                        return self.send(302, b"", h, head)
                    h["Content-Length"] = len(data)
                    return self.send(200, data, h, head)
                return self.send(404, b"not found", head=head)

            def do_GET(self):
                self.handle_any(False)

            def do_HEAD(self):
                self.handle_any(True)

        self.httpd = loopback_server(Handler)
        self.port = self.httpd.server_address[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.httpd.shutdown()
        self.httpd.server_close()

    def requests(self, method=None, prefix=""):
        with self.lock:
            return [e for e in self.log if (method is None or e[0] == method) and e[1].startswith(prefix)]
