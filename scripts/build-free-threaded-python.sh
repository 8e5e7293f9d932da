#!/usr/bin/env bash
# Builds a free-threaded CPython 3.13 (python3.13t) from Debian's source package
# into a cache outside the repository, and prints the interpreter's path on the
# last line. No registry serves a free-threaded build ready-made on Debian
# bookworm, but the source package of trixie's python3.13 builds one.
#
#   scripts/build-free-threaded-python.sh [PREFIX]
#
# PREFIX defaults to $SNAKEPIT_CACHE_DIR/cpython-3.13t (SNAKEPIT_CACHE_DIR
# defaults to ~/.cache/snakepit). A finished build is reused: the script exits
# at once when PREFIX/bin/python3.13t already runs with the GIL disabled.
set -euo pipefail

cache="${SNAKEPIT_CACHE_DIR:-$HOME/.cache/snakepit}"
prefix="${1:-$cache/cpython-3.13t}"
python="$prefix/bin/python3.13t"

is_free_threaded() {
  "$1" -c 'import sys, sysconfig; sys.exit(0 if sysconfig.get_config_var("Py_GIL_DISABLED") == 1 else 1)' 2>/dev/null
}

if [ -x "$python" ] && is_free_threaded "$python"; then
  echo "$python"
  exit 0
fi

if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
  echo "building a free-threaded CPython needs apt-get (root or sudo) for the source package and build dependencies;" >&2
  echo "or install one yourself (uv python install 3.13t, the python.org installer) and set SNAKEPIT_FREE_THREADED_PYTHON" >&2
  exit 1
fi
sudo_=""
[ "$(id -u)" -eq 0 ] || sudo_="sudo"

# The machine's own Debian mirror, read from its apt sources, with trixie's
# source packages beside bookworm's binaries.
mirror=$( (cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true) \
  | grep -E '^(URIs:|deb )' | grep -v security | sed -E 's/^URIs:[[:space:]]*//; s/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//' \
  | awk '{print $1}' | grep -E '^https?://' | head -n 1)
if [ -z "$mirror" ]; then
  echo "no Debian mirror found in /etc/apt sources: cannot fetch the python3.13 source package" >&2
  exit 1
fi
list=/etc/apt/sources.list.d/snakepit-trixie-src.list
if [ ! -f "$list" ]; then
  echo "deb-src $mirror trixie main" | $sudo_ tee "$list" >/dev/null
fi
$sudo_ apt-get update -qq
$sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  build-essential dpkg-dev libssl-dev zlib1g-dev libffi-dev libbz2-dev liblzma-dev \
  libsqlite3-dev uuid-dev libreadline-dev >/dev/null

work="$cache/build-cpython-3.13t"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
apt-get source --download-only python3.13 >/dev/null
tarball=$(ls python3.13_*.orig.tar.* | head -n 1)
tar -xf "$tarball"
src=$(find . -maxdepth 1 -type d -name 'Python-3.13*' | head -n 1)
cd "$src"
./configure --disable-gil --disable-test-modules --prefix="$prefix" >configure.log 2>&1 \
  || { tail -n 40 configure.log >&2; exit 1; }
make -j"$(nproc)" >make.log 2>&1 || { tail -n 60 make.log >&2; exit 1; }
make altinstall >install.log 2>&1 || { tail -n 40 install.log >&2; exit 1; }
cd /
rm -rf "$work"

is_free_threaded "$python" || { echo "built $python, but it is not free-threaded" >&2; exit 1; }
echo "$python"
