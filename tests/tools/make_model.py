#!/usr/bin/python3
"""make_model.py - writes a random-weight multilingual-e5-shaped model directory in the hub layout.

  make_model.py --preset tiny-bert|tiny-xlmr|odd-bert|e5-small|e5-base|e5-small-outliers|e5-base-outliers --out DIR [--std 0.02] [--dtype f32|f16|bf16]
                [--seed N] [--prefix roberta.] [--vocab N] [--tokenizer DIR] [--no-extras] [--gamma-beta]

Writes DIR/config.json and DIR/model.safetensors (safetensors written by hand: u64 header length, JSON
header, raw little-endian data) plus, with --tokenizer DIR, copies tokenizer files from DIR.
F16/BF16 files hold the F32 draw rounded (BF16: round to nearest even), so they can be compared
with the reference run on the same rounded weights. The *-outliers presets imitate what makes real
BERT-family checkpoints hard to quantize: heavy-tailed weights (Student t, 3 degrees of freedom, scaled to
--std, so a few weights are 10-30x the spread) and a few hidden channels that every LayerNorm makes large
(gamma ~8-25, beta ~+-3), so those channels are tens of times the others in every layer's input. Extras (on by default) exercise the loader:
an I64 embeddings.position_ids buffer and the pooler, both to be ignored.

Issue #15 options: --labels N writes a cross-encoder (BertForSequenceClassification: bert.-prefixed encoder,
pooler.dense + classifier; XLMRobertaForSequenceClassification: roberta.-prefixed encoder, classifier.dense +
classifier.out_proj) with N labels; --pair-template bert rewrites the copied tokenizer.json's pair template to
[CLS] A [SEP] B [SEP] with B typed 1 and writes tokenizer_config.json naming BertTokenizer (xlmr: names
XLMRobertaTokenizer); --max-pos N sets the position table (long-context XLM-R); --pooling mean|cls|lasttoken,
--no-normalize and --prompts JSON write the sentence-transformers files (modules.json, 1_Pooling/config.json,
config_sentence_transformers.json).
"""
import argparse, json, os, shutil, struct, sys
import numpy as np

PRESETS = {
  # e5-small is a BERT (positions 0..n-1, eps 1e-12, pad 0, 2 token types)
  "e5-small": dict(model_type="bert", hidden=384, layers=12, heads=12, inter=1536, vocab=250037, max_pos=512,
                   type_vocab=2, eps=1e-12, pad=0),
  "e5-base": dict(model_type="xlm-roberta", hidden=768, layers=12, heads=12, inter=3072, vocab=250002, max_pos=514,
                  type_vocab=1, eps=1e-5, pad=1),
  "tiny-bert": dict(model_type="bert", hidden=64, layers=2, heads=4, inter=128, vocab=1200, max_pos=512,
                    type_vocab=2, eps=1e-12, pad=0),
  "tiny-xlmr": dict(model_type="xlm-roberta", hidden=48, layers=2, heads=3, inter=96, vocab=1200, max_pos=514,
                    type_vocab=1, eps=1e-5, pad=1),
  "e5-small-outliers": dict(model_type="bert", hidden=384, layers=12, heads=12, inter=1536, vocab=250037, max_pos=512,
                            type_vocab=2, eps=1e-12, pad=0, outliers=True),
  "e5-base-outliers": dict(model_type="xlm-roberta", hidden=768, layers=12, heads=12, inter=3072, vocab=250002,
                           max_pos=514, type_vocab=1, eps=1e-5, pad=1, outliers=True),
  # sizes that are not multiples of the 16-column panels or the 8-float vectors anywhere
  "odd-bert": dict(model_type="bert", hidden=60, layers=2, heads=5, inter=100, vocab=1200, max_pos=512,
                   type_vocab=2, eps=1e-12, pad=0),
}


def to_bf16_bits(a):
  """f32 -> bf16 bit patterns, round to nearest even (what torch's .to(bfloat16) does)."""
  u = a.astype(np.float32).view(np.uint32).astype(np.uint64)
  r = ((u >> 16) & 1) + 0x7FFF
  return ((u + r) >> 16).astype(np.uint16)


