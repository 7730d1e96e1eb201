// app.js - the annotation page: one question at a time, a label by button or key, saved at once
// (POST /api/label appends to RUN/annotations/NAME.jsonl), progress, previous/next, undo.
'use strict';

const $ = (id) => document.getElementById(id);
let labels = [];        // the run's label set, best first
let items = [];         // [{id, question, label, stale}] from GET /api/items
let current = null;     // the item shown (GET /api/items/ID)
let undoStack = [];     // undo stack: {id, label, note} as they were before each change
let busy = false;       // a label is being saved: keys wait for it

function setStatus(text, isError) {
  $('status').textContent = text;
  $('status').classList.toggle('error', !!isError);
}

function hms(sec) {
  sec = Math.max(0, Math.floor(sec));
  const h = Math.floor(sec / 3600), m = Math.floor((sec % 3600) / 60), s = sec % 60;
  return [h, m, s].map((x) => String(x).padStart(2, '0')).join(':');
}

async function api(path, body) {
  const opt = body === undefined ? {} : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  const r = await fetch(path, opt);
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || ('HTTP ' + r.status));
  return data;
}

// ---- the player, as on the student page: YouTube embed with start=, else the file with #t= ----
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

function playerSrc(url, start) {
  const t = Math.max(0, Math.floor(start));
  const id = youtubeId(url);
  if (id) return { kind: 'youtube', src: 'https://www.youtube-nocookie.com/embed/' + id + '?start=' + t + '&autoplay=1&rel=0' };
  return { kind: 'video', src: url.split('#')[0] + '#t=' + t };
}

function openPlayer(ref) {
  const box = $('player'), note = $('player-link');
  box.replaceChildren();
  note.replaceChildren();
  $('player-h').textContent = (ref.title || ref.video_id) + ' — ' + hms(ref.start);
  if (!ref.url || !/^https?:\/\//.test(ref.url)) {
    box.textContent = 'Este vídeo não tem URL no relatório; procure-o pelo título, no momento ' + hms(ref.start) + '.';
  } else {
    const p = playerSrc(ref.url, ref.start);
    const el = document.createElement(p.kind === 'youtube' ? 'iframe' : 'video');
    if (p.kind === 'youtube') { el.allow = 'autoplay; encrypted-media; picture-in-picture'; el.allowFullscreen = true; }
    else { el.controls = true; el.preload = 'metadata'; }
    el.id = 'player-el';
    el.title = 'Vídeo: ' + (ref.title || ref.video_id);
    el.src = p.src;
    box.appendChild(el);
    const a = document.createElement('a');
    a.href = ref.link || p.src;
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
    a.textContent = 'Abrir o vídeo em outra aba';
    note.appendChild(a);
  }
  $('player-sec').hidden = false;
  $('player-h').focus();
}

function timeButton(ref, text) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.addEventListener('click', () => openPlayer(ref));
  return b;
}

// ---- progress and navigation ----
function showProgress() {
  const done = items.filter((it) => it.label !== null).length;
  $('progresso-txt').textContent = done + ' de ' + items.length + ' rotuladas';
  $('progresso').setAttribute('aria-valuemax', String(items.length));
  $('progresso').setAttribute('aria-valuenow', String(done));
  $('progresso-fill').style.width = (items.length ? (100 * done) / items.length : 0) + '%';
}

function indexOf(id) { return items.findIndex((it) => it.id === id); }

function nextUnlabelled(fromId) {
  const start = Math.max(0, indexOf(fromId));
  for (let k = 1; k <= items.length; k++) {
    const it = items[(start + k) % items.length];
    if (it.label === null) return it.id;
  }
  return null;
}

async function loadItems() {
  const d = await api('/api/items');
  labels = d.labels;
  items = d.items;
  $('anotador').textContent = d.annotator;
  $('cego').hidden = !d.blind;
  showProgress();
  return d;
}

