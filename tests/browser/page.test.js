// page.test.js - the student page in a real browser (Debian chromium driven by playwright-core):
// type a question, watch the answer arrive, click references and segment times, check the player's
// URL carries the start second; desktop and phone widths; once with extractive answers over
// samples/course, once with a streamed LLM answer (tests/llm_server.py).
// Nothing outside the server is loaded: every other request is aborted and counted.
// Usage: node tests/browser/page.test.js   (env: AULARAG_BIN, AULARAG_ROOT, AULARAG_TEST_INDEX,
// AULARAG_ARTIFACTS = where screenshots go, default build/test-artifacts)
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

// Starts a child and resolves with the first regex match on its stdout/stderr.
function startChild(cmd, args, re, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
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

function buildIndex(tmp) {
  if (process.env.AULARAG_TEST_INDEX) return process.env.AULARAG_TEST_INDEX;
  const course = path.join(ROOT, 'samples', 'course');
  const idx = path.join(tmp, 'course.db');
  const args = ['ingest', '-i', idx];
  if (fs.existsSync(path.join(course, 'manifest.csv'))) args.push('--manifest', path.join(course, 'manifest.csv'));
  args.push(course);
  const r = spawnSync(AR, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('ingest of samples/course failed: ' + r.stderr.slice(-800));
  return idx;
}

function youtube(url) { return /^https?:\/\/(www\.|m\.)?(youtube\.com|youtu\.be|youtube-nocookie\.com)\//.test(url); }

// One browser session against one server: ask, watch, click, check. Returns the answer texts seen.
async function session(label, origin, question, opts) {
  const t0 = Date.now();
  const lap = (what) => console.log('   (' + label + ': ' + what + ' at ' + ((Date.now() - t0) / 1000).toFixed(1) + ' s)');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aularag-chromium-'));
  const ctx = await chromium.launchPersistentContext(dataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1100, height: 900 },
  });
  const blocked = [];
  await ctx.route('**/*', (route) => {
    const u = route.request().url();
    if (u.startsWith(origin + '/')) return route.continue();
    blocked.push(u);
    return route.abort();
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  lap('browser up');
  const consoleErrors = [];
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  try {
    await page.goto(origin + '/');
    check(label + ': page title is Portuguese', (await page.title()).includes('Pergunte às aulas'));
    check(label + ': the question box has a label',
      await page.$eval('#pergunta', (el) => el.labels.length === 1 && el.labels[0].textContent.trim() === 'Sua pergunta'));
    check(label + ': the answer region is aria-live',
      await page.$eval('#resposta', (el) => el.getAttribute('aria-live') === 'polite'));
    await page.waitForFunction(() => document.getElementById('sobre').textContent.includes('vídeos'), null, { timeout: 10000 });

    await page.click('#pergunta');
    await page.keyboard.type(question);
    // sample the answer while it streams, to see it grow
    const seen = [];
    const sampler = setInterval(async () => {
      try { seen.push(await page.$eval('#resposta', (el) => el.textContent)); } catch (e) { /* page closing */ }
    }, 40);
    await page.keyboard.press('Enter');   // keyboard only: Enter submits
    await page.waitForFunction(() => document.getElementById('status').textContent === 'Pronto.', null, { timeout: 30000 });
    clearInterval(sampler);
    lap('answer done');
    const answer = await page.$eval('#resposta', (el) => el.textContent);
    check(label + ': an answer arrived', answer.trim().length > 0, answer);
    check(label + ': the answer kind is shown', (await page.$eval('#tipo', (el) => el.textContent)) === opts.kindLabel,
      await page.$eval('#tipo', (el) => el.textContent));
    const nSegs = await page.$$eval('#trechos > li.seg', (els) => els.length);
    check(label + ': retrieved segments are listed with time and score', nSegs > 0 &&
      await page.$eval('#trechos > li.seg', (el) => /\d\d:\d\d:\d\d/.test(el.textContent) && /pontuação \d/.test(el.textContent)), nSegs);

    // references: click each (one per video), check the player's URL carries the start second
    const refs = await page.$$eval('#refs button.ref', (bs) => bs.map((b) => ({ start: b.dataset.start, label: b.textContent })));
    check(label + ': references are buttons', refs.length > 0, refs);
    const data = await page.evaluate(async (q) => {
      const r = await fetch('/api/ask', { method: 'POST', body: JSON.stringify({ question: q, k: 10 }) });
      return r.json();
    }, question);
    const blockedBeforeClicks = blocked.length;
    const kinds = new Set();
    for (let i = 0; i < refs.length; i++) {
      const want = data.references[i];
      const b = (await page.$$('#refs button.ref'))[i];
      await b.focus();
      await page.keyboard.press('Enter');           // references work from the keyboard
      await page.waitForSelector('#player-sec:not([hidden])');
      const focused = await page.evaluate(() => document.activeElement && document.activeElement.id);
      const t = Math.floor(want.start);
      if (!want.url) {
        const msg = await page.$eval('#player', (el) => el.textContent);
        check(label + ': a video without URL says so, with the time', msg.includes(want.start_hms), msg);
        kinds.add('none');
      } else if (youtube(want.url)) {
        const src = await page.$eval('#player-el', (el) => el.tagName + ' ' + el.src);
        check(label + ': YouTube reference opens an embed at start=' + t,
          src.startsWith('IFRAME https://www.youtube-nocookie.com/embed/') && new URL(src.slice(7)).searchParams.get('start') === String(t), src);
        kinds.add('youtube');
      } else {
        const src = await page.$eval('#player-el', (el) => el.tagName + ' ' + el.getAttribute('src'));
        check(label + ': video reference opens <video> at #t=' + t, src === 'VIDEO ' + want.url.split('#')[0] + '#t=' + t, src);
        kinds.add('video');
      }
      check(label + ': focus moves to the player', focused === 'player-h', focused);
    }
    // each retrieved segment's time button opens its video at its start (first segment per video)
    const segButtons = await page.$$('#trechos li.seg button.ref');
    const seenVideos = new Set();
    for (let i = 0; i < segButtons.length && i < data.segments.length; i++) {
      const seg = data.segments[i];
      if (seenVideos.has(seg.video_id)) continue;
      seenVideos.add(seg.video_id);
      await segButtons[i].click();
      const t = Math.floor(seg.start);
      const src = await page.$eval('#player', (el) => {
        const p = el.querySelector('#player-el');
        return p ? p.tagName + ' ' + p.getAttribute('src') : 'TEXT ' + el.textContent;
      });
      const want = !seg.url ? 'TEXT' : youtube(seg.url) ? 'IFRAME https://www.youtube-nocookie.com/embed/' : 'VIDEO ' + seg.url.split('#')[0] + '#t=' + t;
      const ok = src.startsWith(want) && (!youtube(seg.url || '') || new URL(src.slice(7)).searchParams.get('start') === String(t));
      check(label + ': segment ' + seg.video_id + ' opens at ' + t + ' s', ok, [src, want]);
      kinds.add(!seg.url ? 'none' : youtube(seg.url) ? 'youtube' : 'video');
    }
    console.log('   (' + label + ': player kinds checked: ' + [...kinds].join(', ') + ')');

    // keyboard: Tab from the question reaches the submit button, with a visible focus ring
    await page.focus('#pergunta');
    await page.keyboard.press('Tab');
    const ring = await page.evaluate(() => {
      const el = document.activeElement;
      return el.id + ' ' + getComputedStyle(el).outlineStyle;
    });
    check(label + ': Tab reaches the button with a visible focus outline', ring === 'enviar solid', ring);

    lap('players checked');
    // a folded segment unfolds from its toggle, which reports its state to screen readers
    const fold = await page.$eval('#trechos li.seg p', (el) => el.scrollHeight > el.clientHeight + 2);
    await page.click('#trechos li.seg button.more');
    const unfolded = await page.$eval('#trechos li.seg', (li) => !li.querySelector('p').classList.contains('clamp') &&
      li.querySelector('button.more').getAttribute('aria-expanded') === 'true');
    check(label + ': a long segment is folded and unfolds on request', fold && unfolded, [fold, unfolded]);
    // close the player before the screenshots: its aborted iframe/video keeps chromium's
    // screenshot waiting for seconds (the player was checked above)
    await page.click('#fechar');
    check(label + ': closing the player returns focus to the question', await page.evaluate(() => document.activeElement.id) === 'pergunta');
    fs.mkdirSync(ART, { recursive: true });
    for (const [name, w, h] of [[label, 1100, 900], [label + '-phone', 360, 740]]) {
      await page.setViewportSize({ width: w, height: h });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
      check(label + ': no horizontal scrolling at ' + w + ' px', wide);
      const shot = path.join(ART, 'page-' + name + '.png');
      await page.screenshot({ path: shot, fullPage: true, animations: 'disabled', caret: 'hide' });
      lap('screenshot ' + name);
      console.log('   screenshot: ' + shot);
    }
    // the page itself loads nothing from elsewhere; only the players reach for their video (aborted)
    const targets = data.references.concat(data.segments).filter((r) => r.url).map((r) => r.url.split('#')[0]);
    check(label + ': nothing external loaded before a player was opened', blockedBeforeClicks === 0, blocked);
    check(label + ': external requests are only the players\' videos (' + blocked.length + ' blocked)',
      blocked.every((u) => u.startsWith('https://www.youtube-nocookie.com/embed/') || targets.includes(u.split('#')[0])), blocked);
    check(label + ': no script errors', consoleErrors.length === 0, consoleErrors);
    return { seen, answer, data };
  } finally {
    lap('closing');
    await ctx.close();
    lap('closed');
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// An index of samples/course whose videos are split into courses by `courseOf(i)` (row i of its manifest).
function buildCourseIndex(tmp, name, courseOf) {
  const course = path.join(ROOT, 'samples', 'course');
  const rows = fs.readFileSync(path.join(course, 'manifest.csv'), 'utf8').trim().split(/\r?\n/);
  const man = path.join(tmp, name + '.csv');
  fs.writeFileSync(man, rows[0] + ',course\n' + rows.slice(1).map((r, i) => course + '/' + r + ',' + courseOf(i)).join('\n') + '\n');
  const idx = path.join(tmp, name + '.db');
  const r = spawnSync(AR, ['ingest', '-i', idx, '--manifest', man, '-q'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error('ingest of ' + name + ' failed: ' + r.stderr.slice(-800));
  return idx;
}

// The course picker: hidden with one course, shown with two; the choice is sent and kept in ?course=.
async function coursePicker(tmp, question) {
  const one = buildCourseIndex(tmp, 'one-course', () => 'tf');
  const two = buildCourseIndex(tmp, 'two-courses', (i) => (i < 2 ? 'tf-a' : 'tf-b'));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'aularag-chromium-'));
  const ctx = await chromium.launchPersistentContext(dataDir, {
    executablePath: '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  let srv;
  try {
    const page = ctx.pages()[0] || await ctx.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    for (const [idx, n] of [[one, 1], [two, 2]]) {
      srv = await startChild(AR, ['serve', '-i', idx, '--port', '0'], /listening on http:\/\/([\d.]+):(\d+)\//);
      const origin = 'http://127.0.0.1:' + srv.match[2];
      const coursesLoaded = page.waitForResponse((r) => r.url().endsWith('/api/courses'));
      await page.goto(origin + '/');
      await coursesLoaded;
      await page.waitForFunction(() => document.getElementById('sobre').textContent.includes('vídeos'), null, { timeout: 10000 });
      const hidden = await page.$eval('#curso-row', (el) => el.hidden && getComputedStyle(el).display === 'none');
      if (n === 1) {
        check('courses: no picker with one course', hidden);
      } else {
        check('courses: a labelled picker with two courses', !hidden &&
          await page.$eval('#curso', (el) => el.labels.length === 1 && el.options.length === 3 && el.value === ''));
        await page.selectOption('#curso', 'tf-b');
        check('courses: the choice goes into the URL', new URL(page.url()).searchParams.get('course') === 'tf-b', page.url());
        const sent = page.waitForRequest((r) => r.url().includes('/api/ask/stream'));
        await page.fill('#pergunta', question);
        await page.keyboard.press('Enter');
        const url = new URL((await sent).url());
        check('courses: the question is sent with course=tf-b', url.searchParams.get('course') === 'tf-b', url.href);
        await page.waitForFunction(() => document.getElementById('status').textContent === 'Pronto.', null, { timeout: 30000 });
        const want = await page.evaluate(async (q) => (await (await fetch('/api/search?k=10&course=tf-b&q=' + encodeURIComponent(q))).json()).segments.map((s) => s.title), question);
        const shown = await page.$$eval('#trechos > li.seg', (els) => els.map((e) => e.textContent));
        check('courses: the segments shown are the course\'s', shown.length === want.length && want.length > 0 &&
          shown.every((t, i) => t.includes(want[i])), [shown.length, want]);
        const reload = page.waitForResponse((r) => r.url().endsWith('/api/courses'));
        await page.reload();
        await reload;
        await page.waitForFunction(() => !document.getElementById('curso-row').hidden, null, { timeout: 10000 });
        check('courses: a reload keeps the chosen course', (await page.$eval('#curso', (el) => el.value)) === 'tf-b');
      }
      check('courses: server ' + n + ' exits 0', (await stop(srv)) === 0);
      srv = null;
    }
    check('courses: no script errors', errors.length === 0, errors);
  } finally {
    if (srv) await stop(srv);
    await ctx.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function main() {
  const T0 = Date.now();
  const mark = (what) => console.log('   (' + what + ' at ' + ((Date.now() - T0) / 1000).toFixed(1) + ' s)');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'aularag-browser-'));
  let srv, llm;
  try {
    const idx = buildIndex(tmp);
    mark('index built');
    const question = process.env.AULARAG_TEST_QUESTION || 'Para que serve o prefetch em um pipeline tf.data?';

    // 1. extractive answers, desktop and phone widths
    srv = await startChild(AR, ['serve', '-i', idx, '--port', '0'], /listening on http:\/\/([\d.]+):(\d+)\//);
    const origin = 'http://127.0.0.1:' + srv.match[2];
    mark('server up');
    const ex = await session('extractive', origin, question, { kindLabel: 'extraída dos trechos' });
    check('extractive: the page shows the same answer as POST /api/ask', ex.answer === ex.data.answer,
      [ex.answer, ex.data.answer]);
    mark('session done');
    check('server exits 0 on SIGTERM', (await stop(srv)) === 0, srv.log().slice(-300));
    mark('server stopped');
    srv = null;

    // 2. the course picker
    await coursePicker(tmp, question);
    mark('course picker done');

    // 3. a streamed LLM answer
    const tokens = ['A retro', 'propagação ', 'aplica ', 'a regra ', 'da cadeia ', 'camada ', 'a camada ', '[1].'];
    const script = path.join(tmp, 'script.json');
    fs.writeFileSync(script, JSON.stringify({ replies: [{ times: 0, chunks: tokens, chunk_delay_s: 0.15 }] }));
    llm = await startChild('/usr/bin/python3', [path.join(ROOT, 'tests', 'llm_server.py'), '--script', script, '--port', '0'], /PORT (\d+)/);
    srv = await startChild(AR, ['serve', '-i', idx, '--port', '0', '--no-cache', '--llm-url', 'http://127.0.0.1:' + llm.match[1],
      '--llm-model', 'test'], /listening on http:\/\/([\d.]+):(\d+)\//);
    const lo = await session('llm', 'http://127.0.0.1:' + srv.match[2], question, { kindLabel: 'gerada pelo LLM' });
    const full = tokens.join('');
    const partial = new Set(lo.seen.filter((s) => s.length > 0 && s.length < full.length && full.startsWith(s)));
    check('llm: the answer appeared in pieces before it was complete (' + partial.size + ' partial states)', partial.size >= 2,
      lo.seen.slice(0, 20));
    check('llm: the final answer is the streamed text', lo.answer === full, lo.answer);
    check('llm server exits 0 on SIGTERM', (await stop(srv)) === 0, srv.log().slice(-300));
    srv = null;
  } catch (e) {
    check('browser test ran to the end', false, String(e && e.stack || e));
  } finally {
    if (srv) await stop(srv);
    if (llm) await stop(llm);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log('test_server_browser: ' + passed + ' passed, ' + failed + ' failed');
  process.exit(failed ? 1 : 0);
}

main();
