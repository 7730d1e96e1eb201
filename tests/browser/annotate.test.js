// annotate.test.js - the annotation page in a real browser (Debian chromium driven by playwright-core):
// an extractive eval run over samples/course (the question file's labels removed), five answers
// labelled with the keyboard (a note typed for one), the page reloaded in the middle and resumed,
// an undo, a reference opening the player at its second; then `aularag report` shows those labels.
// Usage: node tests/browser/annotate.test.js   (env: AULARAG_BIN, AULARAG_ROOT, AULARAG_ARTIFACTS = where the
// screenshot goes, default build/test-artifacts)
'use strict';
const { spawn, spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = process.env.AULARAG_ROOT || path.resolve(__dirname, '..', '..');
const AR = process.env.AULARAG_BIN || path.join(ROOT, 'build', 'asan', 'aularag');
const ART = process.env.AULARAG_ARTIFACTS || path.join(ROOT, 'build', 'test-artifacts');
const { chromium } = require(path.join(ROOT, 'tools', 'node_modules', 'playwright-core'));

let passed = 0, failed = 0;
function check(what, cond, detail) {
  if (cond) { passed++; console.log('ok ' + what); }
  else { failed++; console.log('FAIL: ' + what + (detail !== undefined ? ': ' + JSON.stringify(detail).slice(0, 500) : '')); }
}

function startChild(cmd, args, re) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(cmd + ' did not start: ' + out.slice(-500))), 30000);
    const on = (d) => {
      out += d.toString();
      const m = out.match(re);
      if (m) { clearTimeout(timer); resolve({ proc: p, match: m, log: () => out }); }
    };
    p.stdout.on('data', on);
    p.stderr.on('data', on);
    p.on('exit', (code) => { clearTimeout(timer); reject(new Error(cmd + ' exited ' + code + ': ' + out.slice(-500))); });
  });
}

function stop(child) {
  return new Promise((resolve) => {
    if (child.proc.exitCode !== null) return resolve(child.proc.exitCode);
    child.proc.removeAllListeners('exit');
    child.proc.on('exit', (code, sig) => resolve(code === null ? sig : code));
    child.proc.kill('SIGTERM');
  });
}