async function show(id) {
  current = await api('/api/items/' + encodeURIComponent(id));
  const c = current;
  if (location.hash.slice(1) !== encodeURIComponent(c.id)) window.history.replaceState(null, '', '#' + encodeURIComponent(c.id));
  $('qid').textContent = c.id;
  $('posicao').textContent = c.position + ' / ' + c.total;
  $('pergunta').textContent = c.question;
  $('tipo').textContent = c.answer_kind === 'extractive' ? '(extrativa)' : '';
  $('resposta').textContent = c.error ? 'A resposta falhou: ' + c.error : c.answer || '';
  $('resposta').classList.toggle('error', !!c.error);
  const refs = $('refs');
  refs.replaceChildren();
  for (const r of c.references) {
    const li = document.createElement('li');
    li.appendChild(timeButton(r, (r.title || r.video_id) + ' (' + hms(r.start) + ')'));
    refs.appendChild(li);
  }
  $('refs-h').hidden = !c.references.length;
  $('gabarito-box').hidden = !c.reference_answer;
  $('gabarito').textContent = c.reference_answer || '';
  $('n-trechos').textContent = String(c.segments.length);
  const segs = $('trechos');
  segs.replaceChildren();
  for (const s of c.segments) {
    const li = document.createElement('li');
    const meta = document.createElement('div');
    meta.className = 'meta';
    meta.appendChild(timeButton(s, (s.title || s.video_id) + ' ' + hms(s.start) + '–' + hms(s.end)));
    const t = document.createElement('div');
    t.textContent = s.text || '';
    li.append(meta, t);
    segs.appendChild(li);
  }
  $('trechos-box').open = false;
  $('player-sec').hidden = true;
  $('player').replaceChildren();
  $('atual').textContent = c.label || '—';
  $('antigo').hidden = !c.stale;
  $('antigo').textContent = c.stale ? 'Seu rótulo anterior (' + c.stale_label + ') foi dado a outra versão desta resposta e não é usado: rotule de novo.' : '';
  for (const b of $('botoes').children) b.setAttribute('aria-pressed', String(b.dataset.label === c.label));
  $('nota').value = c.note || '';
  $('anterior').disabled = !c.prev;
  $('proxima').disabled = !c.next;
  $('juiz-sec').hidden = c.blind;
  if (!c.blind) {
    const parts = ['Rótulo automático: ' + (c.automated_label || '—'),
      'AR: ' + (c.answer_relevance === null ? '—' : c.answer_relevance.toFixed(2))];
    for (const [who, l] of Object.entries(c.others || {})) parts.push(who + ': ' + l);
    $('juiz').textContent = parts.join(' · ');
  }
  document.body.dataset.ready = c.id;   // the item is on screen (tests wait for this)
}

async function go(id) {
  if (!id) return;
  try { await show(id); setStatus(''); } catch (e) { setStatus('Não foi possível abrir a pergunta: ' + e.message, true); }
}

// Saves a label (null: retract) for an item; remember: whether undo can bring the old one back.
async function setLabel(id, label, note, remember) {
  if (busy) return;
  busy = true;
  const before = items[indexOf(id)];
  const old = { id, label: before ? before.label : null, note: current && current.id === id ? current.note : null };
  try {
    await api('/api/label', { id, label, note });
    if (remember) { undoStack.push(old); $('desfazer').disabled = false; }
    const d = await loadItems();
    setStatus(label === null ? 'Rótulo de ' + id + ' desfeito.' : 'Salvo: ' + id + ' = ' + label + '.');
    let next = id;
    if (remember) {
      const i = indexOf(id);
      next = i + 1 < items.length ? items[i + 1].id : nextUnlabelled(id) || id;
      if (d.done === d.total && !d.blind) setStatus('Todas as respostas rotuladas. As outras avaliações agora aparecem.');
    }
    await show(next);
  } catch (e) {
    setStatus('Não foi salvo: ' + e.message, true);
  } finally {
    busy = false;
  }
}

async function undo() {
  const h = undoStack.pop();
  $('desfazer').disabled = !undoStack.length;
  if (!h) return;
  await setLabel(h.id, h.label, h.note || '', false);
}

function keyLabel(ev) {
  if (/^[1-9]$/.test(ev.key) && Number(ev.key) <= labels.length) return labels[Number(ev.key) - 1];
  const letters = labels.every((l) => /^[A-Za-z]$/.test(l));
  if (letters && ev.key.length === 1) return labels.find((l) => l.toLowerCase() === ev.key.toLowerCase()) || null;
  return null;
}

function onKey(ev) {
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 'z') { ev.preventDefault(); undo(); return; }
  if (ev.target && ev.target.id === 'nota') return;   // typing a note
  if (ev.ctrlKey || ev.metaKey || ev.altKey || !current) return;
  if (ev.key === 'ArrowLeft') { go(current.prev); return; }
  if (ev.key === 'ArrowRight') { go(current.next); return; }
  const l = keyLabel(ev);
  if (l) { ev.preventDefault(); setLabel(current.id, l, $('nota').value, true); }
}

async function start() {
  try {
    const d = await loadItems();
    const box = $('botoes');
    labels.forEach((l, i) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.dataset.label = l;
      b.textContent = l;
      b.title = 'tecla ' + (i + 1) + (/^[A-Za-z]$/.test(l) ? ' ou ' + l : '');
      b.addEventListener('click', () => current && setLabel(current.id, l, $('nota').value, true));
      box.appendChild(b);
    });
    const letters = labels.every((l) => /^[A-Za-z]$/.test(l));
    $('teclas').textContent = 'Teclas: ' + (letters ? labels.join('/') + ' ou ' : '') + '1–' + labels.length +
      ' rotulam; ← → navegam; Ctrl+Z desfaz.';
    const want = decodeURIComponent(location.hash.slice(1));
    const first = indexOf(want) >= 0 ? want : d.next_unlabelled || (items[0] && items[0].id);
    if (!first) { setStatus('Este relatório não tem perguntas.'); return; }
    await go(first);
  } catch (e) {
    setStatus('Não foi possível carregar as perguntas: ' + e.message, true);
  }
}

$('anterior').addEventListener('click', () => current && go(current.prev));
$('proxima').addEventListener('click', () => current && go(current.next));
$('pular').addEventListener('click', () => current && go(nextUnlabelled(current.id)));
$('desfazer').addEventListener('click', undo);
$('fechar').addEventListener('click', () => { $('player').replaceChildren(); $('player-sec').hidden = true; });
document.addEventListener('keydown', onKey);
start();
