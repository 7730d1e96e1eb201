#!/usr/bin/env bash
# test_tokenizer_cli.sh - `aularag tokenize`: options, exit codes, error messages, line handling.
# (Id parity with the references is test_tokenizer.py.)
source "$(dirname "$0")/lib.sh"
need_data
PY=/usr/bin/python3
$PY "$ROOT/tests/tools/cue_lines.py" "$DATA/transcripts-pt-3b1b" 2>/dev/null | head -n 20000 > "$TMP/text.txt"
$PY "$ROOT/tests/tools/make_tokenizer.py" --text "$TMP/text.txt" --vocab 500 --out "$TMP/m" >/dev/null || {
  echo "make_tokenizer.py failed"; echo "test_tokenizer_cli: 0 passed, 1 failed"; exit 1; }

check "--help exits 0 and shows the options" bash -c "'$AR' tokenize --help | grep -q -- '--no-special'"
expect_fail 2 "no --model is a usage error" env -u AULARAG_MODEL "$AR" tokenize
expect_fail 2 "unknown option is a usage error" "$AR" tokenize --model "$TMP/m" --bogus
expect_fail 2 "bad --max-tokens is a usage error" "$AR" tokenize --model "$TMP/m" --max-tokens 0
expect_fail 1 "missing model is a runtime error" "$AR" tokenize --model "$TMP/nope"
check "the error names the path" bash -c "'$AR' tokenize --model '$TMP/nope' 2>&1 </dev/null | grep -q '$TMP/nope'"
printf '{"model":{"type":"WordPiece"}}' > "$TMP/bad.json"
check "unsupported model type names file and field" bash -c \
  "'$AR' tokenize --model '$TMP/bad.json' 2>&1 </dev/null | grep -q 'bad.json: model.type \"WordPiece\" is not supported'"
check "AULARAG_MODEL is the default model" bash -c "echo oi | AULARAG_MODEL='$TMP/m' '$AR' tokenize | grep -q '^\[0,.*,2\]$'"
check "one array per line, empty lines included, no trailing newline needed" bash -c \
  "[ \"\$(printf 'a\n\nb' | '$AR' tokenize --model '$TMP/m' | wc -l)\" = 3 ] && printf '\n' | '$AR' tokenize --model '$TMP/m' | grep -qx '\[0,2\]'"
check "--no-special drops <s> and </s>" bash -c \
  "[ \"\$(echo 'olá mundo' | '$AR' tokenize --model '$TMP/m')\" = \"[0,\$(echo 'olá mundo' | '$AR' tokenize --model '$TMP/m' --no-special | tr -d '[]'),2]\" ]"
check "--max-tokens keeps </s> last" bash -c \
  "[ \"\$(echo 'uma frase bem comprida com muitas palavras' | '$AR' tokenize --model '$TMP/m' --max-tokens 4 | tr -cd ',' | wc -c)\" = 3 ] && echo 'uma frase bem comprida' | '$AR' tokenize --model '$TMP/m' --max-tokens 4 | grep -q ',2\]$'"
check "directory and tokenizer.json give the same ids" bash -c \
  "[ \"\$('$AR' tokenize --model '$TMP/m' < '$TMP/text.txt' | md5sum)\" = \"\$('$AR' tokenize --model '$TMP/m/tokenizer.json' < '$TMP/text.txt' | md5sum)\" ]"
check "--json-input reads JSON string lines" bash -c \
  "[ \"\$(printf '\"ol\\\\u00e1 mundo\"\n' | '$AR' tokenize --model '$TMP/m' --json-input)\" = \"\$(echo 'olá mundo' | '$AR' tokenize --model '$TMP/m')\" ]"
expect_fail 1 "--json-input rejects a non-string line" bash -c "echo '[1]' | '$AR' tokenize --model '$TMP/m' --json-input"
check "a CRLF line keeps its \\r as text (normalized to whitespace: same ids)" bash -c \
  "[ \"\$(printf 'olá mundo\r\n' | '$AR' tokenize --model '$TMP/m')\" = \"\$(printf 'olá mundo\n' | '$AR' tokenize --model '$TMP/m')\" ]"
finish
