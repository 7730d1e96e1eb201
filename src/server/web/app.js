// app.js - the student page: ask, stream the answer (SSE), open the cited video moment.
'use strict';

const $ = (id) => document.getElementById(id);
let source = null;      // the EventSource of the answer being streamed
let answerText = '';

function setStatus(text, isError) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', !!isError);
}

function hms(sec) {
  sec = Math.max(0, Math.floor(sec));
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  return [h, m, s].map((x) => String(x).padStart(2, '0')).join(':');
}

// The YouTube video id of a URL, or null for other hosts.
function youtubeId(url) {
  let u;
  try { u = new URL(url); } catch (e) { return null; }
  const host = u.hostname.replace(/^www\.|^m\./, '');
  const ok = (id) => (id && /^[A-Za-z0-9_-]{6,20}$/.test(id) ? id : null);
  if (host === 'youtu.be') return ok(u.pathname.slice(1).split('/')[0]);
  if (host === 'youtube.com' || host === 'youtube-nocookie.com') {
    if (u.pathname === '/watch') return ok(u.searchParams.get('v'));
    const m = u.pathname.match(/^\/(embed|shorts|live|v)\/([^/?#]+)/);
    if (m) return ok(m[2]);
  }
  return null;
}

// Where the player should point for a video URL at a second: YouTube embed with start, else #t=.
function playerSrc(url, start) {
  const t = Math.max(0, Math.floor(start));
  const id = youtubeId(url);
  if (id) return { kind: 'youtube', src: 'https://www.youtube-nocookie.com/embed/' + id + '?start=' + t + '&autoplay=1&rel=0' };
  return { kind: 'video', src: url.split('#')[0] + '#t=' + t };
}

function openPlayer(item) {
  const sec = $('player-sec'), box = $('player'), note = $('player-link');
  box.replaceChildren();
  note.replaceChildren();
  $('player-h').textContent = (item.title || item.video_id) + ' — ' + hms(item.start);
  if (!item.url) {
    box.textContent = 'Este vídeo não tem URL no índice; procure-o pelo título, no momento ' + hms(item.start) + '.';
  } else {
    const p = playerSrc(item.url, item.start);
    let el;
    if (p.kind === 'youtube') {
      el = document.createElement('iframe');
      el.title = 'Vídeo: ' + (item.title || item.video_id);
      el.allow = 'autoplay; encrypted-media; picture-in-picture';
      el.allowFullscreen = true;
      el.referrerPolicy = 'strict-origin-when-cross-origin';
    } else {
      el = document.createElement('video');
      el.controls = true;
      el.preload = 'metadata';
      el.setAttribute('aria-label', 'Vídeo: ' + (item.title || item.video_id));
    }
    el.id = 'player-el';
    el.src = p.src;
    box.appendChild(el);
    const a = document.createElement('a');
    a.href = item.link || p.src;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = 'Abrir o vídeo em outra aba';
    note.appendChild(a);
  }
  sec.hidden = false;
  $('player-h').focus();
}

function refButton(item, label) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'ref';
  b.textContent = label;
  b.setAttribute('aria-label', 'Assistir "' + (item.title || item.video_id) + '" a partir de ' + hms(item.start));
  b.dataset.start = String(Math.floor(item.start));
  b.addEventListener('click', () => openPlayer(item));
  return b;
}

function showSegments(data) {
  const list = $('trechos');
  list.replaceChildren();
  for (const s of data.segments || []) {
    const li = document.createElement('li');
    li.className = 'seg';
    const head = document.createElement('div');
    head.className = 'seg-head';
    const title = document.createElement('strong');
    title.textContent = s.title || s.video_id;
    const time = refButton(s, '▶ ' + (s.start_hms || hms(s.start)) + '–' + (s.end_hms || hms(s.end)));
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = 'pontuação ' + Number(s.score).toFixed(4);
    head.append(title, time, score);
    // long segments start folded to four lines; the toggle shows the whole transcript
    const text = document.createElement('p');
    text.className = 'clamp';
    text.id = 'trecho-' + s.rank;
    text.textContent = s.text;
    const more = document.createElement('button');
    more.type = 'button';
    more.className = 'more';
    more.textContent = 'Mostrar o trecho inteiro';
    more.setAttribute('aria-expanded', 'false');
    more.setAttribute('aria-controls', text.id);
    more.addEventListener('click', () => {
      const open = text.classList.toggle('clamp') === false;
      more.setAttribute('aria-expanded', String(open));
      more.textContent = open ? 'Mostrar menos' : 'Mostrar o trecho inteiro';
    });
    li.append(head, text, more);
    list.appendChild(li);
  }
  $('trechos-sec').hidden = false;
  if (!(data.segments || []).length) {
    const li = document.createElement('li');
    li.textContent = 'Nenhum trecho encontrado para esta pergunta.';
    list.appendChild(li);
  }
}

function showReferences(data) {
  const list = $('refs');
  list.replaceChildren();
  const refs = data.references || [];
  for (const r of refs) {
    const li = document.createElement('li');
    li.appendChild(refButton(r, '▶ ' + (r.title || r.video_id) + ' — ' + (r.start_hms || hms(r.start))));
    list.appendChild(li);
  }
  $('refs-h').hidden = refs.length === 0;
  if (data.answer && !answerText) $('resposta').textContent = data.answer;
  const kind = data.answer_kind === 'llm' ? 'gerada pelo LLM' : data.answer_kind === 'extractive' ? 'extraída dos trechos' : '';
  $('tipo').textContent = kind;
}

function finish(message, isError) {
  if (source) { source.close(); source = null; }
  $('resposta').setAttribute('aria-busy', 'false');
  $('enviar').disabled = false;
  $('parar').hidden = true;
  setStatus(message, isError);
}

function ask(question) {
  if (source) source.close();
  answerText = '';
  $('resposta').textContent = '';
  $('resposta').setAttribute('aria-busy', 'true');
  $('refs').replaceChildren();
  $('refs-h').hidden = true;
  $('tipo').textContent = '';
  $('resposta-sec').hidden = false;
  $('enviar').disabled = true;
  $('parar').hidden = false;
  setStatus('Buscando nas aulas…');
  const qs = new URLSearchParams({ q: question, k: $('k').value, mode: $('modo').value });
  if (!$('curso-row').hidden) qs.set('course', $('curso').value);  // '' = every course
  source = new EventSource('/api/ask/stream?' + qs.toString());
  source.addEventListener('segments', (e) => {
    showSegments(JSON.parse(e.data));
    setStatus('Escrevendo a resposta…');
  });
  source.addEventListener('token', (e) => {
    answerText += JSON.parse(e.data).text;
    $('resposta').textContent = answerText;
  });
  source.addEventListener('references', (e) => showReferences(JSON.parse(e.data)));
  source.addEventListener('error', (e) => {
    if (e.data) { finish('Erro: ' + JSON.parse(e.data).error, true); return; }
    if (source) finish('A conexão com o servidor caiu. Tente de novo.', true);
  });
  source.addEventListener('done', () => finish('Pronto.'));
}

// The course picker: only when the index holds more than one course. Preselected: the URL's
// ?course=, else the server's default scope (serve --course), else every course.
function showCourses(courses, serverDefault) {
  if (!Array.isArray(courses) || courses.length < 2) return;
  const sel = $('curso');
  for (const c of courses) {
    const o = document.createElement('option');
    o.value = c.id;
    o.textContent = c.title + ' (' + c.videos + (c.videos === 1 ? ' vídeo)' : ' vídeos)');
    sel.append(o);
  }
  const wanted = new URLSearchParams(location.search).get('course');
  const pick = wanted !== null ? wanted : (serverDefault || '');
  sel.value = courses.some((c) => c.id === pick) ? pick : '';
  $('curso-row').hidden = false;
}

document.addEventListener('DOMContentLoaded', () => {
  const q = $('pergunta');
  $('form').addEventListener('submit', (e) => {
    e.preventDefault();
    const text = q.value.trim();
    if (!text) { setStatus('Escreva uma pergunta primeiro.', true); q.focus(); return; }
    ask(text);
  });
  q.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); $('form').requestSubmit(); }
  });
  $('parar').addEventListener('click', () => finish('Interrompido.'));
  $('fechar').addEventListener('click', () => {
    $('player').replaceChildren();
    $('player-sec').hidden = true;
    q.focus();
  });
  $('curso').addEventListener('change', () => {
    // the choice lives in the URL (?course=), so a link or a reload keeps it
    const u = new URL(location.href);
    u.searchParams.set('course', $('curso').value);
    history.replaceState(null, '', u);
  });
  const health = fetch('/healthz').then((r) => r.json());
  Promise.all([fetch('/api/courses').then((r) => r.json()), health])
    .then(([courses, h]) => showCourses(courses, h.course)).catch(() => {});
  health.then((h) => {
    if (h.status === 'ok') $('sobre').textContent = h.videos + ' vídeos, ' + h.segments + ' trechos indexados · respostas ' +
      (h.answers === 'llm' ? 'por LLM' : 'extrativas') + ' · aularag ' + h.version;
    const modes = h.modes || [];
    for (const o of $('modo').options) if (!modes.includes(o.value)) o.disabled = true;
  }).catch(() => {});
});
