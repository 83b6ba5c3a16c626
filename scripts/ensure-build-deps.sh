#!/usr/bin/env bash
# Makes sure what actgate's build needs beyond the Rust toolchain is
# installed: a C compiler and libclang, for the pg_query crate (it compiles
# PostgreSQL's parser, libpg_query, and generates its bindings with bindgen;
# see src/policy/referee.rs). On Debian, as root, installs clang and
# libclang-dev with apt-get; otherwise explains what is missing.
set -euo pipefail

have_libclang() {
  [ -n "${LIBCLANG_PATH:-}" ] && return 0
  # libclang.so or libclang-<version>.so, not libclang-cpp (which bindgen
  # cannot load and which some packages install without libclang).
  local dir f
  for dir in /usr/lib/llvm-*/lib /usr/lib/*; do
    for f in "$dir"/libclang.so* "$dir"/libclang-[0-9]*.so*; do
      [ -e "$f" ] && return 0
    done
  done
  return 1
}

have_cc() {
  command -v cc >/dev/null 2>&1 || command -v clang >/dev/null 2>&1
}

if have_libclang && have_cc; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "Building actgate needs a C compiler and libclang (for the pg_query crate)." >&2
  echo "Install them (Debian/Ubuntu: apt-get install clang libclang-dev)," >&2
  echo "or set LIBCLANG_PATH to the directory holding libclang.so." >&2
  exit 1
fi

echo "==> installing clang and libclang (apt-get)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-dev >/dev/null
have_libclang && have_cc || { echo "the clang install did not provide libclang" >&2; exit 1; }
