#!/usr/bin/env bash
# install-deps.sh - installs what aularag needs on Debian 12.
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   + what the test suite needs (python3-torch, sentencepiece, npm tools, chromium,
#                                      clang + libFuzzer for `make fuzz`)
#   scripts/install-deps.sh --bench  + what `make bench` compares with (FAISS, ONNX Runtime, wrk)
#   scripts/install-deps.sh --cross  + the aarch64 cross compiler, qemu-user and the arm64 -dev libraries
#                                    (dpkg multiarch) for scripts/cross-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0; want_bench=0; want_cross=0
for a in "$@"; do case "$a" in --test) want_test=1 ;; --bench) want_test=1; want_bench=1 ;; --cross) want_cross=1 ;; esac; done
SUDO=; [ "$(id -u)" -ne 0 ] && SUDO=sudo
pkgs=(build-essential pkg-config libsqlite3-dev libcurl4-openssl-dev libopenblas-dev libstemmer-dev
      libutf8proc-dev libmicrohttpd-dev libjansson-dev)
[ $want_test = 1 ] && pkgs+=(python3 python3-numpy python3-torch python3-sentencepiece sentencepiece sqlite3
      chromium python3-scipy python3-sklearn clang-14 libclang-rt-14-dev nginx   # nginx: test_replicas.py
      ffmpeg espeak-ng sox)   # ffmpeg espeak-ng sox: test_transcribe makes its own speech media
# Node.js: use the one on the machine when there is one (Debian's npm conflicts with nodesource builds).
[ $want_test = 1 ] && ! command -v npm >/dev/null && pkgs+=(nodejs npm)
[ $want_bench = 1 ] && pkgs+=(python3-faiss wrk hyperfine bc time)   # bc, time: bench_eval.sh
[ $want_bench = 1 ] && pkgs+=(python3-srt)   # bench_parse.sh baseline: the Python srt library
if [ $want_cross = 1 ]; then
  if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
  fi
  pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libubsan1:arm64)
  pkgs+=(libsqlite3-dev:arm64 libcurl4-openssl-dev:arm64 libopenblas-dev:arm64 libstemmer-dev:arm64
         libutf8proc-dev:arm64 libmicrohttpd-dev:arm64 libjansson-dev:arm64)
fi
[ $want_bench = 1 ] && pkgs+=(python3-onnx)  # bench_encoder.sh: the ORT int8 model (DynamicQuantizeMatMul)
missing=()
for p in "${pkgs[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ $want_test = 1 ]; then
  # npm tools for the reference checks (tokenizers = Hugging Face's own binding) and browser tests.
  # --ignore-scripts: onnxruntime-node's install script downloads GPU builds; its CPU build ships in the package.
  if [ ! -d tools/node_modules/tokenizers ] || [ ! -d tools/node_modules/playwright-core ] ||
     [ ! -d tools/node_modules/onnxruntime-node ]; then
    (cd tools && npm install --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null)
  fi
fi
echo "dependencies ok" >&2
