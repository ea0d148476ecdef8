#!/usr/bin/env bash
# bench_compile.sh: the time and peak memory to compile a file that makes one grant through
# bluejeans_auth.hpp, against one that does the same by hand with httplib.h and json.hpp.
# Usage: bench_compile.sh SOURCE_ROOT [--quick]
set -euo pipefail
root=$1
rounds=3
[ "${2:-}" = "--quick" ] && rounds=1
cxx=${CXX:-c++}
flags="-std=c++17 -O2 -I$root $(pkg-config --cflags cpp-httplib nlohmann_json)"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Prints "seconds kilobytes" for one compile.
measure() {
  /usr/bin/time -f "%e %M" -o "$out/time" $cxx $flags -c "$1" -o "$out/object.o"
  cat "$out/time"
}

best() {  # the smallest of each column over the rounds: the least disturbed figure
  sort -n -k"$1" | head -n 1 | cut -d' ' -f"$1"
}

: >"$out/library"
: >"$out/bare"
for ((i = 0; i < rounds; i++)); do
  measure "$root/tests/bench/compile_library.cpp" >>"$out/library"
  measure "$root/tests/bench/compile_bare.cpp" >>"$out/bare"
done

library_s=$(best 1 <"$out/library")
bare_s=$(best 1 <"$out/bare")
library_kb=$(best 2 <"$out/library")
bare_kb=$(best 2 <"$out/bare")
echo "# compile one grant, best of $rounds; targets: time and memory ratios <= 1.2"
awk -v ls="$library_s" -v bs="$bare_s" -v lk="$library_kb" -v bk="$bare_kb" 'BEGIN {
  printf "compile time    library %6.2f s    bare %6.2f s    ratio %.3f\n", ls, bs, ls / bs
  printf "compile memory  library %6d KiB  bare %6d KiB  ratio %.3f\n", lk, bk, lk / bk
}'
