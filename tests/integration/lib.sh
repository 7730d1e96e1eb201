# lib.sh - helpers for shell integration tests. Source it, call `check`, end with `finish`.
#   check "what it proves" COMMAND...    passes when COMMAND exits 0
#   expect_fail CODE "what" COMMAND...   passes when COMMAND exits with CODE
set -u
AR=${AULARAG_BIN:?AULARAG_BIN not set (run through make test)}
ROOT=${AULARAG_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DATA=${AULARAG_DATA:-}
if [ -z "$DATA" ]; then for d in "$ROOT/../shared/data" "$ROOT/../../shared/data"; do
  [ -d "$d" ] && DATA=$(cd "$d" && pwd) && break; done; fi
TMP=$(mktemp -d /tmp/aularag-it-XXXXXX); trap 'rm -rf "$TMP"' EXIT
_p=0; _f=0
check() { local d=$1; shift
  if "$@" >"$TMP/.out" 2>&1; then _p=$((_p+1)); else _f=$((_f+1)); echo "FAIL: $d"; tail -n 20 "$TMP/.out"; fi; }
expect_fail() { local code=$1 d=$2; shift 2; local rc=0
  "$@" >"$TMP/.out" 2>&1 || rc=$?
  if [ "$rc" = "$code" ]; then _p=$((_p+1)); else _f=$((_f+1)); echo "FAIL: $d (exit $rc, wanted $code)"; tail -n 20 "$TMP/.out"; fi; }
need_data() { [ -n "$DATA" ] && [ -d "$DATA" ] || { echo "shared data missing: expected ../shared/data beside the checkout"; echo "0 passed, 1 failed"; exit 1; }; }
finish() { echo "$(basename "$0" .sh): $_p passed, $_f failed"; [ $_f -eq 0 ]; }
