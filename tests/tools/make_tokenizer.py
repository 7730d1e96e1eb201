#!/usr/bin/python3
"""make_tokenizer.py - trains a small XLM-R-style SentencePiece Unigram model and writes a matching
Hugging Face tokenizer.json, for tests and benchmarks (no real XLM-R files are available here).

usage: make_tokenizer.py --text FILE --vocab N --out DIR [--layout xlmr|t430|modern] [--pad-to N]
                         [--no-cache]

Writes DIR/sentencepiece.bpe.model (spm_train --model_type=unigram --normalization_rule_name=nmt_nfkc,
<unk>=0 <s>=1 </s>=2 like XLM-R) and DIR/tokenizer.json laid out like XLM-R's (e5-spec.md §3.5):
Unigram vocab [<s>,<pad>,</s>,<unk>] + spm pieces[3:] + [<mask>], unk_id 3, TemplateProcessing <s> $A </s>,
the five added special tokens (<mask> with lstrip). --layout picks the normalizer/pre-tokenizer variant:
  xlmr   (default) Precompiled; Sequence[WhitespaceSplit, Metaspace(add_prefix_space)]  - the hub XLM-R file
  t430   Sequence[Precompiled, Replace(" {2,}", " ")]; Metaspace(add_prefix_space)      - transformers 4.30 converter
  modern Sequence[Precompiled, Replace(" {2,}", " ")]; Metaspace(prepend_scheme always, split) - newer converters
--pad-to N appends synthetic NORMAL pieces to both files until the spm model has N pieces (load benchmarks).
Trained models are cached under $AULARAG_SPM_CACHE (default /tmp/aularag-spm-cache) keyed by the text's
hash and the parameters, because spm_train of a 32k vocabulary takes a while.
"""
import argparse
import base64
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

SPM_TRAIN = "spm_train"


# ---- a minimal protobuf reader/writer (independent of the C loader under test) ----
def varint(buf, i):
    shift = v = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def fields(buf):
    """yields (field, wire, value, raw_bytes_of_the_whole_field)"""
    i = 0
    while i < len(buf):
        start = i
        tag, i = varint(buf, i)
        f, w = tag >> 3, tag & 7
        if w == 0:
            v, i = varint(buf, i)
        elif w == 1:
            v = buf[i:i + 8]
            i += 8
        elif w == 2:
            n, i = varint(buf, i)
            v = buf[i:i + n]
            i += n
        elif w == 5:
            v = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("bad wire type %d" % w)
        yield f, w, v, buf[start:i]


def enc_varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def enc_piece(piece, score, ptype=1):
    body = b"\x0a" + enc_varint(len(piece.encode())) + piece.encode()
    body += b"\x15" + struct.pack("<f", score)
    if ptype != 1:
        body += b"\x18" + enc_varint(ptype)
    return b"\x0a" + enc_varint(len(body)) + body


def read_model(path):
    """-> (pieces [(piece, score, type)], normalizer dict)"""
    buf = open(path, "rb").read()
    pieces, norm = [], {"name": "", "charsmap": b"", "add_dummy_prefix": True,
                        "remove_extra_whitespaces": True}
    for f, w, v, _ in fields(buf):
        if f == 1 and w == 2:
            p, s, t = "", 0.0, 1
            for pf, pw, pv, _ in fields(v):
                if pf == 1:
                    p = pv.decode("utf-8")
                elif pf == 2:
                    s = struct.unpack("<f", pv)[0]
                elif pf == 3:
                    t = pv
            pieces.append((p, s, t))
        elif f == 3 and w == 2:
            for nf, nw, nv, _ in fields(v):
                if nf == 1:
                    norm["name"] = nv.decode()
                elif nf == 2:
                    norm["charsmap"] = bytes(nv)
                elif nf == 3:
                    norm["add_dummy_prefix"] = bool(nv)
                elif nf == 4:
                    norm["remove_extra_whitespaces"] = bool(nv)
    return pieces, norm


def pad_model(src, dst, n_total):
    """Appends synthetic NORMAL pieces (scores below every real one) until the model has n_total pieces."""
    buf = open(src, "rb").read()
    pieces, _ = read_model(src)
    have = set(p for p, _, _ in pieces)
    lo = min(s for _, s, t in pieces if t == 1)
    out = bytearray()
    # pieces (field 1) must stay together and first; rewrite: old pieces, new pieces, other fields.
    rest = bytearray()
    for f, w, v, raw in fields(buf):
        (out if f == 1 else rest).extend(raw)
    k, n = 0, len(pieces)
    while n < n_total:
        p = "\u2581zz%x" % k if k % 2 == 0 else "q%xj" % k
        k += 1
        if p in have:
            continue
        out += enc_piece(p, lo - 1.0 - k * 1e-4)
        n += 1
    open(dst, "wb").write(bytes(out + rest))


