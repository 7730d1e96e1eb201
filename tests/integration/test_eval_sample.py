#!/usr/bin/python3
"""test_eval_sample.py - `aularag eval` on the sample course with no LLM: every question reported, judges
skipped, and the retrieval metrics recomputed here independently (numpy-free Python) from report.json's
segments and the question set's gold spans: Hit/Recall@1/5/10, MRR@10, nDCG@10, overlap with a 5 s
tolerance and containment, each gold span counted once."""
import json
import math
import os
import subprocess
import tempfile

ROOT = os.environ.get("AULARAG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AR = os.environ.get("AULARAG_BIN") or os.path.join(ROOT, "aularag")
COURSE = os.path.join(ROOT, "samples", "course")
import checks  # noqa: E402
from checks import check  # noqa: E402


def matches(seg, g, mode, tol):
    if seg["video_id"] != g["video_id"]:
        return False
    if mode == "contain":
        return seg["start"] <= g["start"] + tol and g["end"] - tol <= seg["end"]
    return seg["start"] < g["end"] + tol and g["start"] - tol < seg["end"]


def metrics(segs, gold, mode, tol):
    segs = segs[:10]
    covered, first, dcg = set(), 0, 0.0
    rec = {}
    hit = {}
    for i, s in enumerate(segs):
        m = {j for j, g in enumerate(gold) if matches(s, g, mode, tol)}
        if m and not first:
            first = i + 1
        if m - covered:
            dcg += 1 / math.log2(i + 2)
        covered |= m
        for k in (1, 5, 10):
            if i + 1 == k:
                rec[k], hit[k] = len(covered) / len(gold), 1.0 if first else 0.0
    for k in (1, 5, 10):
        if k > len(segs):
            rec[k], hit[k] = len(covered) / len(gold), 1.0 if first else 0.0
    idcg = sum(1 / math.log2(i + 2) for i in range(min(len(gold), 10)))
    return {"hit@1": hit[1], "hit@5": hit[5], "hit@10": hit[10], "recall@1": rec[1], "recall@5": rec[5],
            "recall@10": rec[10], "mrr@10": 1 / first if first else 0.0, "ndcg@10": dcg / idcg}


def main():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_LLM", "AULARAG_JUDGE", "OPENAI"))}
    tmp = tempfile.mkdtemp(prefix="aularag-evs-")
    ix, out = os.path.join(tmp, "ix.db"), os.path.join(tmp, "out")
    r = subprocess.run([AR, "ingest", "-i", ix, "--manifest", os.path.join(COURSE, "manifest.csv"), COURSE],
                       capture_output=True, text=True, env=env)
    check("ingest the sample course", r.returncode == 0, r.stderr)
    qpath = os.path.join(COURSE, "questions.jsonl")
    qs = [json.loads(l) for l in open(qpath, encoding="utf-8") if l.strip()]
    r = subprocess.run([AR, "eval", "-i", ix, "--questions", qpath, "--out", out, "--bootstrap", "100"],
                       capture_output=True, text=True, env=env)
    check("eval exits 0", r.returncode == 0, r.stderr)
    if r.returncode:
        return
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    rep = json.load(open(os.path.join(out, "report.json"), encoding="utf-8"))
    check("one block per question", md.count("**Pergunta ") == len(qs) and md.count("\n---\n") == len(qs))
    check("judges skipped, never scored", md.count("**Answer Relevance (AR)**: não avaliado") == len(qs))
    check("answers are extractive", all(it["answer_kind"] == "extractive" for it in rep["items"]))
    manual = {}
    for q in qs:
        manual[q.get("manual") or "missing"] = manual.get(q.get("manual") or "missing", 0) + 1
    got = {k: v for k, v in rep["summary"]["manual_labels"].items() if v}
    check("manual label distribution", got == manual, "%r vs %r" % (got, manual))
    gold_items = [(it, q) for it, q in zip(rep["items"], qs) if q.get("gold")]
    rt = rep["summary"]["retrieval"]
    check("questions with gold", rt["questions_with_gold"] == len(gold_items) > 0)
    tol = rt["tolerance_s"]
    for mode in ("overlap", "contain"):
        per = [metrics(it["segments"], q["gold"], mode, tol) for it, q in gold_items]
        for key in per[0]:
            mean = sum(p[key] for p in per) / len(per)
            check("%s %s recomputed" % (mode, key), abs(rt[mode][key] - mean) < 1e-9,
                  "%.6f vs %.6f" % (rt[mode][key], mean))
    # the sample course is written so that lexical retrieval finds most gold spans
    check("lexical Hit@10 on the sample course >= 0.8", rt["overlap"]["hit@10"] >= 0.8, str(rt["overlap"]))
    subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    checks.run(main)
