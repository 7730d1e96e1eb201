#!/usr/bin/env python3
"""test_transcripts_realdata.py - our SRT parser against an independent reference written here in
Python, on every shared SRT (3Blue1Brown pt, CS231n en): same cues, same texts, same times (after the
documented repairs). The C side is bench/parse.c's dump mode (-d) over the library."""
import glob, html, os, re, subprocess

ROOT = os.environ.get('AULARAG_ROOT') or os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DATA = os.environ.get('AULARAG_DATA') or os.path.join(ROOT, '..', 'shared', 'data')
from checks import check, finish  # noqa: E402


if not os.path.isdir(DATA):
    check('shared data present at ' + DATA, False)
    finish()
files = sorted(glob.glob(DATA + '/transcripts-pt-3b1b/*/*.srt')) + sorted(glob.glob(DATA + '/transcripts-en-cs231n/*/eng/*.srt'))
check('129 + 35 shared SRTs found (%d)' % len(files), len(files) == 164)

r = subprocess.run(['make', '-s', 'build/release/bench/parse'], cwd=ROOT, capture_output=True, text=True)
check('bench/parse builds: ' + r.stderr[-300:], r.returncode == 0)
if r.returncode:
    finish()
out = subprocess.run([os.path.join(ROOT, 'build/release/bench/parse'), '-r', '1', '-d'] + files,
                     capture_output=True, text=True, encoding='utf-8')
check('parse -d exits 0: ' + out.stderr[-300:], out.returncode == 0)
ours = {f: [] for f in files}
for line in out.stdout.splitlines():
    parts = line.split('\t', 4)
    if len(parts) == 5:
        ours[parts[0]].append((float(parts[1]), float(parts[2]), parts[4]))

TIMING = re.compile(r'^\s*(-?)(\d+):(\d\d):(\d\d)[,.](\d+)\s*-->\s*(-?)(\d+):(\d\d):(\d\d)[,.](\d+)')
TAGS = re.compile(r'</?(?:i|b|u|font)(?:\s[^>]*)?>', re.I)


def t(sign, h, m, s, frac):
    v = int(h) * 3600 + int(m) * 60 + int(s) + int(frac) / 10 ** len(frac)
    return -v if sign else v


def reference(path):
    """Cues of an SRT: text from a timing line to the next, a trailing cue number dropped, tags and
    entities removed, zero-width spaces dropped, whitespace collapsed; empty cues dropped; then the
    repairs: negative -> 0, start clamped to the previous start, end >= start."""
    text = open(path, encoding='utf-8-sig').read().replace('\u200b', '')
    raw, cur = [], None
    for line in text.splitlines():
        m = TIMING.match(line)
        if m:
            if cur:
                raw.append(cur)
            g = m.groups()
            cur = [t(*g[:5]), t(*g[5:]), []]
        elif cur is not None:
            cur[2].append(line)
    if cur:
        raw.append(cur)
    cues = []
    for i, (a, b, lines) in enumerate(raw):
        if i + 1 < len(raw):
            while lines and not lines[-1].strip():
                lines.pop()
            if lines and lines[-1].strip().isdigit():
                lines.pop()
        s = ' '.join(html.unescape(TAGS.sub('', ' '.join(' '.join(lines).split()))).split())
        if not s:
            continue
        a, b = max(a, 0.0), max(b, 0.0)
        if cues and a < cues[-1][0]:
            a = cues[-1][0]
        cues.append((a, max(a, b), s))
    return cues


for f in files:
    ref, got = reference(f), ours[f]
    name = os.path.relpath(f, DATA)
    if len(ref) != len(got):
        check('%s: %d cues, reference %d' % (name, len(got), len(ref)), False)
        continue
    bad = [i for i, (x, y) in enumerate(zip(got, ref)) if x[2] != y[2] or abs(x[0] - y[0]) > 5e-4 or abs(x[1] - y[1]) > 5e-4]
    check('%s: %d cues match%s' % (name, len(ref), '' if not bad else '; first difference at cue %d: %r vs %r' % (
        bad[0], got[bad[0]], ref[bad[0]])), not bad)
finish()
