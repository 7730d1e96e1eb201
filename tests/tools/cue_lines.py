#!/usr/bin/python3
"""cue_lines.py - prints the cue text lines of every .srt under the given folders, one per line.

Used to train tokenizer fixtures and as the reference corpus for the tokenizer tests.
Index lines, timestamp lines and blank lines are dropped; a UTF-8 BOM and a trailing \\r are removed;
everything else (inner/trailing spaces, stage text) is kept as is.

usage: cue_lines.py DIR_OR_FILE... > lines.txt
"""
import os
import re
import sys

TIME = re.compile(r"^\s*\d+:\d+:\d+[,.]\d+\s*-->")


def srt_files(paths):
    for p in paths:
        if os.path.isfile(p):
            yield p
            continue
        for root, dirs, files in os.walk(p):
            dirs.sort()
            for f in sorted(files):
                if f.endswith(".srt"):
                    yield os.path.join(root, f)


def cue_lines(path):
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", errors="replace")
    if text.startswith("\ufeff"):
        text = text[1:]
    for line in text.split("\n"):
        line = line.rstrip("\r")
        if not line.strip() or TIME.match(line) or line.strip().isdigit():
            continue
        yield line


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(sys.argv) >= 2 else 2
    out = sys.stdout
    for p in srt_files(sys.argv[1:]):
        for line in cue_lines(p):
            out.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
