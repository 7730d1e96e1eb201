#!/usr/bin/python3
"""test_transcribe.py - `aularag transcribe` and `ingest --transcribe` on media this test makes itself
(espeak-ng Portuguese speech, sox silences, muxed into mp4/webm/mp3 by ffmpeg) against the scripted
speech server tests/asr_server.py.

Independent reference: the server's segments are the speech its energy detector finds in each
uploaded chunk (times relative to the chunk); this test runs the same detector on the whole recording
(decoded by ffmpeg here), so every output segment must land on a reference span once the client has
shifted it by its chunk's offset, and every cut between chunks must fall outside speech."""
import glob, json, os, shutil, signal, subprocess, sys, tempfile, time

AR = os.environ.get("AULARAG_BIN") or sys.exit("AULARAG_BIN not set (run through make test)")
ROOT = os.environ.get("AULARAG_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import checks  # noqa: E402
from checks import check  # noqa: E402
from asr_server import ASRServer, speech_spans  # noqa: E402

PHRASES = ["Hoje vamos estudar redes neurais e o gradiente descendente.",
           "O gradiente indica a direção de maior crescimento da função.",
           "Vamos ver um exemplo prático com números pequenos.",
           "A taxa de aprendizado controla o tamanho de cada passo."]
TOL = 0.06      # the detector's 20 ms frames start at each chunk's first sample, plus lossy codecs
MAX_CHUNK = "5"


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def run(args, env=None, timeout=120):
    e = {k: v for k, v in os.environ.items() if not k.startswith("AULARAG_ASR")}
    e.update(env or {})
    return subprocess.run([AR] + args, capture_output=True, text=True, env=e, timeout=timeout)


def make_media(d):
    """speech.wav: the phrases with 1.2-1.6 s silences between; muxed into mp4 (h264/aac), webm
    (vp8/opus) and mp3; plus a video without audio and a text file named like a video."""
    parts = []
    for i, p in enumerate(PHRASES):
        raw, pad = os.path.join(d, "u%d.wav" % i), os.path.join(d, "p%d.wav" % i)
        sh("espeak-ng", "-v", "pt", "-s", "190", "-w", raw, p)
        sh("sox", raw, "-r", "16000", "-c", "1", pad, "pad", "0.4" if i == 0 else "0", "%.1f" % (1.2 + 0.1 * i))
        parts.append(pad)
    speech = os.path.join(d, "speech.wav")
    sh("sox", *parts, speech)
    media = os.path.join(d, "media")
    os.makedirs(os.path.join(media, "week2"))
    ff = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y"]
    video = ["-f", "lavfi", "-i", "color=c=blue:s=64x48:r=5"]
    sh(*ff, *video, "-i", speech, "-shortest", "-c:v", "libx264", "-c:a", "aac", os.path.join(media, "aula1.mp4"))
    sh(*ff, *video, "-i", speech, "-shortest", "-c:v", "libvpx", "-c:a", "libopus",
       os.path.join(media, "week2", "aula2.webm"))
    sh(*ff, "-i", speech, "-c:a", "libmp3lame", "-q:a", "4", os.path.join(media, "week2", "aula3.mp3"))
    bad = os.path.join(d, "bad")
    os.makedirs(bad)
    sh(*ff, *video, "-t", "2", "-c:v", "libx264", os.path.join(bad, "silent_video.mp4"))
    with open(os.path.join(bad, "notes.mp4"), "w") as f:
        f.write("isto não é um vídeo\n")
    return media, bad


def reference(path):
    """The detector's speech spans over the whole decoded recording."""
    raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", path, "-ac", "1", "-ar", "16000",
                          "-f", "s16le", "-"], check=True, capture_output=True).stdout
    import numpy as np
    s = np.frombuffer(raw, dtype="<i2")
    return speech_spans(s, 16000), len(s) / 16000


def chunks_of(reqs, stem):
    """(start, end) seconds of each 200-answered chunk of one file, from the uploaded names."""
    out = []
    for r in reqs:
        fn = r.get("filename") or ""
        if fn.startswith(stem + "_") and r.get("status") == 200:
            a, b = fn[len(stem) + 1:-len("ms.wav")].split("-")
            out.append((int(a) / 1000, int(b) / 1000))
    return sorted(out)


def segs(path):
    with open(path, encoding="utf-8") as f:
        return [(s["start"], s["end"], s["text"]) for s in json.load(f)["segments"]]


def same_spans(what, got, ref):
    ok = len(got) == len(ref) and all(abs(g[0] - r[0]) <= TOL and abs(g[1] - r[1]) <= TOL for g, r in zip(got, ref))
    return check(what, ok, "got %s\n  ref %s" % ([(round(a, 3), round(b, 3)) for a, b, *_ in got],
                                                 [(round(a, 3), round(b, 3)) for a, b in ref]))


