#!/usr/bin/python3
"""test_annotate.py - `aularag annotate` and `aularag report` over a scripted eval run
(tests/llm_server.py): report with no annotations reproduces the eval's files byte for byte; the
JSON API (items, one item, labels, 400/404/405); blind until done; the append-only store (one line
per label, undo as a retraction, a line cut by a crash skipped); two clients and two processes
posting at once lose nothing; a re-run that changes an answer makes its old label stale (shown, not
used); `report` takes the majority, lists ties, and its Cohen / Fleiss / Krippendorff numbers match
scikit-learn and a direct computation here."""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading

ROOT = os.environ.get("AULARAG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AR = os.environ.get("AULARAG_BIN") or os.path.join(ROOT, "aularag")
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llm_server import LLMServer  # noqa: E402

import checks  # noqa: E402
from checks import check  # noqa: E402

VTT_A = """WEBVTT

00:00:01.000 --> 00:00:20.000
Hoje vamos falar de placas de vídeo no TensorFlow.

00:00:20.000 --> 00:00:42.500
A função list_physical_devices lista as GPUs disponíveis na máquina.
"""
VTT_B = """WEBVTT

00:00:03.000 --> 00:00:30.000
O tf.data monta pipelines de dados.

00:00:30.000 --> 00:01:05.900
O prefetch sobrepõe o preparo dos dados e o treino do modelo.
"""
QUESTIONS = [
    {"id": 1, "question": "Como listar as GPUs disponíveis?", "manual": "C",
     "reference_answer": "Com tf.config.list_physical_devices('GPU')."},
    {"id": 2, "question": "Para que serve o prefetch?", "manual": "P"},
    {"id": "q3", "question": "O que é uma TPU?", "manual": "I"},
    {"id": 4, "question": "O que o tf.data monta?", "manual": "c"},  # as written: report must not rewrite it as "C"
    {"id": 5, "question": "Como falar de placas de vídeo?"},
    {"id": 6, "question": "O que sobrepõe o treino?", "manual": "P"},
]
IDS = [str(q["id"]) for q in QUESTIONS]


def env():
    return {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_LLM", "AULARAG_JUDGE", "OPENAI"))}


def run(args, **kw):
    return subprocess.run([AR] + args, capture_output=True, text=True, env=env(), timeout=120, **kw)


def script(changed_q2=False):
    r = [{"match": "QUESTION: %s\n\nLECTURE EXCERPTS" % q["question"], "times": 0,
          "content": "Label: %s" % "CPI"[i % 3]} for i, q in enumerate(QUESTIONS)]
    r.append({"match": "PROMPT:", "times": 0, "content": "Criteria: c\nSupporting Evidence: e\nScore: 2"})
    if changed_q2:
        r.append({"match": "Pergunta: " + QUESTIONS[1]["question"], "times": 0, "content": "Outra resposta, mudada [1]."})
    r.append({"match": "Pergunta: ", "times": 0, "content": "Resposta de teste [1]."})
    return {"replies": r, "default": {"status": 500}}


def read(path, mode="r"):
    with open(path, mode, **({} if "b" in mode else {"encoding": "utf-8"})) as f:
        return f.read()


def lines(path):
    """The records of an annotations file; a line cut by a (simulated) crash is skipped, as aularag does."""
    out = []
    for x in read(path).splitlines():
        try:
            out.append(json.loads(x))
        except ValueError:
            pass
    return out


def eval_run(ix, qpath, out, srv):
    return run(["eval", "-i", ix, "--questions", qpath, "--out", out, "--llm-url", srv.url, "--llm-model", "m",
                "--no-context", "--no-groundedness", "--bootstrap", "300", "--retries", "0", "--no-cache", "--quiet"])


def fleiss(rows, k):
    full = [r for r in rows if all(x is not None for x in r)]
    if not full:
        return None
    m, n = len(full[0]), len(full)
    cnt = [[r.count(c) for c in range(k)] for r in full]
    pbar = sum((sum(x * x for x in c) - m) / (m * (m - 1)) for c in cnt) / n
    pe = sum((sum(c[j] for c in cnt) / (n * m)) ** 2 for j in range(k))
    return (pbar - pe) / (1 - pe)


def alpha_ordinal(rows, k):
    units = [[x for x in r if x is not None] for r in rows]
    units = [u for u in units if len(u) >= 2]
    vals = [x for u in units for x in u]
    fr = {c: vals.count(c) for c in range(k)}

    def d(a, b):
        if a == b:
            return 0.0
        lo, hi = min(a, b), max(a, b)
        return (sum(fr[g] for g in range(lo, hi + 1)) - (fr[a] + fr[b]) / 2) ** 2
    do = sum(sum(d(a, b) for i, a in enumerate(u) for j, b in enumerate(u) if i != j) / (len(u) - 1) for u in units)
    de = sum(d(a, b) for i, a in enumerate(vals) for j, b in enumerate(vals) if i != j)
    return 1 - (len(vals) - 1) * do / de


def main():
    tmp = tempfile.mkdtemp(prefix="aularag-annotate-")
    for name, text in (("a.vtt", VTT_A), ("b.vtt", VTT_B)):
        with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(tmp, "manifest.csv"), "w", encoding="utf-8") as f:
        f.write("file,video_id,title,url\na.vtt,aula-gpu,Aula GPU,https://www.youtube.com/watch?v=gpu123\n"
                "b.vtt,aula-dados,Aula Dados,https://example.org/dados.mp4\n")
    qpath = os.path.join(tmp, "questions.jsonl")
    with open(qpath, "w", encoding="utf-8") as f:
        for q in QUESTIONS:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    ix = os.path.join(tmp, "ix.db")
    r = run(["ingest", "-q", "-i", ix, "--manifest", os.path.join(tmp, "manifest.csv"), tmp])
    if not check("ingest the fixture", r.returncode == 0, r.stderr):
        return
    out = os.path.join(tmp, "run")
    with LLMServer(script()) as srv:
        r = eval_run(ix, qpath, out, srv)
    if not check("eval exits 0", r.returncode == 0, r.stderr + r.stdout):
        return

    # 1. no annotations: report writes exactly what eval wrote
    before = {n: read(os.path.join(out, n), "rb") for n in ("report.md", "report.json", "report.html")}
    r = run(["report", out])
    check("report exits 0", r.returncode == 0, r.stderr)
    for n, data in before.items():
        check("no annotations: %s byte for byte as eval wrote it" % n, read(os.path.join(out, n), "rb") == data)
    rep = json.loads(before["report.json"])
    auto = {it["id"]: it["automated_label"]["label"] for it in rep["items"]}
    check("the fixture has automated labels", all(auto[i] for i in IDS), auto)

    # 2. the API
    env_a = env()
    ana = checks.Server(AR, None, "--run", out, "--annotator", "ana", env=env_a, command="annotate")
    try:
        st, _, d = ana.json("GET", "/api/items")
        check("GET /api/items", st == 200 and d["total"] == 6 and d["done"] == 0 and d["labels"] == ["C", "P", "I"], d)
        check("items in the run's order", [it["id"] for it in d["items"]] == IDS, d)
        check("blind at first", d["blind"] is True, d)
        st, _, it = ana.json("GET", "/api/items/1")
        check("GET /api/items/1: question, answer, references, segments, reference answer",
              st == 200 and it["question"] == QUESTIONS[0]["question"] and it["answer"] and it["references"]
              and it["segments"] and it["reference_answer"] == QUESTIONS[0]["reference_answer"], it)
        check("blind: no automated label, AR or other annotators",
              not any(k in it for k in ("automated_label", "answer_relevance", "others")), sorted(it))
        check("a reference carries its start second and URL", it["references"][0]["url"].startswith("https://")
              and isinstance(it["references"][0]["start"], float), it["references"])
        carla = checks.Server(AR, None, "--run", out, "--annotator", "carla", "--show-judge", env=env_a, command="annotate")
        try:
            st, _, d = carla.json("GET", "/api/items")
            st2, _, it2 = carla.json("GET", "/api/items/2")
            check("--show-judge: not blind, automated label and AR shown before any label",
                  d["blind"] is False and it2["automated_label"] == auto["2"] and it2["answer_relevance"] is not None
                  and it2["others"].get("question-set") == "P", (d["blind"], it2))
        finally:
            carla.stop()
        st, _, _ = ana.json("GET", "/api/items/nope")
        check("unknown item: 404", st == 404)
        for body, what in (({"id": "1", "label": "X"}, "label outside the set"), ({"id": "99", "label": "C"}, "unknown id"),
                           ({"id": "1"}, "no label"), ('{"id": ', "not JSON"), ({"id": "1", "label": "C", "note": 3}, "note not a string")):
            st, _, e = ana.json("POST", "/api/label", body)
            check("POST /api/label with %s: 400" % what, st == 400 and "error" in e, (st, e))
        st, hd, _ = ana.request("GET", "/api/label")
        check("GET /api/label: 405 with Allow: POST", st == 405 and hd.get("allow") == "POST", (st, hd))
        st, hd, _ = ana.request("POST", "/api/items", "{}")
        check("POST /api/items: 405 with Allow", st == 405 and "GET" in hd.get("allow", ""), (st, hd))
        path = os.path.join(out, "annotations", "ana.jsonl")
        check("nothing stored by refused labels", not os.path.exists(path) or not read(path).strip())

        st, _, d = ana.json("POST", "/api/label", {"id": "1", "label": "c", "note": "certa"})
        check("POST a label (case-insensitive)", st == 200 and d["label"] == "C" and d["done"] == 1, d)
        rec = lines(path)
        check("one line per label with id, label, note, annotator, time, answer_sha256",
              len(rec) == 1 and rec[0]["id"] == "1" and rec[0]["label"] == "C" and rec[0]["note"] == "certa"
              and rec[0]["annotator"] == "ana" and rec[0]["time"].endswith("Z") and len(rec[0]["answer_sha256"]) == 64, rec)
        import hashlib
        check("answer_sha256 is the sha256 of the answer text",
              rec[0]["answer_sha256"] == hashlib.sha256(rep["items"][0]["answer"].encode()).hexdigest())
        st, _, d = ana.json("POST", "/api/label", {"id": "1", "label": None})
        check("undo: label null", st == 200 and d["label"] is None and d["done"] == 0, d)
        rec = lines(path)
        check("undo is an appended retraction", len(rec) == 2 and rec[1].get("retract") is True, rec)
        # a line cut by a crash: skipped, and the next label still lands on its own line
        with open(path, "a", encoding="utf-8") as f:
            f.write('{"id": "2", "label": "P", "no')
        st, _, d = ana.json("POST", "/api/label", {"id": "2", "label": "I"})
        check("a label after a cut line is stored", st == 200 and d["label"] == "I", d)
        st, _, d = ana.json("GET", "/api/items")
        check("the cut line is ignored; the next one reads", d["items"][1]["label"] == "I" and d["done"] == 1, d)

        # 3. concurrency: two clients of one server and a second process for the same annotator
        ana2 = checks.Server(AR, None, "--run", out, "--annotator", "ana", env=env_a, command="annotate")
        bruno = checks.Server(AR, None, "--run", out, "--annotator", "bruno", env=env_a, command="annotate")
        errors = []
        n_rounds = 15

        def poster(srv, tag):
            for k in range(n_rounds):
                for i in IDS:
                    st, _, e = srv.json("POST", "/api/label", {"id": i, "label": "CPI"[k % 3], "note": "%s-%d" % (tag, k)})
                    if st != 200:
                        errors.append((tag, st, e))
        try:
            n_before = len(read(path).splitlines())
            th = [threading.Thread(target=poster, args=a) for a in ((ana, "a1"), (ana, "a2"), (ana2, "a3"), (bruno, "b"))]
            for t in th:
                t.start()
            for t in th:
                t.join()
            check("concurrent posts all answered 200", not errors, errors[:3])
            raw = read(path).splitlines()
            good = []
            for x in raw[n_before:]:
                try:
                    good.append(json.loads(x))
                except ValueError:
                    pass
            want = 3 * n_rounds * len(IDS)
            check("no label lost or torn: %d whole lines from 3 writers" % want, len(good) == want == len(raw) - n_before,
                  (len(good), want, len(raw) - n_before))
            for tag in ("a1", "a2", "a3"):
                got = sum(1 for g in good if g["note"].startswith(tag + "-"))
                check("every label of %s is there" % tag, got == n_rounds * len(IDS), got)
            check("bruno's file has his labels", len(lines(os.path.join(out, "annotations", "bruno.jsonl"))) == n_rounds * len(IDS))
            # the last line per id wins: the state the server reports equals the file's last lines
            last = {}
            for g in lines(path):
                if g.get("id") in IDS:
                    last[g["id"]] = None if g.get("retract") else g["label"]
            st, _, d = ana2.json("GET", "/api/items")
            check("last line per id wins", {it["id"]: it["label"] for it in d["items"]} == last, (d["items"], last))
            check("everything labelled: no longer blind", d["done"] == 6 and d["blind"] is False, d)
            st, _, it = ana2.json("GET", "/api/items/2")
            check("after the last label: automated label, AR, others shown",
                  it["automated_label"] == auto["2"] and it["answer_relevance"] is not None
                  and it["others"].get("bruno") in ("C", "P", "I") and it["others"].get("question-set") == "P", it)
        finally:
            ana2.stop()
            bruno.stop()
    finally:
        ana.stop()

    # 4. report with question-set + ana + bruno: majority, ties, Fleiss and alpha
    # fixed final labels (appended through the store's own format by one more server run)
    final = {"ana": dict(zip(IDS, "CPIPCI")), "bruno": dict(zip(IDS, "CPPICC"))}
    for who, labs in final.items():
        s = checks.Server(AR, None, "--run", out, "--annotator", who, env=env_a, command="annotate")
        try:
            for i, l in labs.items():
                s.json("POST", "/api/label", {"id": i, "label": l, "note": ""})
        finally:
            s.stop()
    r = run(["report", out])
    check("report with annotations exits 0", r.returncode == 0, r.stderr)
    rep2 = json.loads(read(os.path.join(out, "report.json")))
    qs = {str(q["id"]): q.get("manual") and q["manual"].upper() for q in QUESTIONS}
    order = ["C", "P", "I"]
    rows, want_manual, want_ties = [], {}, []
    for i in IDS:
        votes = [qs[i], final["ana"][i], final["bruno"][i]]
        rows.append([order.index(v) if v else None for v in votes])
        cnt = {l: votes.count(l) for l in order if votes.count(l)}
        top = max(cnt.values())
        win = [l for l in order if cnt.get(l) == top]
        if len(win) == 1:
            want_manual[i] = win[0]
        else:
            want_manual[i] = "empate (%s)" % "/".join(win)
            want_ties.append(i)
    got_manual = {it["id"]: it["manual"] for it in rep2["items"]}
    check("manual label = the majority of question-set, ana, bruno", got_manual == want_manual, (got_manual, want_manual))
    ia = rep2["summary"]["inter_annotator"]
    check("ties listed", ia["ties"] == want_ties and want_ties, (ia["ties"], want_ties))
    check("three raters", ia["raters"] == 3 and [a["name"] for a in ia["annotators"]] == ["question-set", "ana", "bruno"], ia)
    fk = fleiss(rows, 3)
    al = alpha_ordinal(rows, 3)
    check("Fleiss' kappa as computed here", abs(ia["fleiss_kappa"]["value"] - fk) < 1e-9 and ia["fleiss_kappa"]["n"] == 5,
          (ia["fleiss_kappa"], fk))
    check("Krippendorff's alpha (ordinal) as computed here", abs(ia["krippendorff_alpha_ordinal"]["value"] - al) < 1e-9,
          (ia["krippendorff_alpha_ordinal"], al))
    ci = ia["krippendorff_alpha_ordinal"]["ci95"]
    check("alpha has a bootstrap interval", ci and ci[0] <= ci[1], ia)
    md = read(os.path.join(out, "report.md"))
    for i in IDS:
        check("report.md shows question %s's manual label" % i, "**Pergunta %s**" % i in md and
              md.split("**Pergunta %s**" % i)[1].split("**Anotação manual**: ")[1].split("\n")[0] == want_manual[i])
    # manual x automated agreement now uses the majority labels (ties left out)
    pairs = [(want_manual[i], auto[i]) for i in IDS if i not in want_ties]
    acc = sum(a == b for a, b in pairs) / len(pairs)
    check("manual-vs-automated accuracy over the majority labels", abs(rep2["summary"]["agreement"]["accuracy"]["value"] - acc) < 1e-12
          and rep2["summary"]["agreement"]["n"] == len(pairs), (rep2["summary"]["agreement"]["accuracy"], acc))
    html = read(os.path.join(out, "report.html"))
    check("report.html has the agreement section with Fleiss and alpha",
          "Concordância entre anotadores" in html and "κ de Fleiss" in html and "α de Krippendorff" in html)
    check("report.html links the ties", all("href='#q-%s'" % t in html.split("Empates")[1].split("</p>")[0] for t in want_ties))
    check("stdout summary names the annotators and Fleiss", "annotators (3): question-set, ana, bruno" in r.stdout
          and "Fleiss' kappa" in r.stdout, r.stdout)
    first = {n: read(os.path.join(out, n)) for n in ("report.md", "report.json", "report.html")}
    check("report twice gives the same files", run(["report", out]).returncode == 0
          and all(read(os.path.join(out, n)) == t for n, t in first.items()))
    rep2b = json.loads(read(os.path.join(out, "report.json")))
    check("report twice: the question file's labels are kept aside, not replaced by the majority",
          [it["manual_question_set"] for it in rep2b["items"]] == [q.get("manual") for q in QUESTIONS], rep2b["items"][0])

    # 5. two raters only (question-set + bruno): Cohen's kappa vs scikit-learn
    os.rename(os.path.join(out, "annotations", "ana.jsonl"), os.path.join(tmp, "ana.jsonl"))
    r = run(["report", out])
    ia = json.loads(read(os.path.join(out, "report.json")))["summary"]["inter_annotator"]
    from sklearn.metrics import cohen_kappa_score
    pa = [(qs[i], final["bruno"][i]) for i in IDS if qs[i]]
    ck = cohen_kappa_score([a for a, b in pa], [b for a, b in pa], labels=order)
    check("two raters: Cohen's kappa equals scikit-learn's", r.returncode == 0 and abs(ia["cohen_kappa"]["value"] - ck) < 1e-9
          and ia["cohen_kappa"]["n"] == len(pa) and "fleiss_kappa" not in ia, (ia, ck))
    os.rename(os.path.join(tmp, "ana.jsonl"), os.path.join(out, "annotations", "ana.jsonl"))

    # 6. a re-run changes question 2's answer: ana's old label is stale, shown and not used
    with LLMServer(script(changed_q2=True)) as srv:
        r = eval_run(ix, qpath, out, srv)
    check("re-run exits 0", r.returncode == 0, r.stderr)
    rep3 = json.loads(read(os.path.join(out, "report.json")))
    check("the re-run changed answer 2", rep3["items"][1]["answer"] != rep["items"][1]["answer"], rep3["items"][1]["answer"])
    ana = checks.Server(AR, None, "--run", out, "--annotator", "ana", env=env_a, command="annotate")
    try:
        st, _, it = ana.json("GET", "/api/items/2")
        check("stale label shown as stale", it["stale"] is True and it["stale_label"] == final["ana"]["2"] and it["label"] is None, it)
        st, _, d = ana.json("GET", "/api/items")
        check("stale label not counted; blind again until relabelled", d["done"] == 5 and d["stale"] == 1 and d["blind"] is True
              and d["next_unlabelled"] == "2", d)
    finally:
        ana.stop()
    r = run(["report", out])
    rep4 = json.loads(read(os.path.join(out, "report.json")))
    it2 = rep4["items"][1]
    check("report: ana's stale label kept visible but not used", it2["annotations"]["ana"]["stale"] is True
          and it2["annotations"]["ana"]["label"] is None and it2["annotations"]["ana"]["stale_label"] == final["ana"]["2"], it2)
    votes = [qs["2"], final["bruno"]["2"]]
    check("report: question 2's manual label from the other two", it2["manual"] == (votes[0] if votes[0] == votes[1] else
          "empate (%s)" % "/".join(l for l in order if l in votes)), it2["manual"])
    check("stdout mentions the stale label", "1 stale label" in r.stdout, r.stdout)

    # 7. usage and failures
    r = run(["annotate", "--annotator", "x"])
    check("annotate without --run: exit 2", r.returncode == 2, r.stderr)
    r = run(["annotate", "--run", out, "--annotator", "../evil", "--port", "0"])
    check("annotator name with a slash: exit 2", r.returncode == 2 and "annotator" in r.stderr, r.stderr)
    r = run(["annotate", "--run", out, "--annotator", "question-set", "--port", "0"])
    check("annotator named question-set is refused", r.returncode == 2, r.stderr)
    r = run(["annotate", "--run", os.path.join(tmp, "nothing"), "--annotator", "x", "--port", "0"])
    check("annotate of a folder without report.json: exit 1 naming the file", r.returncode == 1 and "report.json" in r.stderr,
          r.stderr)
    r = run(["report", os.path.join(tmp, "nothing")])
    check("report of a folder without report.json: exit 1 naming the file", r.returncode == 1 and "report.json" in r.stderr, r.stderr)
    r = run(["report"])
    check("report without DIR: exit 2", r.returncode == 2, r.stderr)
    shutil.rmtree(tmp, ignore_errors=True)


checks.run(main)
