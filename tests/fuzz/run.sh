#!/bin/sh
# Builds the bbolt reader fuzzer (tests/fuzz/bbolt_reader_fuzz.cc) with clang's
# libFuzzer, ASan and UBSan, straight from the sources it needs (no CMake, so
# it never touches the main gcc/ninja build), then fuzzes for a bounded time.
#
# Usage: tests/fuzz/run.sh [seconds]   (default 60)
# Environment: FUZZ_BUILD_DIR (default build-fuzz/ at the top of the repo)
#   holds the binary, the corpus the fuzzer grows, and crash artifacts. The
#   committed seeds in tests/fuzz/corpus/bbolt/ are only read.
# Exit status: 0 if no crash was found; libFuzzer's nonzero status otherwise,
#   with the crashing input saved as $FUZZ_BUILD_DIR/crash-*.
# The compile uses one core; when running by hand on the shared machine, wrap
# it in `flock /tmp/etcdd-build.lock` (ctest already runs inside that lock).
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_BUILD_DIR:-$root/build-fuzz}
bin=$out/bbolt_reader_fuzz
srcs="$root/tests/fuzz/bbolt_reader_fuzz.cc $root/lib/snap/bbolt_reader.cc
  $root/lib/snap/bbolt_pages.cc $root/lib/base/status.cc $root/lib/base/file.cc
  $root/lib/base/env.cc $root/lib/base/go_text.cc"
mkdir -p "$out/corpus"

stale=0
[ -x "$bin" ] || stale=1
for f in $srcs "$root"/lib/snap/bbolt_*.h "$root"/lib/base/*.h "$0"; do
  [ "$f" -nt "$bin" ] && stale=1
done
if [ $stale = 1 ]; then
  # shellcheck disable=SC2086
  clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -I"$root/lib" $srcs -lfmt -o "$bin"
fi

"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  -artifact_prefix="$out/" "$out/corpus" "$root/tests/fuzz/corpus/bbolt"
