#!/usr/bin/python3
"""test_ask.py - `aularag ask` end to end against tests/llm_server.py: the request the LLM gets, the
printed answer and references (timestamps from the index), --json, --hide-urls, the cache,
streaming, retries, timeouts, malformed replies, the API key, and the extractive answer."""
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.environ.get("AULARAG_ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AR = os.environ.get("AULARAG_BIN") or os.path.join(ROOT, "build/asan/aularag")
sys.path.insert(0, os.path.join(ROOT, "tests"))
from llm_server import LLMServer  # noqa: E402

KEY = "sk-INTEGRATION-SECRET-987654"
import checks  # noqa: E402
from checks import check  # noqa: E402


def vtt(cues):
    out = ["WEBVTT", ""]
    for s, e, t in cues:
        out += ["%02d:%02d:%02d.000 --> %02d:%02d:%02d.000" % (s // 3600, s // 60 % 60, s % 60, e // 3600, e // 60 % 60, e % 60), t, ""]
    return "\n".join(out)


def make_course(d):
    """Two short lectures of our own: GPUs in TensorFlow, and gradient descent."""
    gpu = [(i * 20, i * 20 + 20, t) for i, t in enumerate([
        "Bom dia, hoje vamos falar de GPUs no TensorFlow.",
        "Para ver os dispositivos visíveis usamos tf.config.list_physical_devices.",
        "No Colab aparecem uma CPU e uma GPU na lista de dispositivos.",
        "Podemos filtrar os dispositivos passando a string GPU.",
        "Quando há implementação em CPU e em GPU o TensorFlow prioriza a GPU.",
        "O cast de tipos só acontece na CPU.",
        "Agora vamos falar de paralelismo de dados com várias placas.",
        "A estratégia de espelhamento replica o modelo em cada placa.",
        "Depois os pesos são combinados por uma média.",
        "Na próxima aula veremos TPUs."] * 2)]
    grad = [(i * 25, i * 25 + 25, t) for i, t in enumerate([
        "O gradiente aponta a direção de maior subida da função de custo.",
        "A descida do gradiente dá pequenos passos na direção oposta.",
        "A taxa de aprendizado controla o tamanho do passo.",
        "Mínimos locais podem atrapalhar a descida.",
        "A retropropagação calcula o gradiente de forma eficiente."] * 3)]
    os.makedirs(os.path.join(d, "aulas"))
    with open(os.path.join(d, "aulas", "gpu.vtt"), "w") as f:
        f.write(vtt(gpu))
    with open(os.path.join(d, "aulas", "gradiente.vtt"), "w") as f:
        f.write(vtt(grad))
    with open(os.path.join(d, "manifest.csv"), "w") as f:
        f.write("file,video_id,title,url\n")
        f.write("aulas/gpu.vtt,gpu01,GPUs no TensorFlow,https://www.youtube.com/watch?v=GPU123\n")
        f.write("aulas/gradiente.vtt,grad01,Descida do gradiente,https://example.org/aulas/gradiente.mp4\n")
    ix = os.path.join(d, "course.db")
    r = subprocess.run([AR, "ingest", "-i", ix, "--manifest", os.path.join(d, "manifest.csv"), "--window", "60",
                        "--overlap", "20", "--quiet"], capture_output=True, text=True)
    if r.returncode != 0:
        checks.abort("ingest failed (exit %d): %s %s" % (r.returncode, r.stdout, r.stderr))
    return ix


def env_clean(**extra):
    # no LLM settings from the caller's environment, and no proxy between us and 127.0.0.1
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AULARAG_LLM", "OPENAI_"))
         and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    e.update(extra)
    return e


def ask(ix, *args, env=None, url=None):
    cmd = [AR, "ask", "-i", ix]
    if url:
        cmd += ["--llm-url", url, "--llm-model", "modelo-x"]
    cmd += list(args)
    return subprocess.run(cmd, capture_output=True, text=True, env=env or env_clean(), timeout=60)


Q = "Quais são os dispositivos visíveis para o TensorFlow?"


def hms(t):
    t = int(t)
    return "%02d:%02d:%02d" % (t // 3600, t // 60 % 60, t % 60)


def expected_refs(cited):
    """The documented rule, written again here: cited segments in citation order, one video's
    overlapping or adjacent (gap <= 1 s) segments merged into one moment."""
    refs = []
    for s in cited:
        for r in refs:
            if r["video_id"] == s["video_id"] and s["start"] <= r["end"] + 1 and s["end"] >= r["start"] - 1:
                r["start"], r["end"] = min(r["start"], s["start"]), max(r["end"], s["end"])
                break
        else:
            refs.append(dict(video_id=s["video_id"], title=s["title"], url=s["url"], start=s["start"], end=s["end"]))
    for r in refs:
        sep = "&" if "?" in r["url"] else "?"
        r["link"] = r["url"] + (sep + "t=%d" % int(r["start"]) if "youtube" in r["url"] else "#t=%d" % int(r["start"]))
    return refs


def search(ix, q, k=10):
    r = subprocess.run([AR, "search", "-i", ix, "-k", str(k), "--json", q], capture_output=True, text=True)
    return json.loads(r.stdout)


def sample_course(tmp):
    """The project's sample course (samples/course): every question with a gold span gets, from the
    extractive path, a reference overlapping it; the LLM path maps [n] to the index's timestamps."""
    course = os.path.join(ROOT, "samples/course")
    if not os.path.exists(os.path.join(course, "manifest.csv")):
        check("sample course present", False, course)
        return
    ix = os.path.join(tmp, "sample.db")
    r = subprocess.run([AR, "ingest", "-i", ix, "--manifest", os.path.join(course, "manifest.csv"), "--quiet", course],
                       capture_output=True, text=True)
    check("sample: ingest", r.returncode == 0, r.stderr)
    with open(os.path.join(course, "questions.jsonl"), encoding="utf-8") as f:
        qs = [json.loads(l) for l in f if l.strip()]
    for q in qs:
        if not q.get("gold"):
            continue
        r = ask(ix, "-k", "5", "--json", q["question"])
        o = json.loads(r.stdout) if r.returncode == 0 else {}
        refs = o.get("references", [])
        hit = any(g["video_id"] == x["video_id"] and x["start"] <= g["end"] and x["end"] >= g["start"]
                  for g in q["gold"] for x in refs)
        check("sample: question %s extractive reference overlaps the gold span" % q["id"], hit, (q["question"], refs))
    q1 = qs[0]["question"]
    segs = search(ix, q1, 5)["segments"]
    with LLMServer({"default": {"content": "São os que o TensorFlow pode usar [1]."}}) as srv:
        r = ask(ix, "-k", "5", q1, url=srv.url)
    want = expected_refs(segs[:1])[0]
    line = "- [%s (%s–%s)](%s)" % (want["title"], hms(want["start"]), hms(want["end"]), want["link"])
    check("sample: LLM answer and its reference", "**Resposta gerada pelo LLM**: São os que o TensorFlow pode usar [1]." in r.stdout
          and line in r.stdout, (line, r.stdout[-400:]))
    check("sample: the main command's deep link is YouTube t=", "watch?v=aulaRAG0001&t=" in r.stdout)

    # markdown stays a link whatever the title and URL hold
    odd = os.path.join(tmp, "odd")
    os.makedirs(odd)
    with open(os.path.join(odd, "a.vtt"), "w") as f:
        f.write(vtt([(0, 10, "O tensor fica na GPU."), (10, 20, "Fim.")]))
    with open(os.path.join(odd, "m.csv"), "w") as f:
        f.write('file,video_id,title,url\na.vtt,odd1,"Aula [extra] 1",https://example.org/v (1).mp4\n')
    oix = os.path.join(tmp, "odd.db")
    subprocess.run([AR, "ingest", "-i", oix, "--manifest", os.path.join(odd, "m.csv"), "--quiet", odd], capture_output=True)
    r = ask(oix, "tensor GPU")
    check("markdown: brackets escaped, URL encoded",
          "- [Aula \\[extra\\] 1 (00:00:00–00:00:20)](https://example.org/v%20%281%29.mp4#t=0)" in r.stdout, r.stdout[-300:])

    # hybrid retrieval with a model (random-weight tiny BERT, tokenizer trained on the course text)
    py = "/usr/bin/python3"
    text = os.path.join(tmp, "course.txt")
    with open(text, "w", encoding="utf-8") as f:
        for name in sorted(os.listdir(course)):
            if name.endswith((".srt", ".vtt")):
                for line in open(os.path.join(course, name), encoding="utf-8-sig"):
                    if "-->" not in line and not line.strip().isdigit():
                        f.write(line)
    tok, model = os.path.join(tmp, "tok"), os.path.join(tmp, "model")
    subprocess.run([py, os.path.join(ROOT, "tests/tools/make_tokenizer.py"), "--text", text, "--vocab", "600", "--out", tok],
                   check=True, capture_output=True)
    subprocess.run([py, os.path.join(ROOT, "tests/tools/make_model.py"), "--preset", "tiny-bert", "--vocab", "602",
                    "--seed", "3", "--out", model, "--tokenizer", tok], check=True, capture_output=True)
    dix = os.path.join(tmp, "dense.db")
    r = subprocess.run([AR, "ingest", "-i", dix, "--model", model, "--manifest", os.path.join(course, "manifest.csv"),
                        "--quiet", course], capture_output=True, text=True)
    check("dense: ingest with a model", r.returncode == 0, r.stderr)
    with LLMServer({"default": {"content": "Veja [1]."}}) as srv:
        r = ask(dix, "-k", "4", "--model", model, "--mode", "hybrid", "--json", q1, url=srv.url)
        rt = ask(dix, "-k", "4", "--model", model, q1, url=srv.url)
    o = json.loads(r.stdout) if r.returncode == 0 else {}
    check("dense: hybrid ask", o.get("mode") == "hybrid" and o.get("answer") == "Veja [1]." and len(o.get("references", [])) == 1,
          (r.stderr, r.stdout[:300]))
    if o.get("segments"):
        top = o["segments"][0]
        ref = o["references"][0]
        check("dense: reference is the top hybrid segment", ref["video_id"] == top["video_id"] and ref["start"] == top["start"], (ref, top))
    check("dense: default mode with a model is hybrid", rt.returncode == 0 and "(híbrido: E5 + BM25)" in rt.stdout, rt.stderr)
    r = ask(dix, "--model", os.path.join(tmp, "nope"), "--mode", "dense", q1)
    check("dense: a missing model dir is a runtime error naming it", r.returncode == 1 and "nope" in r.stderr, r.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="aularag-ask-")
    ix = make_course(tmp)
    segs = search(ix, Q, 5)["segments"]
    check("fixture: search finds the GPU lecture first", segs and segs[0]["video_id"] == "gpu01", segs[:1])

    # 1. LLM answer: the request, the printed answer, references built from the cited segments
    reply = "No Colab há uma CPU e uma GPU [1]; dá para filtrar por GPU [3]."
    with LLMServer({"replies": [{"content": reply}]}) as srv:
        r = ask(ix, "-k", "5", Q, url=srv.url, env=env_clean(AULARAG_LLM_API_KEY=KEY))
        log = srv.requests()
    check("llm: exit 0", r.returncode == 0, r.stderr)
    check("llm: one request", len(log) == 1, log)
    if log:
        b = log[0]["body"]
        check("llm: model sent", b.get("model") == "modelo-x", b)
        check("llm: temperature 0", b.get("temperature") == 0, b)
        check("llm: seed 42", b.get("seed") == 42, b)
        check("llm: not streamed when stdout is not a terminal", "stream" not in b, b)
        msgs = b.get("messages", [])
        check("llm: system + user messages", [m["role"] for m in msgs] == ["system", "user"], msgs)
        if len(msgs) == 2:
            check("llm: instructions say cite by number", "[1]" in msgs[0]["content"] and "não" in msgs[0]["content"])
            u = msgs[1]["content"]
            check("llm: question in the prompt", u.endswith("Pergunta: " + Q), u[-200:])
            check("llm: 5 numbered segments", all("[%d] Vídeo:" % i in u for i in range(1, 6)) and "[6]" not in u, u)
            check("llm: segment text in the prompt", segs[0]["text"] in u)
        check("llm: key sent as Bearer", log[0]["headers"].get("authorization") == "Bearer " + KEY, log[0]["headers"])
    out = r.stdout
    check("llm: answer printed", "**Resposta gerada pelo LLM**: " + reply in out, out[-800:])
    check("llm: segments block first", out.startswith("**Segmentos recuperados") and "- *Corpus ID:* %d" % segs[0]["corpus_id"] in out, out[:300])
    check("llm: key never printed", KEY not in out and KEY not in r.stderr)
    refs_text = out.split("**Referências**:", 1)[-1].strip().splitlines()
    want = expected_refs([segs[0], segs[2]])
    check("llm: references of cited [1] and [3]", len(refs_text) == len(want), (refs_text, want))
    for line, x in zip(refs_text, want):
        link = x["link"]
        check("llm: reference line %s" % x["start"], line.startswith("- [%s (%s" % (x["title"], hms(x["start"]))) and line.endswith("(%s)" % link), (line, x))
    check("llm: YouTube deep link to the second", any("watch?v=GPU123&t=" in l for l in refs_text), refs_text)

    # 2. --json: the search object + answer, answer_kind, references (from the index's timestamps)
    with LLMServer({"default": {"content": "Ver [2] e [1]."}}) as srv:
        r = ask(ix, "-k", "5", "--json", "--no-cache", Q, url=srv.url)
    try:
        o = json.loads(r.stdout)
    except ValueError:
        o = {}
    check("json: exit 0 and valid", r.returncode == 0 and o, r.stdout[:300] + r.stderr)
    if o:
        check("json: answer", o.get("answer") == "Ver [2] e [1].", o.get("answer"))
        check("json: answer_kind llm", o.get("answer_kind") == "llm")
        check("json: segments as in search", [s["corpus_id"] for s in o["segments"]] == [s["corpus_id"] for s in segs])
        refs = o.get("references", [])
        fields = {"video_id", "title", "url", "start", "end", "start_hms", "end_hms", "link"}
        check("json: reference fields", refs and all(fields <= set(x) for x in refs), refs)
        want = expected_refs([segs[1], segs[0]])  # [2] first, then [1]
        check("json: references = cited segments, merged", [(x["video_id"], x["start"], x["end"], x["link"]) for x in refs] ==
              [(x["video_id"], x["start"], x["end"], x["link"]) for x in want], (refs, want))
        for x in refs:
            check("json: link is the deep link of start", x["link"].endswith("t=%d" % int(x["start"])), x)

    # 3. --hide-urls: the seed's hidden form
    with LLMServer({"default": {"content": "Resposta [1]."}}) as srv:
        r = ask(ix, "-k", "3", "--hide-urls", Q, url=srv.url)
        rj = ask(ix, "-k", "3", "--hide-urls", "--json", Q, url=srv.url)
    check("hide: URL oculto", "- *URL:* oculto" in r.stdout, r.stdout[:400])
    check("hide: hidden reference", "- [Vídeo de referência oculto]()" in r.stdout, r.stdout[-300:])
    check("hide: no url anywhere", "GPU123" not in r.stdout and "example.org" not in r.stdout)
    check("hide: json urls null", "GPU123" not in rj.stdout and '"link":null' in rj.stdout, rj.stdout[-400:])

    # 4. cache: the same question costs nothing the second time; --no-cache asks again
    with LLMServer({"replies": [{"content": "primeira [1]"}, {"content": "segunda [1]"}]}) as srv:
        a = ask(ix, "-k", "3", "--json", "cache?", url=srv.url)
        b = ask(ix, "-k", "3", "--json", "cache?", url=srv.url)
        n_after_two = len(srv.requests())
        c = ask(ix, "-k", "3", "--json", "--no-cache", "cache?", url=srv.url)
        n_after_three = len(srv.requests())
    ja, jb, jc = (json.loads(x.stdout) if x.returncode == 0 else {} for x in (a, b, c))
    check("cache: one request for two asks", n_after_two == 1, n_after_two)
    check("cache: same answer", ja.get("answer") == jb.get("answer") == "primeira [1]", (ja.get("answer"), jb.get("answer")))
    check("cache: marked cached", jb.get("llm", {}).get("cached") is True and ja.get("llm", {}).get("cached") is False)
    check("cache: --no-cache asks again", n_after_three == 2 and jc.get("answer") == "segunda [1]", (n_after_three, jc.get("answer")))

    # 5. streaming (forced; stdout is a pipe here): UTF-8 split across TCP reads arrives whole
    text = "Ação: a GPU é priorizada 😀 [1]."
    with LLMServer({"replies": [{"content": text, "byte_split": 1}]}) as srv:
        r = ask(ix, "-k", "3", "--stream", Q, url=srv.url)
        log = srv.requests()
    check("stream: exit 0", r.returncode == 0, r.stderr)
    check("stream: request asked for SSE", log and log[0]["body"].get("stream") is True)
    check("stream: answer whole", "**Resposta gerada pelo LLM**: " + text in r.stdout, r.stdout[-400:])
    check("stream: references after the answer", r.stdout.index("**Referências**") > r.stdout.index(text) if text in r.stdout else False)
    # cached + stream: printed at once, no request
    with LLMServer({"replies": [{"content": "uma vez [1]"}]}) as srv:
        ask(ix, "-k", "3", "--stream", "streaming cache", url=srv.url)
        r = ask(ix, "-k", "3", "--stream", "streaming cache", url=srv.url)
        n = len(srv.requests())
    check("stream+cache: served from cache", n == 1 and "**Resposta gerada pelo LLM**: uma vez [1]" in r.stdout, (n, r.stdout[-300:]))

    # on a terminal the answer streams by default (a pseudo-terminal stands in for one)
    import pty
    with LLMServer({"replies": [{"content": "no terminal [1]"}]}) as srv:
        master, slave = pty.openpty()
        p = subprocess.Popen([AR, "ask", "-i", ix, "-k", "2", "--llm-url", srv.url, "tty?"], stdout=slave,
                             stderr=subprocess.PIPE, env=env_clean())
        os.close(slave)
        got = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            got += chunk
        p.wait(30)
        os.close(master)
        log = srv.requests()
    check("tty: streamed by default", p.returncode == 0 and log and log[0]["body"].get("stream") is True, log[:1])
    check("tty: answer shown", "no terminal [1]" in got.decode("utf-8", "replace"), got[-300:])

    # 6. a stream cut midway: what arrived is shown, then an error (exit 1)
    with LLMServer({"replies": [{"chunks": ["A resposta ", "começa e ", "para"], "cut_after": 2}]}) as srv:
        r = ask(ix, "--stream", "--no-cache", Q, url=srv.url)
        n = len(srv.requests())
    check("cut: exit 1", r.returncode == 1, (r.returncode, r.stderr))
    check("cut: partial text shown", "A resposta começa e " in r.stdout, r.stdout[-200:])
    check("cut: error message", "stream ended before the reply was complete" in r.stderr, r.stderr)
    check("cut: not retried after text was shown", n == 1, n)

    # 7. retries: 429 with Retry-After, then success
    with LLMServer({"replies": [{"status": 429, "headers": {"Retry-After": "1"}}, {"content": "depois do 429 [1]"}]}) as srv:
        r = ask(ix, "--no-cache", Q, url=srv.url)
        n = len(srv.requests())
    check("429: exit 0 after a retry", r.returncode == 0 and "depois do 429 [1]" in r.stdout, r.stderr)
    check("429: two requests", n == 2, n)

    # 8. 500s until the retries run out: exit 1, the count in the log and in the message
    with LLMServer({"replies": [{"status": 500, "times": 0}]}) as srv:
        r = ask(ix, "--no-cache", "--retries", "2", Q, url=srv.url, env=env_clean(OPENAI_API_KEY=KEY))
        log = srv.requests()
    check("500: exit 1", r.returncode == 1, r.returncode)
    check("500: three requests", len(log) == 3, len(log))
    check("500: message", "HTTP 500" in r.stderr and "3 attempts" in r.stderr and srv.url in r.stderr, r.stderr)
    check("500: OPENAI_API_KEY used as fallback", log and log[0]["headers"].get("authorization") == "Bearer " + KEY)
    check("500: key never printed", KEY not in r.stderr and KEY not in r.stdout)

    # 9. a reply slower than the timeout
    with LLMServer({"replies": [{"delay_s": 4, "content": "tarde"}]}) as srv:
        r = ask(ix, "--no-cache", "--timeout", "0.5", Q, url=srv.url)
    check("timeout: exit 1", r.returncode == 1, r.returncode)
    check("timeout: message", "no complete reply within 0.5 s" in r.stderr, r.stderr)

    # 10. malformed JSON
    with LLMServer({"replies": [{"body": "{\"choices\": [{\"message\": "}]}) as srv:
        r = ask(ix, "--no-cache", Q, url=srv.url, env=env_clean(AULARAG_LLM_API_KEY=KEY))
    check("malformed: exit 1", r.returncode == 1, r.returncode)
    check("malformed: message", "not valid JSON" in r.stderr and "/v1/chat/completions" in r.stderr, r.stderr)
    check("malformed: key never printed", KEY not in r.stderr)

    # 11. 4xx is not retried; the endpoint from the environment, with /v1
    with LLMServer({"replies": [{"status": 404, "times": 0}]}) as srv:
        r = ask(ix, "--no-cache", Q, env=env_clean(AULARAG_LLM_URL=srv.url + "/v1", AULARAG_LLM_MODEL="m-env"))
        log = srv.requests()
    check("404: exit 1, one request", r.returncode == 1 and len(log) == 1, (r.returncode, len(log)))
    check("env: URL and model from the environment", log and log[0]["path"] == "/v1/chat/completions" and log[0]["body"]["model"] == "m-env", log[:1])
    check("404: message", "HTTP 404" in r.stderr, r.stderr)

    # 12. nothing listening
    with LLMServer({}) as srv:
        dead = srv.url
    r = ask(ix, "--no-cache", "--retries", "1", Q, url=dead)
    check("refused: exit 1 with the endpoint named", r.returncode == 1 and dead in r.stderr, r.stderr)

    # 13. no LLM: the extractive answer with its references
    r = ask(ix, "-k", "5", Q)
    check("extractive: exit 0", r.returncode == 0, r.stderr)
    check("extractive: labelled", "**Resposta**: (Resposta extrativa: trechos das aulas, sem LLM configurado)\n" in r.stdout, r.stdout[-600:])
    check("extractive: not called an LLM answer", "Resposta gerada pelo LLM" not in r.stdout)
    check("extractive: a relevant sentence", "dispositivos visíveis" in r.stdout.split("**Resposta", 1)[-1], r.stdout[-600:])
    check("extractive: references with deep links", "watch?v=GPU123&t=" in r.stdout.split("**Referências**:", 1)[-1], r.stdout[-300:])
    rj = ask(ix, "-k", "5", "--json", Q)
    try:
        o = json.loads(rj.stdout)
    except ValueError:
        o = {}
    check("extractive: json kind", o.get("answer_kind") == "extractive" and o.get("references"), rj.stdout[-300:])
    r = ask(ix, "fotossíntese clorofila")
    check("extractive: nothing found says so", r.returncode == 0 and "não têm trechos" in r.stdout, r.stdout[-300:])

    # 14. usage errors (exit 2), help, missing index (exit 1)
    check("usage: no question", ask(ix).returncode == 2)
    check("usage: bad temperature", ask(ix, "--temperature", "quente", "q").returncode == 2)
    check("usage: bad -k", ask(ix, "-k", "0", "q").returncode == 2)
    check("usage: unknown option", ask(ix, "--nope", "q").returncode == 2)
    h = subprocess.run([AR, "ask", "--help"], capture_output=True, text=True)
    check("help: exit 0 and mentions --llm-url", h.returncode == 0 and "--llm-url" in h.stdout)
    r = subprocess.run([AR, "ask", "-i", os.path.join(tmp, "missing.db"), "q"], capture_output=True, text=True, env=env_clean())
    check("missing index: exit 1 naming it", r.returncode == 1 and "missing.db" in r.stderr, r.stderr)

    sample_course(tmp)
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    checks.run(main)
