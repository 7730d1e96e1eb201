#!/usr/bin/python3
"""test_eval.py - `aularag eval` end to end against tests/llm_server.py (scripted answers and judge
replies, malformed ones included): the golden report.md byte for byte (tests/golden/eval_small.md,
written by hand from the seed's format), report.json, the judge on its own model, the cache making a
re-run free and identical, --hide-urls, resuming an interrupted run, no LLM at all, usage errors."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("AULARAG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AR = os.environ.get("AULARAG_BIN") or os.path.join(ROOT, "aularag")
sys.path.insert(0, os.path.join(ROOT, "tests"))
from llm_server import LLMServer  # noqa: E402

import checks  # noqa: E402
from checks import check  # noqa: E402


def env():
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_LLM", "AULARAG_JUDGE", "OPENAI"))}
    return e


def run(args, extra_env=None, **kw):
    e = env()
    e.update(extra_env or {})
    return subprocess.run([AR] + args, capture_output=True, text=True, env=e, timeout=120, **kw)


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
     "gold": [{"video_id": "aula-gpu", "start": 20, "end": 40}]},
    {"id": 2, "question": "Para que serve o prefetch?", "manual": "P",
     "gold": [{"video_id": "aula-dados", "start": 30, "end": 60}]},
    {"id": "q3", "question": "O que é uma TPU?"},
]
Q = [q["question"] for q in QUESTIONS]


def script(delay_q3=0):
    r = [
        # judges first: their prompts contain the question too, so they must win over the answers
        {"match": "PROMPT: " + Q[0], "times": 0, "content": "Criteria: The RESPONSE must say how to list the GPUs.\n"
         "Supporting Evidence: It names the function that lists them.\n\nScore: 3"},
        {"match": "PROMPT: " + Q[1], "times": 0, "content": "Criteria: Relevance.\nSupporting Evidence: Fine.\nScore: 0 to 3"},
        {"match": "PROMPT: " + Q[2], "times": 0, "content": "Criteria: Relevance.\nSupporting Evidence: It abstains.\n\nScore: 1"},
        {"match": "QUESTION: %s\n\nLECTURE EXCERPTS" % Q[0], "times": 0, "content": "Right.\nLabel: C"},
        {"match": "QUESTION: %s\n\nLECTURE EXCERPTS" % Q[1], "times": 0, "content": "Incomplete.\nLabel: P"},
        {"match": "QUESTION: %s\n\nLECTURE EXCERPTS" % Q[2], "times": 0, "content": "I think it is partially correct."},
        {"match": "SEARCH RESULT:", "times": 0, "content": "Criteria: c\nSupporting Evidence: e\nScore: 2"},
        {"match": "STATEMENT:", "times": 0, "content": "Criteria: c\nSupporting Evidence: e\nScore: 3"},
        {"match": "Pergunta: " + Q[0], "times": 0, "content": "Use tf.config.list_physical_devices('GPU') [1]."},
        {"match": "Pergunta: " + Q[1], "times": 0, "content": "O prefetch sobrepõe o preparo dos dados e o treino [1]."},
        {"match": "Pergunta: " + Q[2], "times": 0, "content": "As aulas não tratam desse assunto.", "delay_s": delay_q3},
    ]
    return {"replies": r, "default": {"status": 500}}


def golden(report_json, hide=False):
    with open(os.path.join(ROOT, "tests", "golden", "eval_small.md"), encoding="utf-8") as f:
        g = f.read()
    items = report_json["items"]
    for qi, it in enumerate(items):
        for si, seg in enumerate(it["segments"]):
            # "full float precision" = the shortest text that reads back as the same double (Python's repr)
            g = g.replace("{score:%s:%d}" % (it["id"], si + 1), repr(float(seg["score"])))
    if hide:
        out = []
        for line in g.split("\n"):
            if line.startswith("- *URL:* "):
                line = "- *URL:* oculto"
            elif line.startswith("- [") and "](" in line:
                line = "- [Vídeo de referência oculto]()"
            out.append(line)
        g = "\n".join(out)
    return g


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def main():
    tmp = tempfile.mkdtemp(prefix="aularag-eval-")
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
    r = run(["ingest", "-i", ix, "--manifest", os.path.join(tmp, "manifest.csv"),
             os.path.join(tmp, "a.vtt"), os.path.join(tmp, "b.vtt")])
    check("ingest the fixture", r.returncode == 0, r.stderr)

    # 1. the golden report, the JSON, the judge on its own model
    out1 = os.path.join(tmp, "out1")
    srv = LLMServer(script()).__enter__()  # one endpoint for runs 1 and 2: the cache key names the endpoint
    r = run(["eval", "-i", ix, "--questions", qpath, "--out", out1, "--llm-url", srv.url, "--llm-model",
             "respondedor", "--judge-model", "juiz", "--concurrency", "2", "--bootstrap", "200", "--retries", "0"])
    reqs = srv.requests()
    check("eval exits 0", r.returncode == 0, r.stderr + r.stdout)
    if r.returncode != 0:
        return
    rep = json.loads(read(os.path.join(out1, "report.json")))
    md = read(os.path.join(out1, "report.md"))
    g = golden(rep)
    check("report.md equals the golden file byte for byte", md == g,
          "\n--- got ---\n%s\n--- expected ---\n%s" % (md, g))
    items = rep["items"]
    check("items in question order", [it["id"] for it in items] == ["1", "2", "q3"])
    check("AR failed on a scale statement, raw reply kept",
          items[1]["answer_relevance"]["status"] == "failed" and items[1]["answer_relevance"]["score"] is None
          and "0 to 3" in items[1]["answer_relevance"]["raw"])
    check("label without a Label line is failed", items[2]["automated_label"]["status"] == "failed"
          and items[2]["automated_label"]["label"] is None)
    check("context relevance judged per segment", len(items[0]["context_relevance"]) == 1
          and abs(items[0]["context_relevance_mean"] - 2 / 3) < 1e-9)
    check("groundedness judged per sentence", len(items[0]["groundedness"]) == 1
          and items[0]["groundedness_mean"] == 1.0 and items[0]["groundedness"][0]["statement"].startswith("Use tf.config"))
    s = rep["summary"]
    check("agreement over the questions with both labels", s["agreement"]["n"] == 2
          and s["agreement"]["accuracy"]["value"] == 1.0, json.dumps(s["agreement"]))
    check("confusion matrix", s["agreement"]["confusion_manual_x_automated"] == [[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    check("AR counts", s["answer_relevance"]["ok"] == 2 and s["answer_relevance"]["failed"] == 1)
    check("mean AR over the parsable ones only", abs(s["answer_relevance"]["mean"]["value"] - (1 + 1 / 3) / 2) < 1e-9)
    rt = s["retrieval"]
    check("retrieval metrics from gold spans", rt["questions_with_gold"] == 2 and rt["overlap"]["hit@1"] == 1.0
          and rt["overlap"]["mrr@10"] == 1.0, json.dumps(rt))
    stages = sorted(f["stage"] for f in s["failures"])
    check("every failure listed", stages == ["answer_relevance", "automated_label"], json.dumps(s["failures"]))
    models = {}
    for q in reqs:
        body = q["body"]
        user = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        kind = "answer" if "Pergunta: " in user else "judge"
        models.setdefault(kind, set()).add(body["model"])
    check("answers on the answering model, judges on the judge model",
          models.get("answer") == {"respondedor"} and models.get("judge") == {"juiz"}, repr(models))
    check("no unexpected request", all(q["reply"] != "default" for q in reqs))
    # 3 answers + 3 AR + 3 labels + 2 context (q3 has no segment) + 3 groundedness (one sentence each)
    check("request count", len(reqs) == 14, str(len(reqs)))
    check("summary on stdout", "3 questions" in r.stdout and "question 2: answer relevance" in r.stdout, r.stdout)
    html = read(os.path.join(out1, "report.html"))
    check("html self-contained with charts and links", "<svg" in html and "<script" not in html
          and "href='https://www.youtube.com/watch?v=gpu123&amp;t=1'" in html)
    check("journal removed after a complete run", not os.path.exists(os.path.join(out1, "progress.jsonl")))

    # 2. a re-run is free (every call from the cache in the index) and identical
    out2 = os.path.join(tmp, "out2")
    n1 = len(srv.requests())  # the log file keeps growing: count what this run adds
    r = run(["eval", "-i", ix, "--questions", qpath, "--out", out2, "--llm-url", srv.url, "--llm-model",
             "respondedor", "--judge-model", "juiz", "--concurrency", "3", "--bootstrap", "200"])
    n2 = len(srv.requests()) - n1
    srv.stop()
    check("re-run exits 0", r.returncode == 0, r.stderr)
    check("re-run makes no request", n2 == 0, str(n2))
    check("re-run gives the same report.md", os.path.exists(os.path.join(out2, "report.md"))
          and read(os.path.join(out2, "report.md")) == md)

    # 3. --hide-urls as in the seed
    out3 = os.path.join(tmp, "out3")
    with LLMServer(script()) as srv, LLMServer(script()) as jsrv:
        # the judge from the environment: its own endpoint and model
        r = run(["eval", "-i", ix, "--questions", qpath, "--out", out3, "--llm-url", srv.url, "--llm-model",
                 "respondedor", "--hide-urls", "--no-cache"],
                extra_env={"AULARAG_JUDGE_URL": jsrv.url, "AULARAG_JUDGE_MODEL": "juiz-env"})
        a_models = {q["body"]["model"] for q in srv.requests()}
        j_models = {q["body"]["model"] for q in jsrv.requests()}
        n_a, n_j = len(srv.requests()), len(jsrv.requests())
    check("hide-urls exits 0", r.returncode == 0, r.stderr)
    check("judge endpoint and model from the environment", a_models == {"respondedor"} and n_a == 3
          and j_models == {"juiz-env"} and n_j == 11, "%r %d %r %d" % (a_models, n_a, j_models, n_j))
    if r.returncode == 0:
        md3 = read(os.path.join(out3, "report.md"))
        check("hide-urls report", md3 == golden(rep, hide=True), md3)
        check("hide-urls json has no URL", "gpu123" not in read(os.path.join(out3, "report.json")))

    # 4. an interrupted run resumes: kill it while q3 is waiting for its answer, then finish it
    out4 = os.path.join(tmp, "out4")
    with LLMServer(script(delay_q3=60)) as srv:
        p = subprocess.Popen([AR, "eval", "-i", ix, "--questions", qpath, "--out", out4, "--llm-url", srv.url,
                              "--llm-model", "respondedor", "--judge-model", "juiz", "--concurrency", "1",
                              "--no-cache"], env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        journal = os.path.join(out4, "progress.jsonl")
        deadline = time.time() + 30
        while time.time() < deadline:
            if os.path.exists(journal) and read(journal).count("\n") >= 3:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        p.send_signal(signal.SIGKILL)
        p.wait()
        check("interrupted run left a journal with 2 questions", os.path.exists(journal)
              and read(journal).count("\n") == 3 and not os.path.exists(os.path.join(out4, "report.md")))
        srv.set_script(script())
        n0 = len(srv.requests())
        r = run(["eval", "-i", ix, "--questions", qpath, "--out", out4, "--llm-url", srv.url, "--llm-model",
                 "respondedor", "--judge-model", "juiz", "--concurrency", "2", "--no-cache", "--bootstrap", "200"])
        reqs = srv.requests()[n0:]
    check("resumed run exits 0", r.returncode == 0, r.stderr)
    users = [[m for m in q["body"]["messages"] if m["role"] == "user"][-1]["content"] for q in reqs]
    check("resumed run asks only about the unfinished question", len(users) == 4 and all(Q[2] in u or "STATEMENT: As aulas" in u for u in users),
          repr(users))
    if r.returncode == 0:
        check("resumed report equals the golden file", read(os.path.join(out4, "report.md")) == g)
        check("resumed count in report.json", json.loads(read(os.path.join(out4, "report.json")))["run"]["resumed_items"] == 2)

    # 4b. --rpm paces every request across the workers (600/min: one per 0.1 s)
    out6 = os.path.join(tmp, "out6")
    with LLMServer(script()) as srv:
        r = run(["eval", "-i", ix, "--questions", qpath, "--out", out6, "--llm-url", srv.url, "--llm-model",
                 "respondedor", "--judge-model", "juiz", "--concurrency", "3", "--no-cache", "--rpm", "600",
                 "--bootstrap", "0"])
        ts = sorted(q["t"] for q in srv.requests())
    check("rpm run exits 0", r.returncode == 0, r.stderr)
    check("rpm spaces the requests", len(ts) == 14 and ts[-1] - ts[0] >= 13 * 0.1 * 0.9, "%d requests over %.3f s"
          % (len(ts), ts[-1] - ts[0] if ts else 0))

    # 4c. the answer call fails for one question: reported as failed, its segments kept, the run goes on
    out7 = os.path.join(tmp, "out7")
    sc = script()
    sc["replies"].insert(0, {"match": "Pergunta: " + Q[1], "times": 0, "status": 500})
    with LLMServer(sc) as srv:
        r = run(["eval", "-i", ix, "--questions", qpath, "--out", out7, "--llm-url", srv.url, "--llm-model",
                 "respondedor", "--judge-model", "juiz", "--no-cache", "--retries", "0", "--bootstrap", "0"])
    check("failed answer: run exits 0", r.returncode == 0, r.stderr)
    if r.returncode == 0:
        md7 = read(os.path.join(out7, "report.md"))
        b2 = md7[md7.index("**Pergunta 2**"):md7.index("**Pergunta q3**")]
        check("failed answer shown as failed, segments kept", "**Resposta gerada pelo LLM**: (falhou: " in b2
              and "- *Corpus ID:* 2\n" in b2 and "**Answer Relevance (AR)**: não avaliado" in b2, b2)
        s7 = json.loads(read(os.path.join(out7, "report.json")))["summary"]
        check("failed answer listed", s7["failed"] == 1 and any(f["stage"] == "answer" and f["id"] == "2"
                                                                 for f in s7["failures"]), json.dumps(s7["failures"]))
        check("failed question in the summary", "question 2: " in r.stdout and "1 failed" in r.stdout, r.stdout)

    # 5. no LLM at all: extractive answers, judges skipped and said so
    out5 = os.path.join(tmp, "out5")
    r = run(["eval", "-i", ix, "--questions", qpath, "--out", out5])
    check("no-LLM run exits 0", r.returncode == 0, r.stderr)
    if r.returncode == 0:
        md5 = read(os.path.join(out5, "report.md"))
        check("judges reported as skipped", md5.count("**Answer Relevance (AR)**: não avaliado") == 3
              and md5.count("**Anotação automatizada**: não avaliado") == 3)
        check("summary says judges skipped", "judges skipped" in r.stdout, r.stdout)

    # 6. errors
    r = run(["eval", "-i", ix, "--out", out5])
    check("missing --questions is a usage error", r.returncode == 2 and "--questions" in r.stderr, r.stderr)
    r = run(["eval", "-i", ix, "--questions", qpath, "--out", out5, "--concurrency", "0"])
    check("bad --concurrency is a usage error", r.returncode == 2, r.stderr)
    bad = os.path.join(tmp, "bad.jsonl")
    with open(bad, "w", encoding="utf-8") as f:
        f.write('{"id": 1, "question": "a?"}\n{"id": 2, "question": "b?", "manual": "X"}\n')
    r = run(["eval", "-i", ix, "--questions", bad, "--out", out5])
    check("unknown manual label names file and line", r.returncode == 1 and "bad.jsonl:2" in r.stderr, r.stderr)
    with open(bad, "w", encoding="utf-8") as f:
        f.write('{"id": 1, "question": "a?"}\n{"id": 2, "question": \n')
    r = run(["eval", "-i", ix, "--questions", bad, "--out", out5])
    check("malformed JSON line names file and line", r.returncode == 1 and "bad.jsonl:2" in r.stderr, r.stderr)
    r = run(["eval", "-i", os.path.join(tmp, "missing.db"), "--questions", qpath, "--out", out5])
    check("missing index fails", r.returncode == 1 and "missing.db" in r.stderr, r.stderr)
    r = run(["eval", "--help"])
    check("--help", r.returncode == 0 and "--judge-url" in r.stdout)
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    checks.run(main)