# ---- training (cached) ----
def train(text, vocab, cache_dir, use_cache=True):
    h = hashlib.sha256()
    h.update(open(text, "rb").read())
    key = "%s-v%d-nmt_nfkc-unigram-1" % (h.hexdigest()[:16], vocab)
    cached = os.path.join(cache_dir, key + ".model")
    if use_cache and os.path.exists(cached):
        return cached
    os.makedirs(cache_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="spm-train-", dir=cache_dir)
    try:
        prefix = os.path.join(tmp, "m")
        cmd = [SPM_TRAIN, "--input=" + text, "--model_prefix=" + prefix, "--vocab_size=%d" % vocab,
               "--model_type=unigram", "--normalization_rule_name=nmt_nfkc", "--character_coverage=0.9995",
               "--hard_vocab_limit=false", "--num_threads=2", "--input_sentence_size=2000000",
               "--shuffle_input_sentence=false", "--minloglevel=2"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if r.returncode != 0:
            sys.stderr.write(r.stderr.decode(errors="replace")[-2000:])
            raise SystemExit("make_tokenizer.py: spm_train failed (exit %d)" % r.returncode)
        os.replace(prefix + ".model", cached)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return cached


# ---- tokenizer.json ----
def special(id_, content, lstrip=False):
    return {"id": id_, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
            "normalized": False, "special": True}


def tokenizer_json(pieces, norm, layout):
    assert pieces[0][0] == "<unk>" and pieces[1][0] == "<s>" and pieces[2][0] == "</s>", "not XLM-R ids"
    vocab = [["<s>", 0.0], ["<pad>", 0.0], ["</s>", 0.0], ["<unk>", 0.0]]
    vocab += [[p, s] for p, s, _ in pieces[3:]]
    mask_id = len(vocab)
    vocab.append(["<mask>", 0.0])
    pre = {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(norm["charsmap"]).decode()}
    if layout == "xlmr":
        normalizer = pre
        pre_tok = {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"},
            {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}]}
        decoder = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}
    else:
        normalizer = {"type": "Sequence", "normalizers": [
            pre, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}
        if layout == "t430":
            pre_tok = {"type": "Metaspace", "replacement": "\u2581", "add_prefix_space": True}
        else:
            pre_tok = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
        decoder = dict(pre_tok)
    tpl = lambda *items: items  # noqa: E731
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(0, "<s>"), special(1, "<pad>"), special(2, "</s>"), special(3, "<unk>"),
                         special(mask_id, "<mask>", lstrip=True)],
        "normalizer": normalizer,
        "pre_tokenizer": pre_tok,
        "post_processor": {
            "type": "TemplateProcessing",
            "single": list(tpl({"SpecialToken": {"id": "<s>", "type_id": 0}},
                               {"Sequence": {"id": "A", "type_id": 0}},
                               {"SpecialToken": {"id": "</s>", "type_id": 0}})),
            "pair": list(tpl({"SpecialToken": {"id": "<s>", "type_id": 0}},
                             {"Sequence": {"id": "A", "type_id": 0}},
                             {"SpecialToken": {"id": "</s>", "type_id": 0}},
                             {"SpecialToken": {"id": "</s>", "type_id": 0}},
                             {"Sequence": {"id": "B", "type_id": 0}},
                             {"SpecialToken": {"id": "</s>", "type_id": 0}})),
            "special_tokens": {
                "<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}},
        "decoder": decoder,
        "model": {"type": "Unigram", "unk_id": 3, "vocab": vocab},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", required=True, help="training text, one sentence per line")
    ap.add_argument("--vocab", type=int, required=True, help="vocabulary size (spm pieces)")
    ap.add_argument("--out", required=True, help="output directory (created)")
    ap.add_argument("--layout", default="xlmr", choices=["xlmr", "t430", "modern"])
    ap.add_argument("--pad-to", type=int, default=0, help="pad with synthetic pieces to this many")
    ap.add_argument("--no-cache", action="store_true")
    a = ap.parse_args()
    cache = os.environ.get("AULARAG_SPM_CACHE", "/tmp/aularag-spm-cache")
    model = train(a.text, a.vocab, cache, not a.no_cache)
    os.makedirs(a.out, exist_ok=True)
    dst = os.path.join(a.out, "sentencepiece.bpe.model")
    if a.pad_to:
        pad_model(model, dst, a.pad_to)
    else:
        shutil.copyfile(model, dst)
    pieces, norm = read_model(dst)
    if norm["name"] != "nmt_nfkc" or not norm["charsmap"]:
        raise SystemExit("make_tokenizer.py: trained model lacks the nmt_nfkc charsmap")
    with open(os.path.join(a.out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer_json(pieces, norm, a.layout), f, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
