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
import io
import json
import os
import time
import wave

from scripted_server import ChildServer, ScriptedHandler, ScriptState, main

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


class State(ScriptState):
    def pick(self, fname):
        return self.first_reply(self.script.get("replies", []), self.uses,
                                lambda m: m in (fname or "")) or ("default", {})


class Handler(ScriptedHandler):
    server_version = "aularag-test-asr/1"

    def scripted_error(self, status):
        return {"error": {"message": "scripted %d" % status}}

    def answer_post(self, raw):
        st = self.server.state
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
        entry.update(reply=idx, status=int(r.get("status", 200)))
        try:
            samples, rate = wav_samples(data)
            entry["duration"] = len(samples) / rate
        except (ValueError, EOFError, wave.Error) as e:
            samples, rate = None, RATE_DEFAULT
            entry["wav_error"] = str(e)
        st.record(entry)
        if self.send_scripted(r):
            return
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


class ASRServer(ChildServer):
    """The server in a child process (killed with the test): .url, .requests(), .set_script()."""
    program = os.path.abspath(__file__)
    prefix = "aularag-asr-srv-"

    def reset(self):
        """Clears the log (the file too) and the use counts."""
        super().reset()
        open(self.log_path, "w").close()


if __name__ == "__main__":
    main("scripted OpenAI-compatible speech-to-text server for tests", Handler, State)
