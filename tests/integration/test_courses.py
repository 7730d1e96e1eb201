"""test_courses.py - courses through the CLI and the server: a manifest with course/course_title, `info`
listing them, `search`/`ask`/`eval` --course (results equal to the global ranking filtered afterwards,
k beyond the course's matches, an unknown course), a video moving between courses, manifest errors that
leave the index untouched, kill -9 while videos move between courses, and `serve`: GET /api/courses, course= on /api/search, /api/ask (JSON body)
and /api/ask/stream, serve --course as the default scope. Fixtures are generated in a temp dir."""
import json, os, signal, subprocess, sys, tempfile

AR = os.environ["AULARAG_BIN"]
sys.path.insert(0, os.path.dirname(__file__))
import checks  # noqa: E402
from checks import check  # noqa: E402


def run(*args):
    e = dict(os.environ)
    e.pop("AULARAG_INDEX", None)
    e.pop("AULARAG_MODEL", None)
    e.pop("AULARAG_LLM_URL", None)
    p = subprocess.run([AR, *args], capture_output=True, text=True, env=e, errors="replace")
    return p.returncode, p.stdout, p.stderr


def srt_time(s):
    return "%02d:%02d:%02d,000" % (s // 3600, s // 60 % 60, s % 60)


# Every lecture talks about gradients, so an unscoped top-k mixes courses.
LECTURES = {
    "ml1": ("ml", ["O gradiente indica a direção de maior subida.", "A descida do gradiente usa a taxa de aprendizado.",
                   "Redes neurais aprendem com retropropagação do gradiente."]),
    "ml2": ("ml", ["O gradiente estocástico usa minilotes.", "Momentum suaviza o gradiente.", "Adam adapta a taxa."]),
    "db1": ("db", ["Índices de banco de dados aceleram consultas.", "O otimizador estima o custo do gradiente de carga.",
                   "Transações garantem atomicidade."]),
    "db2": ("db", ["Junções por hash e por laço aninhado.", "Gradiente de temperatura no data center.",
                   "Réplicas de leitura."]),
    "free": ("", ["Uma palestra avulsa sobre gradiente e cores.", "Sem curso definido.", "Fim."]),
}


def write_course(d, rows_extra=""):
    rows = ["file,video_id,title,url,course,course_title"]
    for vid, (course, lines) in LECTURES.items():
        with open(os.path.join(d, vid + ".srt"), "w", encoding="utf-8") as f:
            for i, line in enumerate(lines * 4):
                f.write("%d\n%s --> %s\n%s\n\n" % (i + 1, srt_time(i * 50), srt_time(i * 50 + 45), line))
        title = {"ml": "Aprendizado de Máquina", "db": ""}.get(course, "")
        rows.append("%s.srt,%s,Aula %s,,%s,%s" % (vid, vid, vid, course, title))
    with open(os.path.join(d, "manifest.csv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n" + rows_extra)
    return os.path.join(d, "manifest.csv")


def search_json(idx, question, *args):
    rc, out, err = run("search", "-i", idx, "--json", *args, question)
    return rc, (json.loads(out) if rc == 0 else None), err


def main():
    with tempfile.TemporaryDirectory() as T:
        man = write_course(T)
        idx = os.path.join(T, "cat.db")
        rc, out, err = run("ingest", "-i", idx, "--manifest", man, "-q")
        if rc != 0:
            checks.abort("ingest failed: %s" % err)

        # --- info lists the courses with their counts
        rc, out, err = run("info", "-i", idx, "--json")
        info = json.loads(out)
        courses = {c["id"]: c for c in info["courses"]}
        check("info --json: two courses, ordered by id", [c["id"] for c in info["courses"]] == ["db", "ml"], out)
        check("info: titles (given, or the id)", courses["ml"]["title"] == "Aprendizado de Máquina" and
              courses["db"]["title"] == "db", out)
        check("info: video and segment counts", courses["ml"]["videos"] == 2 and courses["db"]["videos"] == 2 and
              courses["ml"]["segments"] + courses["db"]["segments"] < info["segments"], out)
        rc, out, err = run("info", "-i", idx)
        check("info text lists the courses", rc == 0 and "courses:   2" in out and "Aprendizado de Máquina" in out, out)

        # --- search --course: the global ranking filtered afterwards, cut at k
        rc, full, err = search_json(idx, "gradiente", "-k", "1000")
        check("unscoped search ok", rc == 0, err)
        course_of = {vid: c for vid, (c, _) in LECTURES.items()}
        for course in ("ml", "db"):
            want = [s["corpus_id"] for s in full["segments"] if course_of[s["video_id"]] == course]
            for k in (1, 2, 5, 1000):
                rc, got, err = search_json(idx, "gradiente", "-k", str(k), "--course", course)
                ids = [s["corpus_id"] for s in got["segments"]] if got else None
                check("search --course %s -k %d = filtered global ranking" % (course, k), ids == want[:k],
                      "%s vs %s %s" % (ids, want[:k], err))
        rc, got, err = search_json(idx, "gradiente", "-k", "2")
        check("unscoped top-2 mixes in other courses (the test means something)",
              any(course_of[s["video_id"]] != "db" for s in got["segments"]))
        rc, out, err = run("search", "-i", idx, "--course", "nope", "gradiente")
        check("unknown course: exit 1, names it and how to list", rc == 1 and "'nope'" in err and "aularag info" in err,
              "%d %s" % (rc, err))
        rc, out, err = run("search", "-i", idx, "--course")
        check("--course without a value: exit 2", rc == 2, err)

        # --- ask --course retrieves only from the course
        rc, out, err = run("ask", "-i", idx, "--json", "--course", "db", "gradiente")
        a = json.loads(out) if rc == 0 else {}
        check("ask --course: segments and references from the course", rc == 0 and a["segments"] and
              all(course_of[s["video_id"]] == "db" for s in a["segments"]) and
              all(course_of[r["video_id"]] == "db" for r in a["references"]), out[:400] + err)
        rc, out, err = run("ask", "-i", idx, "--course", "nope", "gradiente")
        check("ask unknown course: exit 1", rc == 1 and "'nope'" in err, err)

        # --- eval: --course for all questions, a question's own course wins
        qf = os.path.join(T, "q.jsonl")
        with open(qf, "w") as f:
            f.write(json.dumps({"id": 1, "question": "gradiente"}) + "\n")
            f.write(json.dumps({"id": 2, "question": "gradiente", "course": "ml"}) + "\n")
        rc, out, err = run("eval", "-i", idx, "--questions", qf, "--out", os.path.join(T, "rep"), "--course", "db",
                           "--quiet", "--bootstrap", "0")
        check("eval --course runs", rc == 0, err)
        if rc == 0:
            rep = json.load(open(os.path.join(T, "rep", "report.json")))
            items = {str(it.get("id")): it for it in rep.get("questions", rep.get("items", []))}
            vids = {k: [s["video_id"] for s in it.get("segments", [])] for k, it in items.items()}
            check("eval: question 1 scoped by --course db", vids.get("1") and
                  all(course_of[v] == "db" for v in vids["1"]), str(vids)[:400])
            check("eval: question 2's own course (ml) wins", vids.get("2") and
                  all(course_of[v] == "ml" for v in vids["2"]), str(vids)[:400])
            check("report.json names the run's course and each question's own", rep.get("run", {}).get("course") == "db" and
                  items.get("1", {}).get("course") is None and items.get("2", {}).get("course") == "ml",
                  json.dumps(rep.get("run"))[:300])
        with open(qf, "a") as f:
            f.write(json.dumps({"id": 3, "question": "x", "course": "zz"}) + "\n")
        rc, out, err = run("eval", "-i", idx, "--questions", qf, "--out", os.path.join(T, "rep2"), "--quiet")
        check("eval: a question's unknown course fails up front, naming file:line", rc == 1 and
              "q.jsonl:3" in err and "'zz'" in err, err)
        with open(qf, "w") as f:
            f.write(json.dumps({"id": 1, "question": "gradiente"}) + "\n")
        rc, out, err = run("eval", "-i", idx, "--questions", qf, "--out", os.path.join(T, "rep2"), "--course", "yy",
                           "--quiet")
        check("eval: unknown --course fails up front", rc == 1 and "'yy'" in err, err)

        # --- moving a video, and a manifest error that changes nothing
        with open(man) as f:
            text = f.read()
        with open(man, "w") as f:
            f.write(text.replace("ml2.srt,ml2,Aula ml2,,ml,Aprendizado de Máquina", "ml2.srt,ml2,Aula ml2,,db,"))
        rc, out, err = run("ingest", "-i", idx, "--manifest", man, "-q")
        rc2, out2, _ = run("info", "-i", idx, "--json")
        cs = {c["id"]: c["videos"] for c in json.loads(out2)["courses"]}
        check("re-ingest moves a video to another course", rc == 0 and cs == {"db": 3, "ml": 1}, out2 + err)
        rc, got, err = search_json(idx, "gradiente estocástico minilotes", "-k", "3", "--course", "db")
        check("the moved video is searched in its new course", rc == 0 and got["segments"] and
              got["segments"][0]["video_id"] == "ml2", str(got)[:300])
        bad = write_course(T, "free.srt,free2,x,,,Sem curso\n")
        before = open(idx, "rb").read()
        rc, out, err = run("ingest", "-i", idx, "--manifest", bad)
        check("course_title without course: exit 1 naming MANIFEST:LINE", rc == 1 and (bad + ":7:") in err, err)
        check("... and the index is unchanged", open(idx, "rb").read() == before)

        # --- the server
        write_course(T)
        run("ingest", "-i", idx, "--manifest", man, "-q")
        srv = checks.Server(AR, idx)
        try:
            st, _, cl = srv.json("GET", "/api/courses")
            check("GET /api/courses", st == 200 and cl == [
                {"id": "db", "title": "db", "videos": 2, "segments": courses["db"]["segments"]},
                {"id": "ml", "title": "Aprendizado de Máquina", "videos": 2, "segments": courses["ml"]["segments"]}],
                str(cl))
            for course in ("ml", "db", "ml"):   # twice ml: the cached response must not be db's
                st, _, r = srv.json("GET", "/api/search?q=gradiente&k=3&course=" + course)
                rc, cli, _ = search_json(idx, "gradiente", "-k", "3", "--course", course)
                check("/api/search course=%s equals the CLI" % course, st == 200 and r == cli, "%s\n%s" % (r, cli))
            st, _, r = srv.json("GET", "/api/search?q=gradiente&k=3&course=")
            rc, cli, _ = search_json(idx, "gradiente", "-k", "3")
            check("course= (empty) is every course", st == 200 and r == cli)
            st, _, r = srv.json("GET", "/api/search?q=gradiente&course=nope")
            check("/api/search unknown course: 404 naming it", st == 404 and "'nope'" in r.get("error", ""), str(r))
            st, _, r = srv.json("POST", "/api/ask", json.dumps({"question": "gradiente", "k": 3, "course": "db"}))
            check("POST /api/ask with course", st == 200 and r["segments"] and
                  all(course_of[s["video_id"]] == "db" for s in r["segments"]), str(r)[:300])
            st, _, r = srv.json("POST", "/api/ask", json.dumps({"question": "gradiente", "course": 7}))
            check("POST /api/ask course of the wrong type: 400", st == 400 and "course" in r.get("error", ""), str(r))
            st, _, raw = srv.request("GET", "/api/ask/stream?q=gradiente&k=3&course=ml")
            seg = [b for b in raw.decode().split("\n\n") if b.startswith("event: segments")]
            data = json.loads(seg[0].split("data: ", 1)[1]) if seg else {}
            check("stream with course", st == 200 and data.get("segments") and
                  all(course_of[s["video_id"]] == "ml" for s in data["segments"]), raw[:300])
            st, _, raw = srv.request("GET", "/api/ask/stream?q=gradiente&course=nope")
            check("stream unknown course: an error event with 404", b"event: error" in raw and b"404" in raw, raw[:300])
        finally:
            check("server stops cleanly", srv.stop() == 0, "\n".join(srv.lines[-10:]))

        srv = checks.Server(AR, idx, "--course", "db")
        try:
            st, _, h = srv.json("GET", "/healthz")
            check("/healthz names the default course", h.get("course") == "db", str(h))
            st, _, r = srv.json("GET", "/api/search?q=gradiente&k=50")
            check("serve --course: requests without course are scoped", st == 200 and r["segments"] and
                  all(course_of[s["video_id"]] == "db" for s in r["segments"]), str(r)[:300])
            st, _, r = srv.json("GET", "/api/search?q=gradiente&k=50&course=")
            check("... and course= (empty) still reaches every course", st == 200 and
                  any(course_of[s["video_id"]] != "db" for s in r["segments"]))
        finally:
            srv.stop()
        rc, out, err = run("serve", "-i", idx, "--port", "0", "--course", "nope")
        check("serve --course unknown: exit 1 at start", rc == 1 and "'nope'" in err, err)

        crash(T)


def crash(T):
    """kill -9 an ingest that moves 120 videos from course A to course B (half of them re-segmented too):
    after every kill the index passes `info --check` (which checks that every video's course exists) and
    each video is in A or B with its courses' counts agreeing."""
    import random, sqlite3, time
    d = os.path.join(T, "crash")
    os.makedirs(d)
    for i in range(120):
        with open(os.path.join(d, "v%03d.srt" % i), "w") as f:
            for j in range(12):
                f.write("%d\n%s --> %s\nvídeo %d fala do gradiente %d\n\n" % (j + 1, srt_time(j * 40), srt_time(j * 40 + 35), i, j))

    def manifest(course):
        with open(os.path.join(d, "m.csv"), "w") as f:
            f.write("file,video_id,course,course_title\n")
            for i in range(120):
                f.write("v%03d.srt,v%03d,%s,Curso %s\n" % (i, i, course, course))

    db = os.path.join(T, "crash.db")
    manifest("A")
    rc, out, err = run("ingest", "-i", db, "--manifest", os.path.join(d, "m.csv"), "-q")
    check("crash setup ingest", rc == 0, err)
    manifest("B")
    rng = random.Random(7)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
    kills, mixed = 0, 0
    for attempt in range(6):
        window = "120" if attempt % 2 else "60"     # half the runs also change the segments
        p = subprocess.Popen([AR, "ingest", "-q", "-i", db, "--window", window, "--manifest", os.path.join(d, "m.csv")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        time.sleep(rng.uniform(0.05, 0.6))
        if p.poll() is None:
            p.send_signal(signal.SIGKILL)
            kills += 1
        p.wait()
        rc, out, err = run("info", "-i", db, "--check", "--json")
        ok = rc == 0 and json.loads(out).get("check") == "ok"
        c = sqlite3.connect(db)
        per = dict(c.execute("SELECT coalesce(course, '-'), count(*) FROM videos GROUP BY 1").fetchall())
        listed = {r[0] for r in c.execute("SELECT id FROM courses")}
        c.close()
        mixed += len(per) == 2
        if attempt == 4 and not mixed:   # each run moves what is left: start over from A for a fresh chance
            manifest("A")
            run("ingest", "-i", db, "--manifest", os.path.join(d, "m.csv"), "-q")
            manifest("B")
        check("after kill %d: info --check ok, every video in A or B, courses table = courses in use" % attempt,
              ok and set(per) <= {"A", "B"} and sum(per.values()) == 120 and listed == set(per), "%s %s %s" % (out, per, listed))
    print("   (crash: %d kills, %d left the videos split between the courses)" % (kills, mixed))
    check("at least one ingest was killed mid-run (%d kills, %d left videos in both courses)" % (kills, mixed),
          kills > 0)


checks.run(main)