def in_silence(t, ref, margin=0.03):
    return all(not (a - margin < t < b + margin) for a, b in ref)


def main():
    for tool in ("ffmpeg", "espeak-ng", "sox"):
        if not shutil.which(tool):
            checks.abort("%s not installed (scripts/install-deps.sh --test)" % tool)
    tmp = tempfile.mkdtemp(prefix="aularag-asr-")
    try:
        media, bad = make_media(tmp)
        refs = {n: reference(os.path.join(media, p)) for n, p in
                (("aula1", "aula1.mp4"), ("aula2", "week2/aula2.webm"), ("aula3", "week2/aula3.mp3"))}
        check("the reference finds every phrase", all(len(r[0]) == len(PHRASES) for r in refs.values()),
              {k: v[0] for k, v in refs.items()})
        with ASRServer() as srv:
            happy(tmp, media, refs, srv)
            faults(tmp, media, refs, srv)
            resume(tmp, media, refs, srv)
            bad_input(tmp, media, bad, refs, srv)
        usage()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def happy(tmp, media, refs, srv):
    r = run(["transcribe", "--asr-url", srv.url, "--asr-model", "small-pt", "--lang", "pt", "--max-chunk", MAX_CHUNK,
             "-j", "2", media])
    check("transcribe a folder: exit 0", r.returncode == 0, r.stderr[-2000:])
    check("summary line", "transcribed 3 files (0 already done, 0 failed)" in r.stdout, r.stdout)
    reqs = srv.requests()
    for stem, sub in (("aula1", ""), ("aula2", "week2"), ("aula3", "week2")):
        ref, dur = refs[stem]
        out = os.path.join(media, sub, stem + ".whisper.json")
        check("%s: transcript written beside the media" % stem, os.path.exists(out))
        check("%s: journal removed once done" % stem, not os.path.exists(out[:-4] + "journal"))
        if not os.path.exists(out):
            continue
        same_spans("%s: segments shifted onto the speech of the whole recording" % stem, segs(out), ref)
        ch = chunks_of(reqs, stem)
        check("%s: chunked (%s)" % (stem, ch), len(ch) >= 3 and all(b - a <= float(MAX_CHUNK) + 1e-3 for a, b in ch))
        check("%s: chunks tile the recording" % stem, ch and ch[0][0] == 0 and abs(ch[-1][1] - dur) < 0.05 and
              all(abs(ch[i][1] - ch[i + 1][0]) < 1e-6 for i in range(len(ch) - 1)), ch)
        cuts = [b for _, b in ch[:-1]]
        check("%s: every cut falls in a silence" % stem, all(in_silence(t, ref) for t in cuts), (cuts, ref))
    f = reqs[0].get("fields", {})
    check("request fields", f.get("model") == "small-pt" and f.get("response_format") == "verbose_json" and
          f.get("timestamp_granularities[]") == "segment" and f.get("language") == "pt", f)
    check("requests go to /v1/audio/transcriptions", all(q["path"] == "/v1/audio/transcriptions" for q in reqs))
    n = len(reqs)
    r = run(["transcribe", "--asr-url", srv.url, media])
    check("rerun: transcribed files are skipped, nothing sent", r.returncode == 0 and len(srv.requests()) == n and
          "3 already done" in r.stdout, r.stdout + r.stderr)
    # ingest reads what transcribe wrote
    ix = os.path.join(tmp, "happy.db")
    r = run(["ingest", "-i", ix, "-q", media])
    check("ingest reads the Whisper JSON", r.returncode == 0 and "ingested 3 transcripts" in r.stdout, r.stdout + r.stderr)
    r = run(["search", "-i", ix, "--json", "fala"])
    check("search finds the transcribed text", r.returncode == 0 and "fala" in r.stdout, r.stdout[:500] + r.stderr)


def one_file(tmp, media, name):
    d = tempfile.mkdtemp(dir=tmp)
    shutil.copy(os.path.join(media, "aula1.mp4"), os.path.join(d, name))
    return os.path.join(d, name)


