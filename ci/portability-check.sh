#!/usr/bin/env bash
# make portability: the whole tree (library, CLI, FUSE server, harness, tests,
# benches) built with -Werror by two more compilers than `make build`'s GCC 12,
# each build followed by its unit and golden tests:
#   - GCC 14 in a Debian 13 root (ci/debian13-root.sh), into build-gcc14/;
#     the source tree is mounted there read-only at its own path, its sibling
#     shared/ (the golden images, ../shared/golden) too;
#   - the machine's clang, into build-clang/.
# Ends with one line per compiler; exits non-zero if anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)
jobs=$(nproc)
labels='^(unit|golden)$'
root_packages=(g++ cmake make pkg-config libfuse3-dev libdaxctl-dev libndctl-dev zlib1g-dev
               libgtest-dev libgmock-dev libbenchmark-dev libyaml-cpp-dev libyaml-dev libmicrohttpd-dev)

ci/install-deps.sh

# timed LABEL COMMAND...: runs COMMAND and says how long it took.
timed() {
  local label=$1 t0=$SECONDS status=0
  shift
  "$@" || status=$?
  if [ "$status" -eq 0 ]; then
    echo "portability: $label: $((SECONDS - t0)) s"
  else
    echo "portability: $label: FAILED (exit $status) after $((SECONDS - t0)) s"
  fi
  return "$status"
}

# quietly LOG COMMAND...: COMMAND's output goes to LOG, shown only if it fails.
quietly() {
  local log=$1
  shift
  "$@" >"$log" 2>&1 || { local status=$?; cat "$log"; return "$status"; }
}

# compiler_of BUILD_DIR: the compiler CMake found there, as "gcc-14.2.0".
compiler_of() {
  local f
  f=$(ls -t "$1"/CMakeFiles/*/CMakeCXXCompiler.cmake | sed -n 1p)
  sed -n 's/^set(CMAKE_CXX_COMPILER_ID "\(.*\)")/\1/p; s/^set(CMAKE_CXX_COMPILER_VERSION "\(.*\)")/\1/p' "$f" |
    paste -sd- | sed 's/^GNU-/gcc-/; s/^Clang-/clang-/'
}

# build_and_test NAME BUILD_DIR C_COMPILER CXX_COMPILER [RUNNER...]: configure,
# build and test with every command prefixed by RUNNER; sets $compiler.
build_and_test() {
  local name=$1 dir=$2 cc=$3 cxx=$4
  shift 4
  mkdir -p "$dir"
  # make build's -O2 (the optimizer decides some warnings) without its -g,
  # which costs a quarter of the compile time and decides none.
  timed "$name: configure" quietly "$dir/configure.log" "$@" cmake -S "$repo" -B "$dir" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG" "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG" || return 1
  compiler=$(compiler_of "$dir")
  echo "portability: $name: $compiler ($("$@" "$cxx" --version | sed -n 1p)) builds ${dir#"$repo"/} with -Werror"
  timed "$name: build" "$@" cmake --build "$dir" -j "$jobs" || return 1
  timed "$name: unit and golden tests" "$@" ctest --test-dir "$dir" -L "$labels" -j "$jobs" --output-on-failure
}

on_gcc14() {
  local dir=$repo/build-gcc14 shared run=(ci/debian13-root.sh run)
  timed "gcc14: Debian 13 root" ci/debian13-root.sh install "${root_packages[@]}" || return 1
  mkdir -p "$dir"
  run+=(--ro-bind "$repo" "$repo" --bind "$dir" "$dir")
  shared=$(dirname "$repo")/shared
  [ ! -d "$shared" ] || run+=(--ro-bind "$shared" "$shared")
  build_and_test gcc14 "$dir" gcc g++ "${run[@]}" --
}

on_clang() { build_and_test clang "$repo/build-clang" clang clang++; }

status=0
summary=()
for part in gcc14 clang; do
  compiler=$part
  if "on_$part"; then result=ok; else result=FAILED; status=1; fi
  summary+=("$compiler $result")
done
printf -v line '%s, ' "${summary[@]}"
echo "portability: ${line%, }"
exit $status
