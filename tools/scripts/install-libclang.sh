#!/usr/bin/env bash
# Installs libclang (the C API the binding generator calls through FFM) from Debian/Ubuntu packages.
# Idempotent: does nothing when a libclang shared library is already present.
#   tools/scripts/install-libclang.sh          # as root (CI) or with sudo available
# The generator finds libclang by itself afterwards (see tools/README.md); -Dpanomni.libclang.lib=/path/libclang.so
# or PANOMNI_LIBCLANG_LIB=/path overrides the search.
set -euo pipefail

have_libclang() {
  local f
  for f in /usr/lib/llvm-*/lib/libclang.so* /usr/lib/x86_64-linux-gnu/libclang-[0-9]*.so* /usr/lib/x86_64-linux-gnu/libclang.so*; do
    [ -e "$f" ] && { echo "$f"; return 0; }
  done
  return 1
}

if found=$(have_libclang); then
  echo "install-libclang: already present: $found"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-libclang: not root and no sudo; install libclang1-14 (or any libclang1-NN) by hand" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# The distribution's default libclang (the libclang1 metapackage's libclang1-NN: 14 on Debian 12, whose
# libllvm14 is usually present already), plus libclang-common-NN-dev, which carries clang's builtin headers
# (stddef.h, stdarg.h) that parsing system headers needs.
pkg=$(apt-cache depends libclang1 2>/dev/null | sed -n 's/.*Depends: \(libclang1-[0-9][0-9]*\).*/\1/p' | head -1)
[ -n "$pkg" ] || pkg=$(apt-cache search --names-only '^libclang1-[0-9]+$' | awk '{print $1}' | sort -t- -k2 -n | tail -1)
[ -n "$pkg" ] || { echo "install-libclang: no libclang1 package in the apt archive" >&2; exit 1; }
ver=${pkg#libclang1-}
extra=""
if apt-cache show "libclang-common-$ver-dev" >/dev/null 2>&1; then
  extra="libclang-common-$ver-dev"
fi
echo "install-libclang: installing $pkg $extra"
$SUDO apt-get install -y -qq --no-install-recommends "$pkg" $extra >/dev/null
found=$(have_libclang) || { echo "install-libclang: installed $pkg but found no libclang.so" >&2; exit 1; }
echo "install-libclang: installed: $found"
