#!/usr/bin/env bash
# bench_compile.sh: the time and peak memory to compile a file that makes one grant through
# bluejeans_auth.hpp, against one that does the same by hand with httplib.h and json.hpp. The
# library's file is measured both ways it can be built: header-only, and under separate
# compilation, where bluejeans_auth.cpp is compiled once for the whole program.
# Usage: bench_compile.sh SOURCE_ROOT [--quick]
set -euo pipefail
root=$1
rounds=3
[ "${2:-}" = "--quick" ] && rounds=1
cxx=${CXX:-c++}
flags="-std=c++17 -O2 -I$root $(pkg-config --cflags cpp-httplib nlohmann_json)"
separate=-DBLUEJEANS_AUTH_SEPARATE_COMPILATION
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Appends "seconds kilobytes" for one compile to the file named first.
measure() {
  local into=$1
  shift
  /usr/bin/time -f "%U %M" -o "$out/time" $cxx $flags "$@" -c -o "$out/object.o"
  cat "$out/time" >>"$out/$into"
}

best() {  # the smallest of a column over the rounds: the least disturbed figure
  sort -n -k"$2" "$out/$1" | head -n 1 | cut -d' ' -f"$2"
}

# The rounds interleave the files, so that a busy spell on the machine touches all of them.
for ((i = 0; i < rounds; i++)); do
  measure bare "$root/tests/bench/compile_bare.cpp"
  measure header_only "$root/tests/bench/compile_library.cpp"
  measure separate "$root/tests/bench/compile_library.cpp" "$separate"
  measure implementation "$root/bluejeans_auth.cpp"
done

echo "# compile one grant, user CPU time and peak memory, best of $rounds;" \
  "targets: ratios <= 1.2 against bare"
row() {  # row LABEL FILE: one line with the file's figures and its ratios against bare
  awk -v label="$1" -v s="$(best "$2" 1)" -v kb="$(best "$2" 2)" \
    -v bs="$(best bare 1)" -v bkb="$(best bare 2)" 'BEGIN {
    printf "%-38s %6.2f s  %7d KiB  time ratio %.3f  memory ratio %.3f\n",
      label, s, kb, s / bs, kb / bkb
  }'
}
row "bare httplib.h + json.hpp" bare
row "bluejeans_auth.hpp, header-only" header_only
row "bluejeans_auth.hpp, separate" separate
row "bluejeans_auth.cpp, once per program" implementation
