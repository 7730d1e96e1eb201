#!/usr/bin/env bash
# test_server_browser.sh - the student page in Debian chromium (tests/browser/page.test.js, playwright-core):
# extractive answers over samples/course, then a streamed answer from tests/llm_server.py.
# Screenshots go to build/test-artifacts/ (paths printed).
set -u
cd "$(dirname "$0")/../.."
if [ ! -x /usr/bin/chromium ] || [ ! -d tools/node_modules/playwright-core ]; then
  echo "needs /usr/bin/chromium and tools/node_modules/playwright-core (scripts/install-deps.sh --test)"
  echo "test_server_browser: 0 passed, 1 failed"; exit 1
fi
exec node tests/browser/page.test.js
