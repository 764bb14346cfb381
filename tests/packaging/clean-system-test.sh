#!/bin/sh
# The Debian packages on a clean Debian 12 system (docs/install.md): what deb-test.sh cannot do on
# a development machine that already has every dependency.
#   1. `cpack -G DEB` from the existing build tree (nothing is rebuilt);
#   2. a minimal Debian 12 root made by debootstrap (--variant=minbase: no compiler, no audio
#      libraries, nothing of the project's dependencies);
#   3. in that root, as a user would: `apt-get install ./stagegraph_*.deb` (apt resolves Depends
#      from the mirror), then `stagegraph --version`, `nodes`, `demo --length 8` (renders the
#      built-in song through the shipped graphs), `analyze` of a rendered master, and a render
#      with a shipped graph whose output `analyze` reads back, and `live --list-devices` (the
#      audio module, loaded on demand);
#   4. `apt-get install ./libstagegraph-dev_*.deb g++ pkg-config`, then examples/embed_engine.cpp
#      built with pkg-config alone and run;
#   5. `apt-get remove stagegraph` leaves no file of the package behind.
# Needs root (chroot, mount), debootstrap and a Debian mirror (network); not part of `make test`.
# `make package-clean-check` runs it. A root made once is kept as a tarball beside the build
# (BUILD_DIR/clean-system/) and reused, so a second run only installs.
# usage: clean-system-test.sh SOURCE_DIR BUILD_DIR   (DEBIAN_MIRROR overrides the mirror)
set -eu
src=$1
build=$(cd "$2" && pwd)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache="$build/clean-system"
tarball="$cache/bookworm-minbase.tar"

fail() { echo "clean-system-test: FAILED: $*" >&2; exit 1; }
step() { echo "clean-system-test: $*"; }

[ "$(id -u)" = 0 ] || fail "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || fail "needs debootstrap (apt-get install debootstrap)"
[ -x "$build/stagegraph" ] || fail "no build in $build (make build first)"

work=$(mktemp -d "${TMPDIR:-/tmp}/stagegraph-clean.XXXXXX")
root="$work/root"
cleanup() {
  for m in "$root/proc" "$root/dev/pts" "$root/dev"; do
    mountpoint -q "$m" 2>/dev/null && umount -l "$m"
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# 1. The packages.
cpack -G DEB -B "$work/out" --config "$build/CPackConfig.cmake" >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
runtime=$(ls "$work"/out/stagegraph_*.deb)
dev=$(ls "$work"/out/libstagegraph-dev_*.deb)
step "built $(basename "$runtime") and $(basename "$dev")"

# 2. A clean root.
mkdir -p "$cache" "$root"
if [ ! -f "$tarball" ]; then
  step "debootstrap --variant=minbase bookworm from $mirror (once; kept in $tarball)"
  debootstrap --variant=minbase bookworm "$work/fresh" "$mirror" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; fail "debootstrap"; }
  tar -C "$work/fresh" -cf "$tarball.part" . && mv "$tarball.part" "$tarball"
  rm -rf "$work/fresh"
fi
tar -C "$root" -xf "$tarball"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
cp /etc/resolv.conf "$root/etc/resolv.conf"
echo "deb $mirror bookworm main" >"$root/etc/apt/sources.list"
rm -f "$root"/etc/apt/sources.list.d/*
mkdir -p "$root/pkg" "$root/home/user"
cp "$runtime" "$dev" "$root/pkg/"
cp "$src/examples/embed_engine.cpp" "$root/home/user/"

in_root() { chroot "$root" /usr/bin/env -i HOME=/home/user PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive sh -c "$1"; }

# Nothing of the project is there before the install.
in_root 'command -v stagegraph' >/dev/null 2>&1 && fail "the clean root already has stagegraph"
in_root 'dpkg-query -W libsndfile1 libyaml-cpp0.7 librtaudio6' >/dev/null 2>&1 && fail "the clean root already has the libraries"

# 3. The command.
in_root 'apt-get update -q' >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; fail "apt-get update"; }
in_root "apt-get install -y -q --no-install-recommends /pkg/$(basename "$runtime")" >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; fail "apt-get install ./stagegraph.deb"; }
step "installed: $(in_root 'dpkg-query -W -f "\${Package} \${Version}\n" stagegraph')"
version=$(in_root 'stagegraph --version') || fail "stagegraph --version"
step "stagegraph --version: $version"
in_root 'stagegraph nodes' | grep -q limiter || fail "stagegraph nodes does not list the limiter"
in_root 'cd /home/user && stagegraph demo --length 8 --keep demo --json >demo.json' || fail "stagegraph demo"
in_root 'ls /home/user/demo/*.wav' >"$work/demo-files.txt" || fail "demo kept no renders"
step "demo rendered $(wc -l <"$work/demo-files.txt") files"
master=$(head -1 "$work/demo-files.txt")
in_root "stagegraph analyze '$master' --json" >"$work/analyze.json" || fail "analyze $master"
grep -q '"integrated_lufs"' "$work/analyze.json" || fail "analyze gave no integrated_lufs"
in_root "cd /home/user && stagegraph render /usr/share/stagegraph/graphs/mastering/streaming.yaml -i '$master' -o streamed.wav --format wav24 --report streamed.json" \
  || fail "render with the packaged streaming graph"
in_root 'stagegraph analyze /home/user/streamed.wav --json' | grep -q '"true_peak_dbtp"' || fail "analyze of the render"
step "demo, analyze and a render with the packaged graphs ran"
# The audio devices' module (RtAudio, loaded on demand): no server, no card, so no devices; it loads.
in_root 'stagegraph live --list-devices --api alsa' >"$work/devices.txt" 2>&1 || { cat "$work/devices.txt"; fail "stagegraph live --list-devices"; }
grep -q "^ALSA (--api alsa):" "$work/devices.txt" || { cat "$work/devices.txt"; fail "live --list-devices listed no ALSA"; }
step "the audio module loaded (live --list-devices)"

# 4. The development package, compiled against with pkg-config alone.
in_root "apt-get install -y -q --no-install-recommends /pkg/$(basename "$dev") g++ pkg-config" >>"$work/apt.log" 2>&1 || { tail -30 "$work/apt.log"; fail "apt-get install ./libstagegraph-dev.deb"; }
in_root 'cd /home/user && c++ -std=c++20 -O1 embed_engine.cpp $(pkg-config --cflags --libs stagegraph) -o embed_engine' || fail "building examples/embed_engine.cpp with pkg-config"
in_root 'cd /home/user && ./embed_engine' >"$work/embed.txt" 2>&1 || { cat "$work/embed.txt"; fail "examples/embed_engine"; }
step "examples/embed_engine built against libstagegraph-dev and ran"

# 5. Removal.
in_root 'apt-get remove -y -q libstagegraph-dev stagegraph' >>"$work/apt.log" 2>&1 || fail "apt-get remove"
in_root 'command -v stagegraph' >/dev/null 2>&1 && fail "stagegraph still on PATH after removal"
[ -e "$root/usr/share/stagegraph" ] && fail "/usr/share/stagegraph left after removal"
[ -e "$root/usr/lib/stagegraph" ] && fail "/usr/lib/stagegraph left after removal"
step "removed cleanly"
step "ok"
