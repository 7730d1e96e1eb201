// hf_encode.js - reference ids from Hugging Face's own tokenizers binding (npm `tokenizers`).
// usage: node hf_encode.js TOKENIZER_JSON INPUT_JSON [--no-special]
//   INPUT_JSON holds a JSON array of strings (exact strings, so tabs/CR/odd characters survive);
//   prints one JSON array of ids per input string. Used by the tokenizer tests and the benchmark.
// usage: node hf_encode.js TOKENIZER_JSON --bench TEXT_FILE REPEAT
//   encodes every line of TEXT_FILE REPEAT times (batch API) and prints the best wall time in seconds.
'use strict';
const path = require('path');
const fs = require('fs');
const { Tokenizer } = require(path.join(__dirname, '../../tools/node_modules/tokenizers'));

async function main() {
  const argv = process.argv.slice(2);
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
      for (let i = 0; i < lines.length; i += 1024) {
        const encs = await tok.encodeBatch(lines.slice(i, i + 1024));
        for (const e of encs) n += e.getIds().length;
      }
      times.push(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    times.sort((a, b) => a - b);
    process.stdout.write(JSON.stringify({ times, median: times[times.length >> 1], ids: n }) + '\n');
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
