#!/usr/bin/python3
"""catalog_fts5.py - the anchor of bench_catalog.sh: stock SQLite FTS5 (unicode61, diacritics removed,
bm25()) over the same segments, queried with each question's words OR-ed, top 10.

  catalog_fts5.py INDEX FTS_DB QUESTIONS.txt ROUNDS

Builds FTS_DB from INDEX's segments once (kept for later runs), then prints "p50_ms p99_ms queries"."""
import os, re, sqlite3, sys, time


def main(a):
    index, fts, qfile, rounds = a[0], a[1], a[2], int(a[3])
    if not os.path.exists(fts):
        tmp = fts + ".tmp"
        if os.path.exists(tmp):
            os.remove(tmp)
        db = sqlite3.connect(tmp)
        db.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='unicode61 remove_diacritics 2')")
        db.execute("ATTACH ? AS ix", (index,))
        db.execute("INSERT INTO f(rowid, text) SELECT id, text FROM ix.segments")
        db.commit()
        db.execute("DETACH ix")
        db.close()
        os.replace(tmp, fts)
    db = sqlite3.connect(fts)
    qs = [l.strip() for l in open(qfile, encoding="utf-8") if l.strip()]
    exprs = [" OR ".join('"%s"' % w for w in re.findall(r"\w+", q)) for q in qs]
    for e in exprs:  # warm the page cache
        db.execute("SELECT rowid FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 10", (e,)).fetchall()
    lat = []
    for _ in range(rounds):
        for e in exprs:
            t0 = time.perf_counter()
            db.execute("SELECT rowid, bm25(f) FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT 10", (e,)).fetchall()
            lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    print("%.2f %.2f %d" % (lat[len(lat) // 2], lat[min(len(lat) - 1, int(0.99 * len(lat)))], len(lat)))


if __name__ == "__main__":
    main(sys.argv[1:])
