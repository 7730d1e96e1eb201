#!/usr/bin/python3
"""test_abstention.py - `aularag eval` on a question set with "answerable": false items, against
tests/llm_server.py: the abstention judge's own prompt, its labels in report.json, the correct and
wrong abstention rates with bootstrap intervals in report.json, report.html, report.md and the
summary; Answer Relevance's prompt scoring a refusal 0 and the report carrying that 0; a bad
"answerable" value names file and line."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("AULARAG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AR = os.environ.get("AULARAG_BIN") or os.path.join(ROOT, "aularag")
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.dirname(__file__))
import checks  # noqa: E402
from checks import check  # noqa: E402
from llm_server import LLMServer  # noqa: E402

VTT = """WEBVTT

00:00:01.000 --> 00:00:20.000
Hoje vamos falar de placas de vídeo no TensorFlow.

00:00:20.000 --> 00:00:42.500
A função list_physical_devices lista as GPUs disponíveis na máquina.
"""
QUESTIONS = [
    {"id": 1, "question": "Como listar as GPUs disponíveis?", "answerable": True,
     "gold": [{"video_id": "aula-gpu", "start": 20, "end": 40}]},
    {"id": 2, "question": "O que é uma TPU?", "answerable": False},
    {"id": 3, "question": "Quem ganhou a copa do mundo de 2002?", "answerable": False},
]
Q = [q["question"] for q in QUESTIONS]
ANSWERS = ["Use tf.config.list_physical_devices('GPU') [1].",
           "As aulas não tratam desse assunto.",
           "O Brasil ganhou [1]."]  # an unanswerable question answered anyway: not an abstention
LABELS = ["ANSWERS", "ABSTAINS", "ANSWERS"]


def script():
    r = []
    for q, a, lab in zip(Q, ANSWERS, LABELS):
        # judges first: their prompts contain the question too
        r.append({"match": "QUESTION: %s\n\nANSWER: " % q, "times": 0, "content": "Reason.\nLabel: " + lab})
        r.append({"match": "PROMPT: " + q, "times": 0,
                  "content": "Criteria: c\nSupporting Evidence: e\nScore: %d" % (0 if lab == "ABSTAINS" else 3)})
    for q, a in zip(Q, ANSWERS):
        r.append({"match": "Pergunta: " + q, "times": 0, "content": a})
    return {"replies": r, "default": {"content": "Criteria: c\nSupporting Evidence: e\nScore: 2\nLabel: C"}}


def run(args):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_LLM", "AULARAG_JUDGE", "OPENAI"))}
    return subprocess.run([AR] + args, capture_output=True, text=True, env=e, timeout=120)


def main():
    tmp = tempfile.mkdtemp(prefix="aularag-abst-")
    with open(os.path.join(tmp, "a.vtt"), "w", encoding="utf-8") as f:
        f.write(VTT)
    with open(os.path.join(tmp, "manifest.csv"), "w", encoding="utf-8") as f:
        f.write("file,video_id,title,url\na.vtt,aula-gpu,Aula GPU,https://www.youtube.com/watch?v=gpu123\n")
    qpath = os.path.join(tmp, "q.jsonl")
    with open(qpath, "w", encoding="utf-8") as f:
        for q in QUESTIONS:
            f.write(json.dumps(q, ensure_ascii=False) + "\n")
    ix = os.path.join(tmp, "ix.db")
    r = run(["ingest", "-i", ix, "--manifest", os.path.join(tmp, "manifest.csv")])
    check("ingest the fixture", r.returncode == 0, r.stderr)
    out = os.path.join(tmp, "out")
    with LLMServer(script()) as srv:
        r = run(["eval", "-i", ix, "--questions", qpath, "--out", out, "--llm-url", srv.url, "--llm-model", "m",
                 "--bootstrap", "200", "--retries", "0", "--no-cache"])
        reqs = srv.requests()
    check("eval exits 0", r.returncode == 0, r.stderr + r.stdout)
    if r.returncode != 0:
        return
    rep = json.load(open(os.path.join(out, "report.json"), encoding="utf-8"))
    items = rep["items"]
    check("items say whether they are answerable", [it["answerable"] for it in items] == [True, False, False])
    check("abstention judged per question, label from the judge's reply",
          [it["abstention"]["label"] for it in items] == LABELS, [it["abstention"] for it in items])
    # the abstention prompt is its own, one per question, and the answer alone is not what decides it
    abst = [q for q in reqs if "\n\nANSWER: " in q["body"]["messages"][-1]["content"]
            and "STUDENT ANSWER" not in q["body"]["messages"][-1]["content"]]
    check("one abstention request per question", len(abst) == 3, len(abst))
    check("abstention prompt asks for ABSTAINS/ANSWERS",
          all("Label: <ABSTAINS or ANSWERS>" in q["body"]["messages"][0]["content"] for q in abst))
    ar_sys = [q["body"]["messages"][0]["content"] for q in reqs if "RESPONSE: " in q["body"]["messages"][-1]["content"]]
    check("AR prompt states that 'I don't know' / not covered scores 0",
          ar_sys and all("\"I don't know\"" in s and "declines to answer gets 0" in s for s in ar_sys), ar_sys[:1])
    check("the refusal's AR 0 is carried", items[1]["answer_relevance"]["score"] == 0
          and items[1]["answer_relevance"]["normalized"] == 0.0, items[1]["answer_relevance"])
    s = rep["summary"]["abstention"]
    check("summary counts", s["unanswerable"] == 2 and s["answerable"] == 1 and s["judged_unanswerable"] == 2
          and s["judged_answerable"] == 1, s)
    check("correct abstention rate = 1 of 2, with an interval around it",
          s["correct_abstention_rate"]["value"] == 0.5 and s["correct_abstention_rate"]["ci95"][0] <= 0.5
          <= s["correct_abstention_rate"]["ci95"][1], s)
    check("wrong abstention rate = 0 of 1", s["wrong_abstention_rate"]["value"] == 0.0, s)
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    check("report.md: per-question abstention line",
          "**Abstenção (pergunta sem resposta nas aulas)**: sim" in md
          and "**Abstenção (pergunta com resposta nas aulas)**: não" in md, md[-800:])
    check("report.md: the statistics block", "## Abstenção" in md and
          "Abstenção correta (perguntas sem resposta nas aulas): 0.500" in md, md[-600:])
    html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
    check("report.html: the two rates", "Abstenção correta" in html and "Abstenção indevida" in html)
    check("summary on stdout", "correct abstention (unanswerable) 0.500" in r.stdout
          and "wrong abstention (answerable)" in r.stdout, r.stdout)

    # a bad value names the file and line
    bad = os.path.join(tmp, "bad.jsonl")
    with open(bad, "w", encoding="utf-8") as f:
        f.write('{"id": 1, "question": "a?"}\n{"id": 2, "question": "b?", "answerable": "no"}\n')
    r = run(["eval", "-i", ix, "--questions", bad, "--out", os.path.join(tmp, "o2")])
    check("\"answerable\" must be a boolean, file and line named",
          r.returncode == 1 and "bad.jsonl:2" in r.stderr and "answerable" in r.stderr, r.stderr)
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    checks.run(main)
