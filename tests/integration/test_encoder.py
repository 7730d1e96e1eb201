#!/usr/bin/python3
"""test_encoder.py - the C encoder (`aularag embed`) against the independent PyTorch reference
(tests/tools/ref_e5.py) on random-weight models written by tests/tools/make_model.py.

Default: tiny dims, both model types, init std 0.02 / 0.1 / 0.3 (spec §8: small std hides a tanh
GELU or a wrong eps; large std gives sharp attention), F16/BF16 files vs the reference on the same
rounded weights, name prefixes and gamma/beta aliases, batched == one-by-one (bitwise), CLI errors.
AULARAG_SLOW=1 adds full e5-small and e5-base dims (2 layers)."""
import json, os, random, subprocess, sys, tempfile
import numpy as np

ROOT = os.environ.get("AULARAG_ROOT") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
AR = os.environ.get("AULARAG_BIN") or os.path.join(ROOT, "build/asan/aularag")
sys.path.insert(0, os.path.join(ROOT, "tests/tools"))
import make_model, ref_e5  # noqa: E402

SLOW = os.environ.get("AULARAG_SLOW", "0") not in ("", "0")
import checks  # noqa: E402
from checks import check  # noqa: E402


def run_embed(model, lines, *args, kernel=None):
  env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
  env.pop("AULARAG_KERNEL", None)
  if kernel:
    env["AULARAG_KERNEL"] = kernel
  p = subprocess.run([AR, "embed", "--model", model] + list(args), input="".join(l + "\n" for l in lines),
                     capture_output=True, text=True, env=env)
  return p


def vecs(out):
  return [np.array(json.loads(l), dtype=np.float64) for l in out.splitlines()]


def compare(what, got, ref, cos_min=0.99999, abs_max=1e-5):
  if len(got) != len(ref):
    check(what, False, "got %d vectors, expected %d" % (len(got), len(ref)))
    return
  worst_cos, worst_abs, worst_i = 1.0, 0.0, 0
  for i, (g, r) in enumerate(zip(got, ref)):
    r = r.astype(np.float64)
    worst_cos = min(worst_cos, float(g @ r / (np.linalg.norm(g) * np.linalg.norm(r))))
    if float(np.abs(g - r).max()) > worst_abs:
      worst_abs, worst_i = float(np.abs(g - r).max()), i
  detail = "worst cos %.9f, max abs %.3g (vector %d)" % (worst_cos, worst_abs, worst_i)
  check(what, worst_cos >= cos_min and worst_abs <= abs_max, detail)
  print("ok %s: %s" % (what, detail))


def id_seqs(vocab, lengths, seed, pad_id):
  rnd = random.Random(seed)
  seqs = []
  for n in lengths:
    if n == 1:
      seqs.append([0])
      continue
    s = [0] + [rnd.randrange(4, vocab) for _ in range(n - 2)] + [2]
    seqs.append(s)
  if len(seqs) > 3 and len(seqs[3]) > 6:
    seqs[3][4] = 1  # a literal <pad> inside the text: XLM-R gives it position pad and keeps counting
  return seqs


def data_dir():
  for d in (os.environ.get("AULARAG_DATA", ""), os.path.join(ROOT, "../shared/data"),
            os.path.join(ROOT, "../../shared/data")):
    if d and os.path.isdir(d):
      return d
  return None


