#!/bin/sh
# The Debian packages (docs/install.md): `cpack -G DEB` from the existing build tree, then
#   1. dpkg-deb: the contents of stagegraph and libstagegraph-dev, nothing outside /usr;
#   2. Depends: every shared library the command and its audio module (lib/stagegraph/) link
#      (their NEEDED entries) comes from a package stagegraph depends on (found with ldd and dpkg -S
#      on this machine), and every package named there exists;
#   3. both unpacked with `dpkg -x` into a temporary root: --version, a render with the packaged
#      graphs bit for bit like the build tree's, `use:` of the packaged graphs, and examples/ built
#      against the unpacked -dev package with find_package, and the packaged command loads the
#      packaged audio module.
# Not done here: `apt-get install ./stagegraph_*.deb` on a clean Debian 12 system (this test runs
# on a development machine that has every dependency): clean-system-test.sh does that in a
# debootstrap root (`make package-clean-check`).
# usage: deb-test.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/stagegraph-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

fail() { echo "deb-test: FAILED: $*" >&2; exit 1; }

cpack -G DEB -B "$work/out" --config "$build/CPackConfig.cmake" >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
runtime=$(ls "$work"/out/stagegraph_*.deb)
dev=$(ls "$work"/out/libstagegraph-dev_*.deb)
echo "deb-test: built $(basename "$runtime") and $(basename "$dev")"

# 1. Contents.
dpkg-deb -c "$runtime" | awk '{print $6}' >"$work/runtime.txt"
dpkg-deb -c "$dev" | awk '{print $6}' >"$work/dev.txt"
for f in ./usr/bin/stagegraph ./usr/lib/stagegraph/stagegraph-audio.so ./usr/share/stagegraph/graphs/mastering/streaming.yaml ./usr/share/doc/stagegraph/nodes/README.md; do
  grep -qx "$f" "$work/runtime.txt" || fail "stagegraph does not contain $f"
done
for f in ./usr/lib/libstagegraph_engine.a ./usr/include/stagegraph/core/Compiler.h ./usr/lib/cmake/stagegraph/stagegraphConfig.cmake \
         ./usr/lib/pkgconfig/stagegraph.pc; do
  grep -qx "$f" "$work/dev.txt" || fail "libstagegraph-dev does not contain $f"
done
if grep -v '^\./usr/' "$work/runtime.txt" "$work/dev.txt" | grep -v ':\./$' | grep -q .; then fail "files outside /usr"; fi
if grep -q '^\./usr/include/' "$work/runtime.txt"; then fail "headers in the runtime package"; fi
echo "deb-test: contents ok"

# 2. Depends.
depends=$(dpkg-deb -f "$runtime" Depends)
echo "deb-test: stagegraph Depends: $depends"
dpkg-deb -f "$dev" Depends | grep -q "libyaml-cpp-dev" || fail "libstagegraph-dev does not depend on libyaml-cpp-dev"
mkdir "$work/root"
dpkg -x "$runtime" "$work/root"
dpkg -x "$dev" "$work/root"
# The libraries the command and its audio module link directly (their NEEDED entries), where the
# loader finds them here.
for elf in "$work/root/usr/bin/stagegraph" "$work/root/usr/lib/stagegraph/stagegraph-audio.so"; do
  ldd "$elf" >"$work/ldd.txt"
  readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | while read -r needed; do
    # "libx.so.1 => /path (0x…)", or the dynamic loader's own line, "/path/ld-linux-x86-64.so.2 (0x…)".
    lib=$(awk -v n="$needed" '($1 == n && $2 == "=>") {print $3; exit} (substr($1, length($1) - length(n)) == "/" n) {print $1; exit}' "$work/ldd.txt")
    [ -n "$lib" ] || fail "$needed is not found by the loader"
    owner=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$owner" ] || owner=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$owner" ] || fail "no package owns $lib"
    echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/ .*//' | grep -qx "$owner" || fail "$lib comes from $owner, which Depends lacks"
  done
done
echo "$depends" | tr ',|' '\n\n' | sed 's/^ *//; s/ .*//' | while read -r package; do
  dpkg-query -W "$package" >/dev/null 2>&1 || fail "Depends names $package, which is no Debian package known here"
done
echo "deb-test: Depends covers every shared library the command and its audio module link"

# 3. The unpacked packages run.
usr=$work/root/usr
"$usr/bin/stagegraph" --version | grep -q "^stagegraph [0-9]" || fail "stagegraph --version"
sox -n -r 44100 -c 2 -b 16 "$work/mix.wav" synth 1.5 pinknoise gain -16 || fail "sox"
"$usr/bin/stagegraph" render "$usr/share/stagegraph/graphs/mastering/broadcast-r128.yaml" -i "$work/mix.wav" \
  -o "$work/packaged.flac" --target ebu-r128 >/dev/null || fail "render with the packaged command and graph"
"$build/stagegraph" render "$src/graphs/mastering/broadcast-r128.yaml" -i "$work/mix.wav" -o "$work/built.flac" \
  --target ebu-r128 >/dev/null || fail "render with the build tree's command"
cmp -s "$work/packaged.flac" "$work/built.flac" || fail "packaged and build-tree renders differ"
mkdir "$work/mine"
cat >"$work/mine/master.yaml" <<GRAPH
stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  bands: {use: $usr/share/stagegraph/graphs/mastering/multiband.yaml}
connections: ["mix -> bands -> out"]
GRAPH
"$usr/bin/stagegraph" check "$work/mine/master.yaml" >"$work/check.txt" 2>&1 ||
  { cat "$work/check.txt"; fail "the packaged command does not take its packaged graphs as the shipped ones"; }
cmake -S "$src/examples" -B "$work/examples" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$usr" >"$work/examples.log" 2>&1 &&
  cmake --build "$work/examples" >>"$work/examples.log" 2>&1 || { cat "$work/examples.log"; fail "examples/ against libstagegraph-dev"; }
"$work/examples/embed_engine" | grep -q "1000 Hz" || fail "embed_engine built against libstagegraph-dev"
JACK_DEFAULT_SERVER=stagegraph-no-such-server LD_DEBUG=files "$usr/bin/stagegraph" live --list-devices --api jack \
  >"$work/devices.txt" 2>"$work/loader.txt" || { cat "$work/devices.txt"; fail "live --list-devices with the packaged command"; }
grep -F "file=$usr/" "$work/loader.txt" | grep -q "stagegraph-audio.so" || fail "the packaged command did not load its packaged audio module"
echo "deb-test: the unpacked packages run (version, render, graphs, examples/, the audio module)"
echo "deb-test: ok"
