#!/usr/bin/python3
"""ref_e5.py - independent PyTorch reference for multilingual-e5 embeddings (Hugging Face semantics).

  ref_e5.py MODEL_DIR --ids FILE            # JSON lines: token id arrays (specials included)
  ref_e5.py MODEL_DIR --texts FILE --kind query|passage|raw   # one text per line, tokenized with
                                            # python sentencepiece (slow-tokenizer id mapping)
  [--batch N]  sequences per padded batch (default 8: exercises padding + attention mask like HF)
  [--onnx OUT.onnx --seq N]  instead: export the model to ONNX (dynamic batch/sequence axes)

  ref_e5.py MODEL_DIR --pairs FILE          # JSON lines {"ids": [...], "types": [...]}: a cross-encoder's
                                            # logits per pair (one JSON array each)
  [--onnx OUT.onnx --classifier]  export the cross-encoder (inputs input_ids, attention_mask[, token_type_ids])

Writes one JSON array per sequence (repr floats). Re-implements transformers' BertModel /
XLMRobertaModel forward (eager attention with the additive finfo.min mask, post-LN blocks, erf
GELU) + sentence-transformers pooling (mean, CLS or last token, from modules.json / 1_Pooling; mean
when absent) + L2 Normalize (when modules.json lists it, or has no modules.json), with
torch.nn.functional only; and the *ForSequenceClassification heads (BERT: pooler dense + tanh on [CLS],
then classifier; XLM-R: classifier.dense + tanh on <s>, then classifier.out_proj).
"""
import argparse, json, math, os, struct, sys
import numpy as np
import torch
import torch.nn.functional as Fn

DT = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (None, 2), "I64": (np.int64, 8),
      "F64": (np.float64, 8), "I32": (np.int32, 4)}


def load_safetensors(path):
  with open(path, "rb") as f:
    buf = f.read()
  n = struct.unpack("<Q", buf[:8])[0]
  hdr = json.loads(buf[8:8 + n])
  base = 8 + n
  out = {}
  for k, v in hdr.items():
    if k == "__metadata__":
      continue
    b, e = v["data_offsets"]
    raw = buf[base + b:base + e]
    if v["dtype"] == "BF16":
      u = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
      arr = u.view(np.float32)
    else:
      arr = np.frombuffer(raw, dtype=np.dtype(DT[v["dtype"]][0]).newbyteorder("<"))
    arr = arr.reshape(v["shape"])
    for p in ("roberta.", "bert.", "model."):
      if k.startswith(p):
        k = k[len(p):]
    k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
    out[k] = arr
  return out


def st_pooling(d):
  """(pooling, normalize) as sentence-transformers builds the model from modules.json."""
  mp = os.path.join(d, "modules.json")
  if not os.path.exists(mp):
    return "mean", True
  pooling, normalize = "mean", False
  for m in json.load(open(mp)):
    t = m["type"].rsplit(".", 1)[-1]
    if t == "Normalize":
      normalize = True
    elif t == "Pooling":
      pc = json.load(open(os.path.join(d, m["path"], "config.json")))
      for mode, key in (("cls", "pooling_mode_cls_token"), ("mean", "pooling_mode_mean_tokens"),
                        ("lasttoken", "pooling_mode_lasttoken")):
        if pc.get(key):
          pooling = mode
  return pooling, normalize


