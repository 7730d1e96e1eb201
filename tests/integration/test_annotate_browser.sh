#!/usr/bin/env bash
# test_annotate_browser.sh - the annotation page in Debian chromium (tests/browser/annotate.test.js,
# playwright-core): five answers labelled with the keyboard, a reload in the middle, then `aularag report`.
set -u
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/chromium ] || [ ! -d tools/node_modules/playwright-core ]; then
  echo "needs /usr/bin/chromium and tools/node_modules/playwright-core (scripts/install-deps.sh --test)"
  echo "test_annotate_browser: 0 passed, 1 failed"; exit 1
fi
exec node tests/browser/annotate.test.js
