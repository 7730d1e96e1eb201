// ort_encoder.js - times ONNX Runtime (npm onnxruntime-node) on the exported reference encoder.
//   node bench/ort_encoder.js MODEL.onnx IDS.jsonl BATCH REPS THREADS [--print]
// Prints the median seconds per batch (and with --print the embeddings, one JSON array per line).
const path = require('path');
const fs = require('fs');
const ort = require(path.join(__dirname, '..', 'tools', 'node_modules', 'onnxruntime-node'));

async function main() {
  const [model, idsPath, batchS, repsS, threadsS, flag] = process.argv.slice(2);
  const batch = +batchS, reps = +repsS, threads = +threadsS;
  const seqs = fs.readFileSync(idsPath, 'utf8').split('\n').filter(Boolean).slice(0, batch).map(JSON.parse);
  const S = Math.max(...seqs.map((s) => s.length));
  const ids = new BigInt64Array(batch * S).fill(1n), mask = new BigInt64Array(batch * S);
  seqs.forEach((s, i) => s.forEach((v, j) => { ids[i * S + j] = BigInt(v); mask[i * S + j] = 1n; }));
  const sess = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all',
  });
  const feeds = { input_ids: new ort.Tensor('int64', ids, [batch, S]), attention_mask: new ort.Tensor('int64', mask, [batch, S]) };
  let out = await sess.run(feeds); // warm-up
  const t = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    out = await sess.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  t.sort((a, b) => a - b);
  const med = t.length % 2 ? t[(t.length - 1) / 2] : (t[t.length / 2 - 1] + t[t.length / 2]) / 2;
  if (flag === '--print') {
    const e = out.embedding, H = e.dims[1];
    for (let i = 0; i < batch; i++) console.log(JSON.stringify(Array.from(e.data.slice(i * H, (i + 1) * H))));
  }
  console.log(`ort median ${med.toFixed(5)} s rss ${Math.round(process.memoryUsage().rss / 1024)} KB`);
}
main().catch((e) => { console.error(e); process.exit(1); });
