"""fixtures.py - the random-weight model fixture the model tests share: a SentencePiece tokenizer trained on the
shared 3Blue1Brown transcripts (tests/tools/make_tokenizer.py) and models in the hub layout that carry it
(tests/tools/make_model.py).

    fixtures.run_body(body, "aularag-x-")         # body(data, tmp): the shared data, a temp dir removed after
    data = fixtures.data_dir()                   # ../shared/data (or $AULARAG_DATA); aborts the test if missing
    vids = fixtures.transcripts(data)            # the Portuguese .srt files, sorted, the empty one left out
    tok, lines = fixtures.tokenizer(tmp, vids)   # tmp/tok, and the cue lines it was trained on
    d = fixtures.model(tmp + "/m", tok, "--preset", "tiny-bert", "--vocab", "1002")
    src = fixtures.link_videos(tmp + "/videos", vids[:4])   # a course to ingest"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

import checks

ROOT = os.environ.get("AULARAG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
TOOLS = os.path.join(ROOT, "tests", "tools")
sys.path.insert(0, TOOLS)
import make_model  # noqa: E402


def data_dir():
    for d in (os.environ.get("AULARAG_DATA"), os.path.join(ROOT, "../shared/data"), os.path.join(ROOT, "../../shared/data")):
        if d and os.path.isdir(d):
            return os.path.abspath(d)
    checks.abort("shared data missing: expected ../shared/data beside the checkout")


def run_body(body, prefix):
    """body(data, tmp) with the shared data folder and a fresh temp dir (removed afterwards, whatever happens)."""
    data = data_dir()
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        body(data, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def transcripts(data):
    """The 3Blue1Brown Portuguese transcripts, sorted by path, without the empty one the set holds."""
    return sorted(p for p in glob.glob(os.path.join(data, "transcripts-pt-3b1b", "*", "*.srt")) if os.path.getsize(p) > 0)


def tokenizer(tmp, vids, vocab=1000):
    """tmp/tok: a tokenizer of `vocab` pieces trained on the cue lines (no numbers, no times) of the first 40
    transcripts, written to tmp/text.txt. A small vocabulary makes segments token-heavy, so the 512-token cap
    really cuts. Returns (tok, lines)."""
    lines = []
    for p in vids[:40]:
        for line in open(p, encoding="utf-8-sig", errors="replace"):
            line = line.strip()
            if line and "-->" not in line and not line.isdigit():
                lines.append(line)
    text = os.path.join(tmp, "text.txt")
    with open(text, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    tok = os.path.join(tmp, "tok")
    subprocess.run(["/usr/bin/python3", os.path.join(TOOLS, "make_tokenizer.py"), "--text", text, "--vocab", str(vocab),
                    "--out", tok], check=True, capture_output=True)
    return tok, lines


def model(out, tok, *args):
    """out: a random-weight model (make_model.py args: --preset, --seed, --std, --vocab, ...) with tok's
    tokenizer files."""
    make_model.main(["--out", out, "--tokenizer", tok, *args])
    return out


def link_videos(folder, vids):
    """folder (created) with a link VIDEO_ID.srt to each transcript: a course to ingest."""
    os.makedirs(folder)
    for p in vids:
        os.symlink(p, os.path.join(folder, os.path.basename(os.path.dirname(p)) + ".srt"))
    return folder