function ar(args) {
  const r = spawnSync(AR, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('aularag ' + args[0] + ' failed: ' + (r.stderr || '').slice(-800));
  return r.stdout;
}

async function main() {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aularag-annotate-browser-'));
  let srv, ctx;
  try {
    const course = path.join(ROOT, 'samples', 'course');
    const idx = path.join(tmp, 'course.db');
    ar(['ingest', '-q', '-i', idx, '--manifest', path.join(course, 'manifest.csv'), course]);
    // the question file without its labels: the report's manual labels then come from this page alone
    const qs = fs.readFileSync(path.join(course, 'questions.jsonl'), 'utf8').split('\n').filter((l) => l.trim())
      .map((l) => { const q = JSON.parse(l); delete q.manual; return q; });
    const qpath = path.join(tmp, 'questions.jsonl');
    fs.writeFileSync(qpath, qs.map((q) => JSON.stringify(q)).join('\n') + '\n');
    const run = path.join(tmp, 'run');
    ar(['eval', '-i', idx, '--questions', qpath, '--out', run, '--quiet', '--bootstrap', '50']);
    const ids = qs.map((q) => String(q.id));

    srv = await startChild(AR, ['annotate', '--run', run, '--annotator', 'navegador', '--port', '0'],
      /listening on http:\/\/([\d.]+):(\d+)\//);
    const origin = 'http://127.0.0.1:' + srv.match[2];
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aularag-chromium-'));
    ctx = await chromium.launchPersistentContext(dataDir, {
      executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1100, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    const blocked = [];
    await ctx.route('**/*', (route) => {
      const u = route.request().url();
      if (u.startsWith(origin + '/')) return route.continue();
      blocked.push(u);
      return route.abort();
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    const ready = (id) => page.waitForFunction((want) => document.body.dataset.ready === want, id, { timeout: 15000 });

    await page.goto(origin + '/');
    await ready(ids[0]);
    check('page title is Portuguese', (await page.title()).includes('Anotação'));
    check('blind: the hint says so and no judge section', await page.$eval('#cego', (el) => !el.hidden) &&
      await page.$eval('#juiz-sec', (el) => el.hidden));
    check('retrieved segments are collapsed', await page.$eval('#trechos-box', (el) => !el.open && el.querySelectorAll('li').length > 0));
    check('the reference answer is offered', await page.$eval('#gabarito-box', (el) => !el.hidden));
    const item = await page.evaluate(async (id) => (await fetch('/api/items/' + id)).json(), ids[0]);
    const refBtn = await page.$('#refs button');
    check('references are buttons', !!refBtn && item.references.length > 0, item.references);
    if (refBtn) {
      await refBtn.click();
      await page.waitForSelector('#player-sec:not([hidden])');
      const src = await page.$eval('#player-el', (el) => el.src);
      const t = String(Math.floor(item.references[0].start));
      check('a reference opens the video at its second (' + t + ' s)',
        src.includes('start=' + t) || src.endsWith('#t=' + t), src);
      await page.click('#fechar');
    }

    const want = { [ids[0]]: 'C', [ids[1]]: 'P', [ids[2]]: 'I', [ids[3]]: 'C', [ids[4]]: 'I' };
    await page.keyboard.press('c');
    await ready(ids[1]);
    await page.click('#nota');
    await page.keyboard.type('faltou o prefetch');
    await page.click('#pergunta');          // leave the note box: keys label again
    await page.keyboard.press('p');
    await ready(ids[2]);
    await page.keyboard.press('3');         // digits work too: 3 = I
    await ready(ids[3]);
    check('progress after three labels', (await page.$eval('#progresso-txt', (el) => el.textContent)).startsWith('3 de ' + ids.length));

    await page.reload();                    // a closed tab loses nothing; the page resumes where it was
    await ready(ids[3]);
    check('after reload: resumes at the first unlabelled answer', true);
    check('after reload: progress kept', (await page.$eval('#progresso-txt', (el) => el.textContent)).startsWith('3 de '));
    await page.keyboard.press('1');
    await ready(ids[4]);
    await page.keyboard.press('p');         // a mistake ...
    await ready(ids[5]);
    await page.keyboard.press('Control+z'); // ... undone: back to it, unlabelled
    await ready(ids[4]);
    await page.waitForFunction(() => document.getElementById('atual').textContent === '—', null, { timeout: 10000 });
    check('undo clears the label and goes back', true);
    await page.keyboard.press('i');
    await ready(ids[5]);
    check('progress after five labels', (await page.$eval('#progresso-txt', (el) => el.textContent)).startsWith('5 de '));
    await page.keyboard.press('ArrowLeft');
    await ready(ids[4]);
    check('← goes back and shows the saved label', (await page.$eval('#atual', (el) => el.textContent)) === 'I');
    fs.mkdirSync(ART, { recursive: true });
    const shot = path.join(ART, 'annotate-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log('   screenshot: ' + shot);
    check('no page errors', errors.length === 0, errors);
    // only the player's own URL (the video at its second) may leave the server; it is aborted here
    check('nothing else outside the server was requested',
      blocked.every((u) => u.startsWith('https://www.youtube-nocookie.com/embed/') || u.startsWith('https://example.org/')), blocked);

    const recs = fs.readFileSync(path.join(run, 'annotations', 'navegador.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    check('the store has 7 records: 6 labels and one retraction', recs.length === 7 && recs.filter((r) => r.retract).length === 1, recs);
    check('the note was stored with its label', recs.some((r) => r.id === ids[1] && r.label === 'P' && r.note === 'faltou o prefetch'), recs);
    check('annotate exits 0 on SIGTERM', (await stop(srv)) === 0);
    srv = null;

    ar(['report', run]);
    const md = fs.readFileSync(path.join(run, 'report.md'), 'utf8');
    const manual = {};
    for (const block of md.split('\n---\n')) {
      const id = (block.match(/\*\*Pergunta (\S+)\*\*/) || [])[1];
      const lab = (block.match(/\*\*Anotação manual\*\*: (.*)/) || [])[1];
      if (id) manual[id] = lab;
    }
    for (const id of ids) {
      check('report.md: question ' + id + ' has manual label ' + (want[id] || '-'), manual[id] === (want[id] || '-'), manual[id]);
    }
  } catch (e) {
    check('browser test ran to the end', false, String(e && e.stack || e));
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    if (srv) await stop(srv);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log('test_annotate_browser: ' + passed + ' passed, ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
}

main();
