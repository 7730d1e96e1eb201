#!/usr/bin/env bash
# cross-test.sh - the portable build: compiles the library and its unit tests for aarch64 with Debian's
# cross compiler (the portable C kernels: no x86 intrinsics) and runs them under qemu-aarch64.
# Correctness only: qemu emulates floating point in software, so this is slow, not a benchmark.
#   scripts/cross-test.sh [FILTER]     FILTER: as for build/asan/unit_tests (a substring of test names)
# Installs what it needs (scripts/install-deps.sh --cross). Builds into build/aarch64/ with UBSan only (the
# native suite runs the same C under ASan). The 183 unit tests took ~3 min emulated here, plus the build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --cross
T=aarch64-linux-gnu
export PKG_CONFIG_LIBDIR=/usr/lib/$T/pkgconfig:/usr/share/pkgconfig
nice make -j2 -s BUILD=build/aarch64 CC=$T-gcc TOPT=-O2 \
  SAN="-fsanitize=undefined -fno-sanitize-recover=undefined" build/aarch64/asan/unit_tests
# The tests find ../shared/data as natively; libraries come from the arm64 multiarch directories.
export QEMU_LD_PREFIX=/   # the arm64 multiarch libc (libc6:arm64); fork() hangs with /usr/$T's cross libc under qemu 7.2
# OpenBLAS would start a spinning thread per host core at load; emulated, they starve the tests
export OPENBLAS_NUM_THREADS=1
# emulated code runs 10-50x slower: the few tests with time limits (no quadratic blow-up) scale them
export AULARAG_TEST_TIME_SCALE=${AULARAG_TEST_TIME_SCALE:-20}
exec qemu-aarch64 build/aarch64/asan/unit_tests "$@"