def faults(tmp, media, refs, srv):
    ref = refs["aula1"][0]
    # 429 with Retry-After, then 500: both retried, Retry-After honoured; then a reply without segments
    srv.reset()
    srv.set_script({"replies": [{"status": 429, "headers": {"Retry-After": "1"}}, {"status": 500},
                                {"no_segments": True}]})
    p = one_file(tmp, media, "retry.mp4")
    r = run(["transcribe", "--asr-url", srv.url, "--max-chunk", MAX_CHUNK, p])
    reqs = srv.requests()
    check("429 and 500 are retried: exit 0", r.returncode == 0, r.stderr[-1500:])
    check("the 429's Retry-After: 1 is waited for", len(reqs) >= 2 and reqs[1]["t"] - reqs[0]["t"] >= 0.95,
          [(q["status"], round(q["t"], 2)) for q in reqs[:3]])
    check("the retried chunk is the same", len(reqs) >= 3 and reqs[0]["filename"] == reqs[1]["filename"] == reqs[2]["filename"])
    ch = chunks_of(reqs, "retry")
    check("no segments: a warning", "no \"segments\"" in r.stderr, r.stderr[-800:])
    out = p[:-4] + ".whisper.json"
    if os.path.exists(out) and ch:
        s = segs(out)
        check("no segments: one segment spanning the first chunk, its text kept", abs(s[0][0] - ch[0][0]) < 1e-3 and
              abs(s[0][1] - ch[0][1]) < 2e-3 and s[0][2].startswith("fala"), (s[:3], ch[:2]))
        first = [x for x in ref if x[0] < ch[0][1]]
        same_spans("after retries: the other chunks' segments right", s[1:], ref[len(first):])
    # 413: the server's limit is below ours; the chunk is cut smaller at a silence
    srv.reset()
    limit = 120000   # 3.75 s of 16 kHz audio: some 6 s chunks do not fit
    srv.set_script({"max_upload": limit})
    p = one_file(tmp, media, "big.mp4")
    r = run(["transcribe", "--asr-url", srv.url, "--max-chunk", MAX_CHUNK, p])
    reqs = srv.requests()
    check("413: exit 0", r.returncode == 0, r.stderr[-1500:])
    check("413: some uploads refused, then cut smaller", any(q["status"] == 413 for q in reqs) and
          all(q["bytes"] <= limit for q in reqs if q["status"] == 200), [(q["bytes"], q["status"]) for q in reqs])
    check("413: said on stderr", "413" in r.stderr, r.stderr[-800:])
    out = p[:-4] + ".whisper.json"
    if os.path.exists(out):
        same_spans("after 413 splits: segments right", segs(out), ref)
        cuts = [b for _, b in chunks_of(reqs, "big")[:-1]]
        check("413 splits also cut in silences", all(in_silence(t, ref) for t in cuts), cuts)
    srv.set_script({})


def resume(tmp, media, refs, srv):
    ref = refs["aula1"][0]
    # malformed JSON in the third reply: the file fails, named; two chunks are journalled
    srv.reset()
    srv.set_script({"replies": [{}, {}, {"body": "{\"segments\": [ {\"start\": 1,"}]})
    p = one_file(tmp, media, "broken.mp4")
    out, journal = p[:-4] + ".whisper.json", p[:-4] + ".whisper.journal"
    r = run(["transcribe", "--asr-url", srv.url, "--max-chunk", MAX_CHUNK, p])
    first = chunks_of(srv.requests(), "broken")
    check("malformed JSON: exit 1, the file and the problem named", r.returncode == 1 and p in r.stderr and
          "not valid JSON" in r.stderr, r.stderr[-800:])
    check("malformed JSON: not retried", len(srv.requests()) == 3, len(srv.requests()))
    check("malformed JSON: no transcript, a journal", not os.path.exists(out) and os.path.exists(journal))
    srv.reset()
    srv.set_script({})
    r = run(["transcribe", "--asr-url", srv.url, "--max-chunk", MAX_CHUNK, p])
    second = chunks_of(srv.requests(), "broken")
    check("resume: exit 0, 2 chunks resumed", r.returncode == 0 and ", 2 resumed" in r.stdout, r.stdout + r.stderr)
    check("resume: the journalled chunks are not sent again", len(first) == 3 and
          not set(first[:2]) & set(second) and first[2] in second, (first, second))
    if os.path.exists(out):
        same_spans("resume: segments right", segs(out), ref)
    # kill -9 while the second chunk is at the server; the rerun sends only what was not done
    srv.reset()
    srv.set_script({"replies": [{}, {"delay_s": 30}]})
    p = one_file(tmp, media, "killed.mp4")
    out = p[:-4] + ".whisper.json"
    e = {k: v for k, v in os.environ.items() if not k.startswith("AULARAG_ASR")}
    proc = subprocess.Popen([AR, "transcribe", "--asr-url", srv.url, "--max-chunk", MAX_CHUNK, p],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=e)
    t0 = time.time()
    while len(srv.requests()) < 2 and time.time() - t0 < 30 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = chunks_of(srv.requests(), "killed")
    srv.reset()
    srv.set_script({})
    r = run(["transcribe", "--asr-url", srv.url, "--max-chunk", MAX_CHUNK, p])
    second = chunks_of(srv.requests(), "killed")
    check("kill -9 then rerun: exit 0", r.returncode == 0, r.stderr[-800:])
    check("kill -9 then rerun: the finished chunk is not sent again, the cut one is", len(first) == 2 and
          first[0] not in second and first[1] in second, (first, second))
    if os.path.exists(out):
        same_spans("kill -9 then rerun: segments right", segs(out), ref)
    check("no audio left in TMPDIR", not glob.glob(os.path.join(os.environ.get("TMPDIR", "/tmp"), "aularag-asr-%d-*" % proc.pid)))