class Ref(torch.nn.Module):
  def __init__(self, d):
    super().__init__()
    cfg = json.load(open(os.path.join(d, "config.json")))
    self.cfg = cfg
    self.bert = cfg["model_type"] == "bert"
    self.pad = cfg.get("pad_token_id", 1)
    self.eps = cfg.get("layer_norm_eps", 1e-12)
    self.nh = cfg["num_attention_heads"]
    self.L = cfg["num_hidden_layers"]
    w = load_safetensors(os.path.join(d, "model.safetensors"))
    self.w = {k: torch.tensor(np.array(v, dtype=np.float32)) for k, v in w.items() if v.dtype != np.int64}
    self.pooling, self.normalize = st_pooling(d)

  def positions(self, ids):
    if self.bert:  # BertEmbeddings: registered buffer arange(max_pos)
      return torch.arange(ids.shape[1]).unsqueeze(0).expand_as(ids)
    m = (ids != self.pad).int()  # create_position_ids_from_input_ids
    return (torch.cumsum(m, dim=1).type_as(m) * m).long() + self.pad

  def encode(self, ids, mask, types=None):
    """The last hidden states [B, S, H]."""
    w, H = self.w, self.cfg["hidden_size"]
    ln = lambda x, p: Fn.layer_norm(x, (H,), w[p + ".weight"], w[p + ".bias"], self.eps)
    lin = lambda x, p: Fn.linear(x, w[p + ".weight"], w[p + ".bias"])
    tt = w["embeddings.token_type_embeddings.weight"]
    x = (w["embeddings.word_embeddings.weight"][ids] + (tt[0] if types is None else tt[types])
         + w["embeddings.position_embeddings.weight"][self.positions(ids)])
    x = ln(x, "embeddings.LayerNorm")
    B, S = ids.shape
    d = H // self.nh
    bias = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
    for i in range(self.L):
      p = "encoder.layer.%d." % i
      sh = lambda t: t.view(B, S, self.nh, d).permute(0, 2, 1, 3)
      q, k, v = (sh(lin(x, p + "attention.self." + n)) for n in ("query", "key", "value"))
      s = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + bias
      ctx = torch.matmul(Fn.softmax(s, dim=-1), v).permute(0, 2, 1, 3).reshape(B, S, H)
      a = ln(lin(ctx, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
      f = Fn.gelu(lin(a, p + "intermediate.dense"), approximate="none")
      x = ln(lin(f, p + "output.dense") + a, p + "output.LayerNorm")
    return x

  def forward(self, ids, mask):
    x = self.encode(ids, mask)
    m = mask.unsqueeze(-1).float()
    if self.pooling == "cls":
      pooled = x[:, 0]
    elif self.pooling == "lasttoken":  # right padding: the last position the mask keeps
      pooled = x[torch.arange(x.shape[0]), mask.sum(1) - 1]
    else:
      pooled = (x * m).sum(1) / torch.clamp(m.sum(1), min=1e-9)
    return Fn.normalize(pooled, p=2, dim=1) if self.normalize else pooled

  def classify(self, ids, mask, types=None):
    """*ForSequenceClassification logits [B, num_labels] (dropout off)."""
    w = self.w
    lin = lambda x, p: Fn.linear(x, w[p + ".weight"], w[p + ".bias"])
    h = self.encode(ids, mask, types)[:, 0]
    if "classifier.out_proj.weight" in w:  # RobertaClassificationHead
      return lin(torch.tanh(lin(h, "classifier.dense")), "classifier.out_proj")
    return lin(torch.tanh(lin(h, "pooler.dense")), "classifier")  # BertPooler + classifier


class Classifier(torch.nn.Module):
  """The cross-encoder as one module (ONNX export)."""
  def __init__(self, ref):
    super().__init__()
    self.ref = ref

  def forward(self, ids, mask, types=None):
    return self.ref.classify(ids, mask, types)


def classify_pairs(model, pairs, batch=8):
  """pairs: dicts {"ids", "types"}; right-padded batches like HF. Returns float32 numpy logit vectors."""
  m = model if isinstance(model, Ref) else Ref(model).eval()
  out = []
  with torch.no_grad():
    for i in range(0, len(pairs), batch):
      chunk = pairs[i:i + batch]
      S = max(len(p["ids"]) for p in chunk)
      ids = torch.full((len(chunk), S), m.pad, dtype=torch.long)
      types = torch.zeros((len(chunk), S), dtype=torch.long)
      mask = torch.zeros((len(chunk), S), dtype=torch.long)
      for j, p in enumerate(chunk):
        ids[j, :len(p["ids"])] = torch.tensor(p["ids"])
        types[j, :len(p["ids"])] = torch.tensor(p.get("types") or [0] * len(p["ids"]))
        mask[j, :len(p["ids"])] = 1
      out.extend(v.numpy() for v in m.classify(ids, mask, types))
  return out


def tokenize(d, texts, kind, max_len=512, prefix=None):
  """HF ids via python sentencepiece (slow-tokenizer mapping), prefix + str.strip() like
  sentence-transformers, truncated to max_len ids with specials (None: no truncation). prefix: the
  prompt to prepend instead of e5's for kind."""
  import sentencepiece as spm
  sp = spm.SentencePieceProcessor(model_file=os.path.join(d, "sentencepiece.bpe.model"))
  pre = {"query": "query: ", "passage: ": "passage: ", "passage": "passage: ", "raw": ""}[kind]
  if prefix is not None:
    pre = prefix
  out = []
  for t in texts:
    ids = [i + 1 if i else 3 for i in sp.encode((pre + t).strip())]  # fairseq alignment
    if max_len:
      ids = ids[:max_len - 2]
    out.append([0] + ids + [2])
  return out


def embed_ids(model, seqs, batch=8):
  """model: a Ref or a model dir; seqs: lists of ids. Returns a list of float32 numpy vectors."""
  m = model if isinstance(model, Ref) else Ref(model).eval()
  out = []
  with torch.no_grad():
    for i in range(0, len(seqs), batch):
      chunk = seqs[i:i + batch]
      S = max(len(s) for s in chunk)
      ids = torch.full((len(chunk), S), m.pad, dtype=torch.long)  # right padding, like HF
      mask = torch.zeros((len(chunk), S), dtype=torch.long)
      for j, s in enumerate(chunk):
        ids[j, :len(s)] = torch.tensor(s)
        mask[j, :len(s)] = 1
      out.extend(v.numpy() for v in m(ids, mask))
  return out


def main():
  ap = argparse.ArgumentParser()
  ap.add_argument("model")
  ap.add_argument("--ids")
  ap.add_argument("--texts")
  ap.add_argument("--kind", default="passage")
  ap.add_argument("--batch", type=int, default=8)
  ap.add_argument("--threads", type=int, default=0)
  ap.add_argument("--onnx")
  ap.add_argument("--classifier", action="store_true", help="--onnx: export the cross-encoder's logits")
  ap.add_argument("--pairs")
  a = ap.parse_args()
  if a.threads:
    torch.set_num_threads(a.threads)
  m = Ref(a.model).eval()
  if a.onnx:
    ids = torch.zeros(2, 8, dtype=torch.long)
    out = "logits" if a.classifier else "embedding"
    mod = Classifier(m) if a.classifier else m
    kw = dict(input_names=["input_ids", "attention_mask"], output_names=[out], opset_version=14,
              dynamic_axes={"input_ids": {0: "b", 1: "s"}, "attention_mask": {0: "b", 1: "s"}})
    try:  # torch >= 2.5 defaults to the dynamo exporter on newer versions: keep the TorchScript one
      torch.onnx.export(mod, (ids, torch.ones_like(ids)), a.onnx, dynamo=False, **kw)
    except TypeError:  # torch 1.13 (Debian) has no dynamo argument
      torch.onnx.export(mod, (ids, torch.ones_like(ids)), a.onnx, **kw)
    return
  if a.pairs:
    for v in classify_pairs(m, [json.loads(l) for l in open(a.pairs) if l.strip()], a.batch):
      print(json.dumps([float(x) for x in v.tolist()]))
    return
  if a.ids:
    seqs = [json.loads(l) for l in open(a.ids) if l.strip()]
  else:
    seqs = tokenize(a.model, open(a.texts, encoding="utf-8").read().split("\n")[:-1], a.kind)
  for v in embed_ids(m, seqs, a.batch):
    print(json.dumps([float(x) for x in v.tolist()]))

if __name__ == "__main__":
  main()
