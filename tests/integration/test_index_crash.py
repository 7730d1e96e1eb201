"""test_index_crash.py - kill -9 `aularag ingest` at random moments and check after each kill that
the index opens, passes SQLite's integrity_check and the lexical postings check (`info --check`
recomputes the postings and statistics from the segments' text; kills land in per-video runs and in
their merges), and
that every video is wholly in its old or its new state (never a mix, never half-written).

Old/new states: the same real transcripts (3Blue1Brown pt) segmented with --window 120 vs 90, so
every video's segment list differs between the two. Fast mode: 30 videos, 8 kills; AULARAG_SLOW=1:
all 129 videos, 40 kills."""
import hashlib, os, random, shutil, signal, sqlite3, subprocess, tempfile, time

AR = os.environ["AULARAG_BIN"]
ROOT = os.environ.get("AULARAG_ROOT", os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.environ.get("AULARAG_DATA") or os.path.join(ROOT, "..", "shared", "data")
SRC = os.path.join(DATA, "transcripts-pt-3b1b")
slow = os.environ.get("AULARAG_SLOW") == "1"
import checks  # noqa: E402
from checks import check  # noqa: E402


if not os.path.isdir(SRC):
    checks.abort(f"shared data missing: {SRC}")

rng = random.Random(1234)
env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")  # a killed process cannot report leaks anyway


def ingest(db, window, course, timeout=None):
    return subprocess.Popen([AR, "ingest", "-q", "-i", db, "--window", str(window), "--overlap", "30", course],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def states(db):
    """video_id -> digest of its segments (ord, start, end, text), ids excluded"""
    c = sqlite3.connect(db)
    out = {}
    for vid, o, s, e, t in c.execute("SELECT v.video_id, s.ord, s.start, s.end, s.text FROM segments s"
                                     " JOIN videos v ON v.id = s.video ORDER BY v.video_id, s.ord"):
        out.setdefault(vid, hashlib.sha256()).update(repr((o, s, e, t)).encode())
    n_videos = c.execute("SELECT count(*) FROM videos").fetchone()[0]
    c.close()
    return {k: v.hexdigest() for k, v in out.items()}, n_videos


with tempfile.TemporaryDirectory() as T:
    course = os.path.join(T, "course")
    dirs = sorted(d for d in os.listdir(SRC) if os.path.isdir(os.path.join(SRC, d)))
    if not slow:
        dirs = dirs[:30]
    for d in dirs:
        for f in os.listdir(os.path.join(SRC, d)):
            if f.endswith(".srt") and os.path.getsize(os.path.join(SRC, d, f)) > 0:
                os.makedirs(os.path.join(course, d), exist_ok=True)
                os.symlink(os.path.join(SRC, d, f), os.path.join(course, d, f))
    ref = {}
    durations = []
    for w in (120, 90):
        db = os.path.join(T, f"ref{w}.db")
        t0 = time.monotonic()
        p = ingest(db, w, course)
        _, err = p.communicate()
        durations.append(time.monotonic() - t0)
        check(f"reference ingest --window {w}", p.returncode == 0, err.decode(errors="replace")[-500:])
        ref[w] = states(db)[0]
    n_all = len(ref[120])
    # (a video shorter than 90 s segments the same way under both windows; all the others differ)
    same = [v for v in ref[120] if ref[120][v] == ref[90][v]]
    check("old and new states differ for (almost) every video", len(same) <= max(1, n_all // 50), same[:5])
    db = os.path.join(T, "crash.db")
    shutil.copy(os.path.join(T, "ref120.db"), db)
    full = max(durations)
    kills = 40 if slow else 8
    target = 90
    mixed_seen = 0
    for k in range(kills):
        p = ingest(db, target, course)
        time.sleep(rng.uniform(0.05, full * 0.9))
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
        p.wait()
        r = subprocess.run([AR, "info", "-i", db, "--check"], capture_output=True, text=True, env=env)
        check(f"kill {k + 1}: index opens and passes integrity + lexical postings checks", r.returncode == 0 and "check:     ok" in r.stdout,
              r.stdout + r.stderr)
        st, n_videos = states(db)
        bad = [v for v in ref[120] if st.get(v) not in (ref[120][v], ref[90][v])]
        check(f"kill {k + 1}: every video wholly old or wholly new", not bad and n_videos == n_all and len(st) == n_all,
              f"bad={bad[:5]} videos={n_videos}/{n_all}")
        n_new = sum(st[v] == ref[target][v] for v in st)
        if 0 < n_new < n_all:
            mixed_seen += 1
        r = subprocess.run([AR, "search", "-i", db, "-k", "3", "--json", "gradiente"], capture_output=True, text=True,
                           env=env)
        check(f"kill {k + 1}: search works", r.returncode == 0 and '"segments"' in r.stdout, r.stderr)
        if not killed or n_new == n_all:
            target = 120 if target == 90 else 90  # finished: go back the other way
    check("some kills landed mid-ingest (a mix of old and new videos was observed)", mixed_seen > 0,
          f"mixed_seen={mixed_seen}")
    # finally let one run finish: the index converges to the target state
    p = ingest(db, target, course)
    p.communicate()
    st, _ = states(db)
    check("an uninterrupted run after the kills reaches the new state", st == ref[target], "")

checks.finish()
