"""checks.py - the pass/fail count every Python integration test reports through.

tests/run.sh reads the last "NAME: N passed, N failed" line a test prints; NAME is the script's
file name without ".py". check() counts, finish() prints that line and exits, run(main) also
counts a crash as a failure, abort() ends a test that cannot go on (missing data, setup failed)."""
import os
import sys
import traceback

NAME = os.path.splitext(os.path.basename(sys.argv[0]))[0]
passed = failed = 0


def check(what, ok, detail=""):
    """Counts one check; a failure prints "FAIL: what" and the detail (cut at 3,000 characters)."""
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print(("FAIL: %s\n  %s" % (what, detail) if detail != "" else "FAIL: %s" % what)[:3000])
    return bool(ok)


def finish():
    print("%s: %d passed, %d failed" % (NAME, passed, failed))
    sys.exit(1 if failed else 0)


def abort(why):
    global failed
    print(why)
    failed += 1
    finish()


def run(main):
    global failed
    try:
        main()
    except Exception:  # a crash is a failure, not a missing result line
        traceback.print_exc()
        failed += 1
    finish()
