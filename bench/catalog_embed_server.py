#!/usr/bin/python3
"""catalog_embed_server.py - a scripted OpenAI-compatible embeddings server for bench_catalog.sh: POST
/v1/embeddings answers each input with a unit vector drawn from a generator seeded by the text (numpy), in
float or base64 form as asked, with usage. Loopback only.  usage: catalog_embed_server.py PORT [DIM]"""
import base64, hashlib, http.server, json, socketserver, sys
import numpy as np

DIM = int(sys.argv[2]) if len(sys.argv) > 2 else 384


def vec(text):
    seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        self.send_response(200 if self.path == "/health" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        inp = req["input"] if isinstance(req["input"], list) else [req["input"]]
        b64 = req.get("encoding_format") == "base64"
        data = []
        for i, t in enumerate(inp):
            v = vec(t)
            data.append({"object": "embedding", "index": i,
                         "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if b64 else v.tolist()})
        body = json.dumps({"object": "list", "data": data, "model": req.get("model", ""),
                           "usage": {"prompt_tokens": sum(len(t.split()) for t in inp),
                                     "total_tokens": sum(len(t.split()) for t in inp)}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


if __name__ == "__main__":
    S(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
