#!/usr/bin/python3
"""onnx_q8.py - the ORT int8 baseline: the exported fp32 encoder with every MatMul by a weight replaced by
com.microsoft.DynamicQuantizeMatMul (int8 weights, one scale per output column, activations quantized per
tensor at run time by ORT), which is what onnxruntime's quantize_dynamic turns them into after fusion.
  onnx_q8.py IN.onnx OUT.onnx"""
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper

m = onnx.load(sys.argv[1])
g = m.graph
inits = {t.name: t for t in g.initializer}
for node in g.node:  # the exporter writes the weights as Constant nodes
  if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
    inits[node.output[0]] = node.attribute[0].t
nodes, n_q = [], 0
for node in g.node:
  w = inits.get(node.input[1]) if node.op_type == "MatMul" and len(node.input) == 2 else None
  if w is None or len(w.dims) != 2:
    nodes.append(node)
    continue
  W = numpy_helper.to_array(w).astype(np.float32)  # [K, N]
  s = np.abs(W).max(axis=0) / 127.0
  s[s == 0] = 1.0
  q = np.clip(np.round(W / s), -127, 127).astype(np.int8)
  base = node.input[1] + "_q8"
  g.initializer.extend([numpy_helper.from_array(q, base), numpy_helper.from_array(s.astype(np.float32), base + "_scale"),
                        numpy_helper.from_array(np.zeros(W.shape[1], np.int8), base + "_zp")])
  nodes.append(helper.make_node("DynamicQuantizeMatMul", [node.input[0], base, base + "_scale", base + "_zp"],
                                list(node.output), name=node.name + "_q8", domain="com.microsoft"))
  n_q += 1
used = {i for n in nodes for i in n.input}
nodes = [n for n in nodes if n.op_type != "Constant" or n.output[0] in used]
keep = [t for t in g.initializer if t.name in used]
del g.initializer[:]
g.initializer.extend(keep)
del g.node[:]
g.node.extend(nodes)
if not any(o.domain == "com.microsoft" for o in m.opset_import):
  m.opset_import.append(helper.make_opsetid("com.microsoft", 1))
onnx.save(m, sys.argv[2])
print("%d MatMul -> DynamicQuantizeMatMul" % n_q, file=sys.stderr)
