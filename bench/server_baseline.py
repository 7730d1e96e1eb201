#!/usr/bin/python3
"""server_baseline.py INDEX BASE_DB PORT - what a user would otherwise write for /api/search: Python's
stdlib ThreadingHTTPServer (HTTP/1.1 keep-alive) over an SQLite FTS5 table (unicode61, accents
removed) of the same segments, BM25-ranked, returning the same kind of JSON (top k segments with
video, times and text). Used by bench_server.sh only."""
import json
import sqlite3
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

index, base, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = sqlite3.connect(base)
db.execute("DROP TABLE IF EXISTS fts")
db.execute("DROP TABLE IF EXISTS seg")
db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(text, tokenize='unicode61 remove_diacritics 2')")
db.execute("CREATE TABLE IF NOT EXISTS seg(id INTEGER PRIMARY KEY, video_id, title, url, start, end, text)")
src = sqlite3.connect(index)
rows = src.execute("SELECT s.id, v.video_id, v.title, v.url, s.start, s.end, s.text FROM segments s "
                   "JOIN videos v ON v.id = s.video").fetchall()
db.executemany("INSERT INTO seg VALUES (?,?,?,?,?,?,?)", rows)
db.executemany("INSERT INTO fts(rowid, text) VALUES (?, ?)", [(r[0], r[6]) for r in rows])
db.commit()
db.close()
local = threading.local()


def conn():
    if not hasattr(local, "db"):
        local.db = sqlite3.connect(base)
    return local.db


# Portuguese function words dropped (as any sensible FTS front end does), so both servers rank on content words.
STOP = set("a o as os um uma uns umas de da do das dos e é em no na nos nas que qual quais como por para "
           "com se ser ao aos à às entre sobre porque pois mas ou isso isto esse essa este esta".split())


def fts_query(q):
    words = ["".join(ch for ch in w if ch.isalnum()) for w in q.lower().split()]
    return " OR ".join('"%s"' % w for w in words if w and w not in STOP) or '""'


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlparse(self.path)
        a = urllib.parse.parse_qs(u.query)
        if u.path == "/healthz":
            body = b'{"status":"ok"}'
        elif u.path == "/api/search" and a.get("q"):
            k = int(a.get("k", ["10"])[0])
            q = a["q"][0]
            hits = conn().execute(
                "SELECT seg.id, bm25(fts), video_id, title, url, start, end, seg.text FROM fts JOIN seg ON "
                "seg.id = fts.rowid WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT ?", (fts_query(q), k)).fetchall()
            body = json.dumps({"query": q, "mode": "lexical", "segments": [
                {"rank": i + 1, "corpus_id": h[0], "score": -h[1], "video_id": h[2], "title": h[3], "url": h[4],
                 "start": h[5], "end": h[6], "text": h[7]} for i, h in enumerate(hits)]}).encode()
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer.request_queue_size = 512  # the default (5) would refuse most of 64 connections
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
