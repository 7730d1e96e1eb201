// hf_encode.js - reference ids from Hugging Face's own tokenizers binding (npm `tokenizers`).
// usage: node hf_encode.js TOKENIZER_JSON INPUT_JSON [--no-special]
//   INPUT_JSON holds a JSON array of strings (exact strings, so tabs/CR/odd characters survive);
//   prints one JSON array of ids per input string. Used by the tokenizer tests and the benchmark.
// usage: node hf_encode.js TOKENIZER_JSON --load REPEAT
//   times Tokenizer.fromFile (median of REPEAT) and prints it as JSON.
// usage: node hf_encode.js TOKENIZER_JSON --bench TEXT_FILE REPEAT
//   encodes every line of TEXT_FILE REPEAT times (encodeBatch of 64: the fastest batch size measured here)
//   and prints the wall times and their median as JSON.
// usage: node hf_encode.js TOKENIZER_JSON --pairs INPUT_JSON MAX_LENGTH
//   INPUT_JSON holds {"query": "...", "passages": ["...", ...]}; encodes each (query, passage) pair with the
//   file's pair template, truncated to MAX_LENGTH ids (the default longest_first strategy), and prints
//   {"ids": [...], "types": [...]} per pair (the cross-encoder tests' reference).
'use strict';
const path = require('path');
const fs = require('fs');
const { Tokenizer } = require(path.join(__dirname, '../../tools/node_modules/tokenizers'));

async function main() {
  const argv = process.argv.slice(2);
  if (argv[1] === '--load') {
    const times = [];
    for (let r = 0; r < parseInt(argv[2] || '3', 10); r++) {
      const t0 = process.hrtime.bigint();
      Tokenizer.fromFile(argv[0]);
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(JSON.stringify({ times, median: times[times.length >> 1] }) + '\n');
    return;
  }
  const tok = Tokenizer.fromFile(argv[0]);
  if (argv[1] === '--bench') {
    const lines = fs.readFileSync(argv[2], 'utf8').split('\n');
    if (lines.length && lines[lines.length - 1] === '') lines.pop();
    const rep = parseInt(argv[3] || '3', 10);
    const times = [];
    let n = 0;
    for (let r = 0; r < rep; r++) {
      const t0 = process.hrtime.bigint();
      n = 0;
      for (let i = 0; i < lines.length; i += 64) {
        const encs = await tok.encodeBatch(lines.slice(i, i + 64));
        for (const e of encs) n += e.getIds().length;
      }
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(JSON.stringify({ times, median: times[times.length >> 1], ids: n }) + '\n');
    return;
  }
  if (argv[1] === '--pairs') {
    const input = JSON.parse(fs.readFileSync(argv[2], 'utf8'));
    tok.setTruncation(parseInt(argv[3], 10));
    const out = [];
    for (const p of input.passages) {
      const e = await tok.encode(input.query, p);
      out.push(JSON.stringify({ ids: Array.from(e.getIds()), types: Array.from(e.getTypeIds()) }));
    }
    process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
    return;
  }
  const special = argv[2] !== '--no-special';
  const input = JSON.parse(fs.readFileSync(argv[1], 'utf8'));
  const out = [];
  for (let i = 0; i < input.length; i += 1024) {
    const encs = await tok.encodeBatch(input.slice(i, i + 1024), { addSpecialTokens: special });
    for (const e of encs) out.push(JSON.stringify(Array.from(e.getIds())));
  }
  process.stdout.write(out.join('\n') + (out.length ? '\n' : ''));
}
main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