def text_tests(tmp):
    """Real transcript lines (1 to 600+ tokens) through our tokenizer + encoder vs sentencepiece + torch."""
    data = data_dir()
    check("shared data present (../shared/data or AULARAG_DATA)", data is not None)
    if not data:
      return
    lines = subprocess.run([sys.executable, os.path.join(ROOT, "tests/tools/cue_lines.py"), data], capture_output=True,
                           text=True).stdout.split("\n")[:-1]
    corpus = os.path.join(tmp, "lines.txt")
    with open(corpus, "w", encoding="utf-8") as f:
      f.write("\n".join(lines) + "\n")
    tok = os.path.join(tmp, "tok")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests/tools/make_tokenizer.py"), "--text", corpus, "--vocab",
                    "1000", "--out", tok], check=True, capture_output=True)
    rnd = random.Random(42)
    by_len = sorted(set(l for l in lines if l.strip()), key=len)
    texts = [by_len[0], by_len[1], by_len[len(by_len) // 2]] + rnd.sample(by_len, 12) + by_len[-3:]
    texts += ["  " + texts[5] + " \t", " ".join(lines[1000:1030]), " ".join(lines[2000:2200]), ""]
    for preset, kinds in (("tiny-bert", ("query", "raw")), ("tiny-xlmr", ("passage",))):
      d = os.path.join(tmp, preset + "-text")
      make_model.main(["--preset", preset, "--out", d, "--std", "0.1", "--seed", "3", "--tokenizer", tok])
      for kind in kinds:
        ids = ref_e5.tokenize(d, texts, kind)
        full = ref_e5.tokenize(d, texts, kind, max_len=None)
        check("text lengths span 1..600+ tokens (%d..%d)" % (min(len(x) for x in full), max(len(x) for x in full)),
              max(len(x) for x in full) > 600 and min(len(x) for x in full) <= 8)
        p = run_embed(d, texts, "--" + kind, "--batch", "7")
        check("%s %s texts: exit 0" % (preset, kind), p.returncode == 0, p.stderr[-400:])
        ref = ref_e5.embed_ids(d, ids)
        compare("%s --%s texts vs sentencepiece + torch" % (preset, kind), vecs(p.stdout), ref)
        # the same vectors from sentencepiece's ids: tells an encoder fault from a tokenizer one
        pi = run_embed(d, [json.dumps(x) for x in ids], "--ids", "--batch", "7")
        compare("%s --%s sentencepiece ids vs torch" % (preset, kind), vecs(pi.stdout), ref)
        c = run_embed(d, texts, "--" + kind, "--count")
        got = [int(x) for x in c.stdout.split()]
        check("%s --%s --count: untruncated counts with prefix and specials" %
              (preset, kind), got == [len(x) for x in full], str(list(zip(got, [len(x) for x in full]))[:5]))


def main():
  tmp = tempfile.mkdtemp(prefix="aularag-enc-")
  lengths = [1, 2, 3, 9, 24, 77, 128, 255, 300, 448, 511, 512, 5, 40]
  cases = [("tiny-bert", 0.02, ""), ("tiny-bert", 0.1, "bert."), ("tiny-bert", 0.3, ""),
           ("tiny-xlmr", 0.02, "roberta."), ("tiny-xlmr", 0.1, ""), ("tiny-xlmr", 0.3, ""), ("odd-bert", 0.1, "")]
  if SLOW:
    cases += [("e5-small", 0.08, ""), ("e5-base", 0.08, "")]
  for i, (preset, std, prefix) in enumerate(cases):
    d = os.path.join(tmp, "%s-%g" % (preset, std))
    args = ["--preset", preset, "--out", d, "--std", str(std), "--seed", str(10 + i)]
    if prefix:
      args += ["--prefix", prefix]
    if i == 4:
      args += ["--gamma-beta"]
    if preset.startswith("e5"):
      args += ["--layers", "2"]
    make_model.main(args)
    cfg = json.load(open(os.path.join(d, "config.json")))
    seqs = id_seqs(cfg["vocab_size"], lengths if not preset.startswith("e5") else [1, 24, 448, 512], 100 + i,
                   cfg["pad_token_id"])
    lines = [json.dumps(s) for s in seqs]
    ref = ref_e5.embed_ids(d, seqs, batch=4)
    p = run_embed(d, lines, "--ids", "--batch", "5", "--threads", "2")
    check("%s std %g: embed exits 0" % (preset, std), p.returncode == 0, p.stderr[-500:])
    compare("%s std %g%s vs torch" % (preset, std, " prefix " + prefix if prefix else ""), vecs(p.stdout), ref)
    if i in (2, 5, 6):
      one = run_embed(d, lines, "--ids", "--batch", "1", "--threads", "2")
      # Bitwise: every product is computed per sequence with a kernel chosen by its length alone, so
      # the batch never changes a sequence's rounding (the printed %.9g round-trips float32 exactly).
      check("%s std %g: one-by-one exits 0" % (preset, std), one.returncode == 0)
      diff = max(float(np.abs(a - b).max()) for a, b in zip(vecs(one.stdout), vecs(p.stdout)))
      check("%s std %g: batched == one-by-one, bitwise (max abs %.3g)" % (preset, std, diff), one.stdout == p.stdout)
      # The thread count only moves whole 16-column panels between threads: bitwise too.
      t1 = run_embed(d, lines, "--ids", "--batch", "5", "--threads", "1")
      diff = max(float(np.abs(a - b).max()) for a, b in zip(vecs(t1.stdout), vecs(p.stdout)))
      check("%s std %g: 1 vs 2 threads, bitwise (max abs %.3g)" %
            (preset, std, diff), t1.returncode == 0 and t1.stdout == p.stdout)
      # Every SIMD kernel (AULARAG_KERNEL) this CPU runs: the same reference and tolerance, and each
      # deterministic on its own terms (batched == one-by-one, 1 == 2 threads, bitwise).
      for kern in ("scalar", "avx2", "avx512"):
        k5 = run_embed(d, lines, "--ids", "--batch", "5", "--threads", "2", kernel=kern)
        if k5.returncode != 0 and "not available" in k5.stderr:
          print("  (kernel %s: not on this CPU)" % kern)
          continue
        check("%s std %g: AULARAG_KERNEL=%s exits 0" % (preset, std, kern), k5.returncode == 0, k5.stderr[-300:])
        compare("%s std %g AULARAG_KERNEL=%s vs torch" % (preset, std, kern), vecs(k5.stdout), ref)
        k1 = run_embed(d, lines, "--ids", "--batch", "1", "--threads", "1", kernel=kern)
        check("%s std %g: AULARAG_KERNEL=%s batch 5 / 2 threads == batch 1 / 1 thread, bitwise" % (preset, std, kern),
              k1.returncode == 0 and k1.stdout == k5.stdout)
      bad = run_embed(d, lines[:1], "--ids", kernel="neon9")
      check("AULARAG_KERNEL=neon9: exit 1 naming the variable", bad.returncode == 1 and "AULARAG_KERNEL" in bad.stderr,
            bad.stderr)
      # The OpenBLAS backend: the same model, the same reference, the same tolerance.
      for th in ("1", "2"):
        b = run_embed(d, lines, "--ids", "--batch", "5", "--threads", th, "--gemm", "openblas")
        check("%s std %g: --gemm openblas exits 0" % (preset, std), b.returncode == 0, b.stderr[-300:])
        compare("%s std %g --gemm openblas --threads %s vs torch" % (preset, std, th), vecs(b.stdout), ref)
      for dt in ("f16", "bf16"):
        d2 = d + "-" + dt
        make_model.main(args[:3] + [d2] + args[4:] + ["--dtype", dt])
        r2 = ref_e5.embed_ids(d2, seqs, batch=4)
        p2 = run_embed(d2, lines, "--ids")
        check("%s %s: embed exits 0" % (preset, dt), p2.returncode == 0, p2.stderr[-500:])
        compare("%s %s file vs torch on the same rounded weights" % (preset, dt), vecs(p2.stdout), r2)
        # and the rounding is visible: the F32 original differs by more than our error
        diff = max(float(np.abs(a - b).max()) for a, b in zip(vecs(p2.stdout), vecs(p.stdout)))
        check("%s %s: rounded weights really differ from F32 (%.3g)" % (preset, dt, diff), diff > 1e-5)

  text_tests(tmp)

  d = os.path.join(tmp, "tiny-bert-0.02")
  p = run_embed(d, ["[0, 5, 2]", "[0, 99999, 2]"], "--ids")
  check("id out of range: exit 1 with message", p.returncode == 1 and "outside the vocabulary" in p.stderr, p.stderr)
  p = run_embed(d, ["[" + ",".join(["5"] * 513) + "]"], "--ids")
  check("513 ids: refused", p.returncode == 1 and "513 tokens" in p.stderr, p.stderr)
  p = run_embed(d, ["not json"], "--ids")
  check("bad ids line: exit 1 naming the line", p.returncode == 1 and "line 1" in p.stderr, p.stderr)
  p = run_embed(d, ["hello"])
  check("text without tokenizer files: exit 1 naming the tokenizer", p.returncode == 1 and "tokenizer" in p.stderr,
        p.stderr)
  p = run_embed(os.path.join(tmp, "nope"), ["x"])
  check("missing model dir: exit 1 naming config.json", p.returncode == 1 and "config.json" in p.stderr, p.stderr)
  p = subprocess.run([AR, "embed", "--frobnicate"], capture_output=True, text=True)
  check("unknown option: exit 2", p.returncode == 2)
  p = subprocess.run([AR, "embed", "--model", d, "--gemm", "mkl"], capture_output=True, text=True)
  check("unknown --gemm backend: exit 2 naming the option", p.returncode == 2 and "--gemm" in p.stderr, p.stderr)
  env = dict(os.environ)
  env.pop("AULARAG_MODEL", None)
  p = subprocess.run([AR, "embed"], capture_output=True, text=True, env=env, input="")
  check("no model: exit 2", p.returncode == 2 and "AULARAG_MODEL" in p.stderr)
  p = subprocess.run([AR, "embed", "--help"], capture_output=True, text=True)
  check("--help: exit 0 with usage", p.returncode == 0 and "--passage" in p.stdout)
  env["AULARAG_MODEL"] = d
  p = subprocess.run([AR, "embed", "--ids"], capture_output=True, text=True, env=env, input="[0, 7, 2]\n")
  check("AULARAG_MODEL is the default --model", p.returncode == 0 and len(vecs(p.stdout)) == 1, p.stderr)
  subprocess.run(["rm", "-rf", tmp])
  checks.finish()


if __name__ == "__main__":
  main()
