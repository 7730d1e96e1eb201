#!/usr/bin/python3
"""catalog_build.py - a university-sized catalog, deterministically, from the shared 3Blue1Brown transcripts.

  catalog_build.py DATA_DIR OUT_DIR [--courses N]

DATA_DIR is ../shared/data. For course c (0..N-1) every video of qa/3b1b-pt-dev/manifest.csv is copied as
OUT_DIR/cNNN/VIDEO.srt with video_id cNNN-VIDEO, course curso-NNN. Course 0 is the original; every other
course drops a fixed, seeded 10% of each transcript's cues, so segment boundaries, lengths and term counts
differ from copy to copy: rankings have few exact ties (identical copies would make every top-k a run of
tied duplicates, which flatters early termination). Writes OUT_DIR/manifest.csv
(file,video_id,title,url,course,course_title) and OUT_DIR/questions.txt (the 40 dev questions).
Re-running with the same arguments rewrites the same bytes.
"""
import csv, hashlib, json, os, random, re, sys


def blocks(text):
    # SRT cues are separated by blank lines; keep each cue's own lines as they are
    return [b for b in re.split(r"\r?\n[ \t]*\r?\n", text.lstrip("\ufeff")) if b.strip()]


def main(argv):
    data, out = argv[0], argv[1]
    n_courses = int(argv[argv.index("--courses") + 1]) if "--courses" in argv else 200
    man_in = os.path.join(data, "qa/3b1b-pt-dev/manifest.csv")
    rows = list(csv.DictReader(open(man_in, encoding="utf-8")))
    src = []
    for r in rows:
        path = os.path.normpath(os.path.join(os.path.dirname(man_in), r["file"]))
        text = open(path, encoding="utf-8", errors="replace").read()
        src.append((r, blocks(text)))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "manifest.csv"), "w", newline="", encoding="utf-8") as mf:
        w = csv.writer(mf)
        w.writerow(["file", "video_id", "title", "url", "course", "course_title"])
        for c in range(n_courses):
            d = os.path.join(out, "c%03d" % c)
            os.makedirs(d, exist_ok=True)
            for r, bl in src:
                vid = r["video_id"]
                if c:
                    rnd = random.Random(hashlib.sha256(("%d/%s" % (c, vid)).encode()).digest())
                    bl = [b for b in bl if rnd.random() >= 0.10]
                name = os.path.join("c%03d" % c, vid + ".srt")
                body = "\n\n".join(bl) + "\n"
                p = os.path.join(out, name)
                if not os.path.exists(p) or os.path.getsize(p) != len(body.encode()):
                    with open(p, "w", encoding="utf-8") as f:
                        f.write(body)
                w.writerow([name, "c%03d-%s" % (c, vid), r["title"], r["url"], "curso-%03d" % c,
                            "Curso %d: 3Blue1Brown" % c])
    with open(os.path.join(out, "questions.txt"), "w", encoding="utf-8") as f:
        for line in open(os.path.join(data, "qa/3b1b-pt-dev/questions.jsonl"), encoding="utf-8"):
            if line.strip():
                f.write(json.loads(line)["question"].replace("\n", " ") + "\n")
    print("%d courses x %d videos" % (n_courses, len(src)))


if __name__ == "__main__":
    main(sys.argv[1:])
