#!/usr/bin/env python3
"""test_sample_course.py - the shipped sample course is consistent: manifest rows name real lecture
files (VTT, SRT, Whisper JSON) of a few minutes each, parsed here independently of the C code, and
every gold span of questions.jsonl starts and ends on cue boundaries of the video it names."""
import csv, io, json, os, re

ROOT = os.environ.get('AULARAG_ROOT') or os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
COURSE = os.path.join(ROOT, 'samples', 'course')
import checks  # noqa: E402
from checks import check  # noqa: E402


TS = re.compile(r'^(?:(\d+):)?(\d\d):(\d\d)[.,](\d{3})\s*-->\s*(?:(\d+):)?(\d\d):(\d\d)[.,](\d{3})')


def secs(h, m, s, ms):
    return int(h or 0) * 3600 + int(m) * 60 + int(s) + int(ms) / 1000


def parse_timed_text(text):
    """(start, end, text) per cue, for VTT and SRT: the text lines after each timing line."""
    cues, cur = [], None
    for line in text.splitlines():
        m = TS.match(line)
        if m:
            if cur:
                cues.append(cur)
            g = m.groups()
            cur = [secs(*g[:4]), secs(*g[4:]), []]
        elif cur is not None and line.strip() and not line.strip().isdigit():
            cur[2].append(line.strip())
    if cur:
        cues.append(cur)
    return [(a, b, ' '.join(t)) for a, b, t in cues]


def load(path):
    raw = open(path, 'rb').read()
    text = raw.decode('utf-8-sig')
    if path.endswith('.json'):
        return [(s['start'], s['end'], s['text'].strip()) for s in json.loads(text)['segments']]
    if path.endswith('.vtt'):
        check(path + ': WEBVTT header', text.startswith('WEBVTT'))
    return parse_timed_text(text)


rows = list(csv.DictReader(io.open(os.path.join(COURSE, 'manifest.csv'), encoding='utf-8', newline='')))
check('manifest has 3-4 lectures', 3 <= len(rows) <= 4)
check('manifest header', rows and list(rows[0].keys()) == ['file', 'video_id', 'title', 'url'])
check('video ids unique', len({r['video_id'] for r in rows}) == len(rows))
yt = [r for r in rows if re.match(r'^https://www\.youtube\.com/watch\?v=[A-Za-z0-9_-]{11}$', r['url'])]
other = [r for r in rows if r['url'].startswith('https://example.org/cursos/') and r['url'].endswith('.mp4')]
check('two YouTube URLs and the others example.org mp4', len(yt) == 2 and len(yt) + len(other) == len(rows))
exts = {os.path.splitext(r['file'])[1] for r in rows}
check('a mix of .vtt, .srt and Whisper .json', {'.vtt', '.srt', '.json'} <= exts)

cues = {}
for r in rows:
    path = os.path.join(COURSE, r['file'])
    check(r['file'] + ' exists', os.path.isfile(path))
    if not os.path.isfile(path):
        continue
    c = load(path)
    cues[r['video_id']] = c
    check(r['file'] + ': 15-40 cues (%d)' % len(c), 15 <= len(c) <= 40)
    check(r['file'] + ': a few minutes long (%.0f s)' % c[-1][1], 120 <= c[-1][1] <= 600)
    check(r['file'] + ': times in order', all(a <= b for a, b, _ in c) and all(c[i][0] <= c[i + 1][0] for i in range(len(c) - 1)))
    check(r['file'] + ': Portuguese', sum(len(re.findall(r'\b(que|para|a gente|não|é)\b', t)) for _, _, t in c) > 10)

qs = [json.loads(l) for l in io.open(os.path.join(COURSE, 'questions.jsonl'), encoding='utf-8') if l.strip()]
check('8-12 questions', 8 <= len(qs) <= 12)
check('ids unique', len({q['id'] for q in qs}) == len(qs))
check('some manual labels, all in C/P/I', sum('manual' in q for q in qs) >= 4 and all(q.get('manual', 'C') in 'CPI' for q in qs))
for q in qs:
    check('question %s has text' % q['id'], isinstance(q.get('question'), str) and q['question'].endswith('?'))
    for g in q.get('gold', []):
        c = cues.get(g['video_id'])
        check('question %s: gold video %s in the manifest' % (q['id'], g['video_id']), c is not None)
        if c is None:
            continue
        starts = [a for a, _, _ in c]
        ends = [b for _, b, _ in c]
        check('question %s: gold span on cue boundaries' % q['id'],
              g['start'] < g['end'] and any(abs(g['start'] - a) < 1e-3 for a in starts) and any(abs(g['end'] - b) < 1e-3 for b in ends))

visible = [q for q in qs if q['question'] == 'Quais são os dispositivos visíveis para o TensorFlow?']
check('the visible-devices question is there', len(visible) == 1)
if visible and visible[0].get('gold'):
    g = visible[0]['gold'][0]
    text = ' '.join(t for a, b, t in cues.get(g['video_id'], []) if a >= g['start'] - 1e-3 and b <= g['end'] + 1e-3)
    check('its gold span says get_visible_devices', 'get_visible_devices' in text and 'visíveis' in text)

checks.finish()