def write_safetensors(path, tensors, metadata=None):
  """tensors: list of (name, dtype_str, shape, raw bytes)."""
  header, off, blobs = {}, 0, []
  if metadata is not None:
    header["__metadata__"] = metadata
  for name, dt, shape, raw in tensors:
    header[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(raw)]}
    blobs.append(raw)
    off += len(raw)
  h = json.dumps(header, separators=(",", ":")).encode()
  h += b" " * ((8 - len(h) % 8) % 8)  # pad so the buffer starts 8-aligned, as the reference writer does
  with open(path, "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    for b in blobs:
      f.write(b)


def main(argv=None):
  ap = argparse.ArgumentParser()
  ap.add_argument("--preset", required=True, choices=sorted(PRESETS))
  ap.add_argument("--out", required=True)
  ap.add_argument("--std", type=float, default=0.02)
  ap.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16"])
  ap.add_argument("--seed", type=int, default=1)
  ap.add_argument("--prefix", default="", help="tensor name prefix, e.g. roberta. or bert.")
  ap.add_argument("--vocab", type=int, default=0, help="override vocab size")
  ap.add_argument("--layers", type=int, default=0, help="override layer count")
  ap.add_argument("--tokenizer", default="", help="dir whose tokenizer files are copied in")
  ap.add_argument("--no-extras", action="store_true", help="omit position_ids and pooler")
  ap.add_argument("--gamma-beta", action="store_true", help="old LayerNorm names (.gamma/.beta)")
  ap.add_argument("--labels", type=int, default=0, help="a sequence classifier with this many labels")
  ap.add_argument("--pair-template", default="", choices=["", "bert", "xlmr"])
  ap.add_argument("--max-pos", type=int, default=0, help="override max_position_embeddings")
  ap.add_argument("--pooling", default="", choices=["", "mean", "cls", "lasttoken"])
  ap.add_argument("--no-normalize", action="store_true", help="no Normalize module in modules.json")
  ap.add_argument("--prompts", default="", help="config_sentence_transformers.json prompts (JSON object)")
  ap.add_argument("--default-prompt", default="", help="default_prompt_name")
  a = ap.parse_args(argv)
  c = dict(PRESETS[a.preset])
  if a.vocab: c["vocab"] = a.vocab
  if a.layers: c["layers"] = a.layers
  if a.max_pos: c["max_pos"] = a.max_pos
  bert = c["model_type"] == "bert"
  if a.labels and not a.prefix:
    a.prefix = "bert." if bert else "roberta."  # as transformers saves the *ForSequenceClassification encoder
  H, F, V = c["hidden"], c["inter"], c["vocab"]
  rng = np.random.default_rng(a.seed)
  std = a.std

  heavy = c.get("outliers", False)

  def rnd(*shape):
    if heavy:  # Student t (df 3) has variance 3: scaled to std
      return (rng.standard_t(3, size=shape) / np.sqrt(3.0) * std).astype(np.float32)
    return (rng.standard_normal(shape, dtype=np.float32) * np.float32(std)).astype(np.float32)

  # the outlier channels: the same few in every LayerNorm, as in trained checkpoints
  ochan, ogain, oshift = [], [], []
  if heavy:
    ochan = rng.choice(H, size=max(2, H // 128), replace=False)
    ogain = rng.uniform(8, 25, size=len(ochan)).astype(np.float32)
    oshift = rng.uniform(-3, 3, size=len(ochan)).astype(np.float32)

  def ln_gamma():
    g = (1 + rnd(H)).astype(np.float32)
    g[ochan] = ogain
    return g

  def ln_beta():
    b = rnd(H)
    b[ochan] = oshift
    return b

  ln_w = ".gamma" if a.gamma_beta else ".weight"
  ln_b = ".beta" if a.gamma_beta else ".bias"
  w = []  # (name, f32 array)
  w.append(("embeddings.word_embeddings.weight", rnd(V, H)))
  w.append(("embeddings.position_embeddings.weight", rnd(c["max_pos"], H)))
  w.append(("embeddings.token_type_embeddings.weight", rnd(c["type_vocab"], H)))
  w.append(("embeddings.LayerNorm" + ln_w, ln_gamma()))
  w.append(("embeddings.LayerNorm" + ln_b, ln_beta()))
  for i in range(c["layers"]):
    p = "encoder.layer.%d." % i
    for n in ("query", "key", "value"):
      w.append((p + "attention.self.%s.weight" % n, rnd(H, H)))
      w.append((p + "attention.self.%s.bias" % n, rnd(H)))
    w.append((p + "attention.output.dense.weight", rnd(H, H)))
    w.append((p + "attention.output.dense.bias", rnd(H)))
    w.append((p + "attention.output.LayerNorm" + ln_w, ln_gamma()))
    w.append((p + "attention.output.LayerNorm" + ln_b, ln_beta()))
    w.append((p + "intermediate.dense.weight", rnd(F, H)))
    w.append((p + "intermediate.dense.bias", rnd(F)))
    w.append((p + "output.dense.weight", rnd(H, F)))
    w.append((p + "output.dense.bias", rnd(H)))
    w.append((p + "output.LayerNorm" + ln_w, ln_gamma()))
    w.append((p + "output.LayerNorm" + ln_b, ln_beta()))
  tensors = []
  if not a.no_extras:
    pos = np.arange(c["max_pos"], dtype=np.int64).reshape(1, -1)
    tensors.append((a.prefix + "embeddings.position_ids", "I64", pos.shape, pos.tobytes()))
  for name, arr in w:
    if a.dtype == "f32":
      tensors.append((a.prefix + name, "F32", arr.shape, arr.astype("<f4").tobytes()))
    elif a.dtype == "f16":
      tensors.append((a.prefix + name, "F16", arr.shape, arr.astype("<f2").tobytes()))
    else:
      tensors.append((a.prefix + name, "BF16", arr.shape, to_bf16_bits(arr).astype("<u2").tobytes()))
  dt = {"f32": "F32", "f16": "F16", "bf16": "BF16"}[a.dtype]
  conv = {"F32": lambda x: x.astype("<f4").tobytes(), "F16": lambda x: x.astype("<f2").tobytes(),
          "BF16": lambda x: to_bf16_bits(x).astype("<u2").tobytes()}[dt]
  if not a.no_extras or (a.labels and bert):
    pw = rnd(H, H)
    tensors.append((a.prefix + "pooler.dense.weight", dt, pw.shape, conv(pw)))
    tensors.append((a.prefix + "pooler.dense.bias", dt, (H,), conv(rnd(H))))
  if a.labels:  # the head is drawn wider than the encoder so the logits spread (std 0.02 gives ~0 logits)
    hs = max(std, 0.2)
    hw = lambda *shape: (rng.standard_normal(shape, dtype=np.float32) * np.float32(hs)).astype(np.float32)
    if bert:
      head = [("classifier.weight", hw(a.labels, H)), ("classifier.bias", hw(a.labels))]
    else:
      head = [("classifier.dense.weight", hw(H, H)), ("classifier.dense.bias", hw(H)),
              ("classifier.out_proj.weight", hw(a.labels, H)), ("classifier.out_proj.bias", hw(a.labels))]
    for name, arr in head:
      tensors.append((name, dt, arr.shape, conv(arr)))
  os.makedirs(a.out, exist_ok=True)
  write_safetensors(os.path.join(a.out, "model.safetensors"), tensors, {"format": "pt"})
  arch = "BertModel" if bert else "XLMRobertaModel"
  if a.labels:
    arch = "BertForSequenceClassification" if bert else "XLMRobertaForSequenceClassification"
  cfg = {"architectures": [arch], "model_type": c["model_type"], "hidden_size": H,
         "num_hidden_layers": c["layers"], "num_attention_heads": c["heads"], "intermediate_size": F,
         "vocab_size": V, "max_position_embeddings": c["max_pos"], "type_vocab_size": c["type_vocab"],
         "layer_norm_eps": c["eps"], "pad_token_id": c["pad"], "hidden_act": "gelu",
         "position_embedding_type": "absolute", "torch_dtype": "float32"}
  if c["model_type"] != "bert":
    cfg.update({"bos_token_id": 0, "eos_token_id": 2})
  if a.labels:
    cfg["id2label"] = {str(i): "LABEL_%d" % i for i in range(a.labels)}
    cfg["label2id"] = {"LABEL_%d" % i: i for i in range(a.labels)}
  with open(os.path.join(a.out, "config.json"), "w") as f:
    json.dump(cfg, f, indent=2)
  if a.tokenizer:
    for fn in ("tokenizer.json", "sentencepiece.bpe.model", "tokenizer_config.json", "special_tokens_map.json"):
      src = os.path.join(a.tokenizer, fn)
      if os.path.exists(src):
        shutil.copy(src, os.path.join(a.out, fn))
  if a.pair_template:
    tj = os.path.join(a.out, "tokenizer.json")
    if os.path.exists(tj):
      t = json.load(open(tj, encoding="utf-8"))
      sp = lambda tok, ty: {"SpecialToken": {"id": tok, "type_id": ty}}  # noqa: E731
      sq = lambda x, ty: {"Sequence": {"id": x, "type_id": ty}}  # noqa: E731
      if a.pair_template == "bert":
        t["post_processor"]["pair"] = [sp("<s>", 0), sq("A", 0), sp("</s>", 0), sq("B", 1), sp("</s>", 1)]
      else:
        t["post_processor"]["pair"] = [sp("<s>", 0), sq("A", 0), sp("</s>", 0), sp("</s>", 0), sq("B", 0),
                                       sp("</s>", 0)]
      json.dump(t, open(tj, "w", encoding="utf-8"), ensure_ascii=False)
    cls = "BertTokenizer" if a.pair_template == "bert" else "XLMRobertaTokenizer"
    json.dump({"tokenizer_class": cls}, open(os.path.join(a.out, "tokenizer_config.json"), "w"))
  if a.pooling or a.no_normalize or a.prompts:
    mods = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if not a.no_normalize:
      mods.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    json.dump(mods, open(os.path.join(a.out, "modules.json"), "w"), indent=2)
    os.makedirs(os.path.join(a.out, "1_Pooling"), exist_ok=True)
    mode = a.pooling or "mean"
    pc = {"word_embedding_dimension": H, "pooling_mode_cls_token": mode == "cls",
          "pooling_mode_mean_tokens": mode == "mean", "pooling_mode_max_tokens": False,
          "pooling_mode_mean_sqrt_len_tokens": False, "pooling_mode_weightedmean_tokens": False,
          "pooling_mode_lasttoken": mode == "lasttoken", "include_prompt": True}
    json.dump(pc, open(os.path.join(a.out, "1_Pooling", "config.json"), "w"), indent=2)
    st = {"__version__": {"sentence_transformers": "3.0.1"}, "prompts": json.loads(a.prompts) if a.prompts else {},
          "default_prompt_name": a.default_prompt or None}
    json.dump(st, open(os.path.join(a.out, "config_sentence_transformers.json"), "w"), indent=2, ensure_ascii=False)


if __name__ == "__main__":
  main()