def bad_input(tmp, media, bad, refs, srv):
    good = one_file(tmp, media, "good.mp4")
    gone = os.path.join(bad, "gone.mp4")
    os.symlink(os.path.join(bad, "nowhere.mp4"), gone)   # unreadable even for root
    named = [os.path.join(bad, "notes.mp4"), os.path.join(bad, "silent_video.mp4"), gone, good]
    locked = None
    if os.geteuid() != 0:
        locked = os.path.join(bad, "locked.mp3")
        shutil.copy(os.path.join(media, "week2", "aula3.mp3"), locked)
        os.chmod(locked, 0)
        named.insert(0, locked)
    srv.reset()
    r = run(["transcribe", "--asr-url", srv.url, *named])
    check("bad inputs: exit 1 at the end", r.returncode == 1, r.stdout + r.stderr[-1500:])
    lines = r.stderr.splitlines()
    def said(path, words):
        return any(path in l and words in l for l in lines)
    check("not media: named", said(named[-4], "not a media file"), r.stderr[-1500:])
    check("no audio track: named", said(os.path.join(bad, "silent_video.mp4"), "no audio track"), r.stderr[-1500:])
    check("unreadable: named", said(gone, "cannot read"), r.stderr[-1500:])
    if locked:
        check("permission denied: named", said(locked, "cannot read"), r.stderr[-1500:])
    check("the good file still transcribed", os.path.exists(good[:-4] + ".whisper.json") and
          "1 files (0 already done, %d failed)" % (len(named) - 1) in r.stdout, r.stdout)
    # ingest --transcribe: a folder of media straight into an index
    d = tempfile.mkdtemp(dir=tmp)
    os.makedirs(os.path.join(d, "course", "week2"))
    shutil.copy(os.path.join(media, "aula1.mp4"), os.path.join(d, "course"))
    shutil.copy(os.path.join(media, "week2", "aula3.mp3"), os.path.join(d, "course", "week2"))
    ix = os.path.join(tmp, "t.db")
    r = run(["ingest", "-i", ix, "--transcribe", "--lang", "pt", "-q", os.path.join(d, "course")],
            env={"AULARAG_ASR_URL": srv.url})
    check("ingest --transcribe: exit 0, 2 videos", r.returncode == 0 and "ingested 2 transcripts" in r.stdout,
          r.stdout + r.stderr[-800:])
    check("ingest --transcribe: the language sent", all(q.get("fields", {}).get("language") == "pt"
                                                        for q in srv.requests()[-2:]))
    import sqlite3
    ids = sorted(v for (v,) in sqlite3.connect(ix).execute("SELECT video_id FROM videos"))
    check("ingest --transcribe: each video named after its media file", ids == ["aula1", "aula3"], str(ids))
    m = os.path.join(d, "course", "aula1.mp4")
    r = run(["ingest", "-i", ix, "--transcribe", "-q", m, os.path.join(bad, "notes.mp4")], env={"AULARAG_ASR_URL": srv.url})
    check("ingest --transcribe of a named file (already done) plus a bad one: exit 1, the good one ingested",
          r.returncode == 1 and "ingested 1 transcripts" in r.stdout and "notes.mp4" in r.stderr, r.stdout + r.stderr)


def usage():
    r = run(["transcribe", "x.mp4"])
    check("no server: usage error (2) naming --asr-url", r.returncode == 2 and "--asr-url" in r.stderr, r.stderr)
    r = run(["transcribe", "--asr-url", "http://127.0.0.1:9", "-j", "0", "x.mp4"])
    check("-j 0: usage error", r.returncode == 2, r.stderr)
    r = run(["ingest", "-i", "/nonexistent/x.db", "--transcribe", "x.mp4"])
    check("ingest --transcribe without a server: usage error", r.returncode == 2 and "AULARAG_ASR_URL" in r.stderr, r.stderr)


checks.run(main)
