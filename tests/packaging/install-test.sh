#!/bin/sh
# The installed library and command, as a user gets them (docs/install.md):
#   1. `cmake --install` of the existing build tree into a temporary prefix (no rebuild);
#   2. examples/ built out of tree against it with find_package(stagegraph), and again with
#      pkg-config alone, and run;
#   3. the installed command renders with the installed graphs, bit for bit like the build tree's,
#      and its engine takes <prefix>/share/stagegraph/graphs as the shipped graphs (`use:` may
#      include from there), which the build tree's command does not;
#   4. the installed command opens devices through the installed module
#      (<prefix>/lib/stagegraph/stagegraph-audio.so), not the build tree's.
# usage: install-test.sh SOURCE_DIR BUILD_DIR
set -eu
src=$1
build=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/stagegraph-install.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
prefix=$work/prefix

fail() { echo "install-test: FAILED: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >"$work/install.log" || { cat "$work/install.log"; fail "cmake --install"; }
for f in bin/stagegraph lib/stagegraph/stagegraph-audio.so lib/libstagegraph_engine.a include/stagegraph/core/Compiler.h include/stagegraph/core/Node.h \
         include/stagegraph/nodes/meters/LoudnessMeter.h lib/cmake/stagegraph/stagegraphConfig.cmake \
         lib/cmake/stagegraph/stagegraphConfigVersion.cmake lib/pkgconfig/stagegraph.pc \
         share/stagegraph/graphs/mastering/streaming.yaml share/stagegraph/graphs/mixing/parts/vocal-strip.yaml \
         share/doc/stagegraph/nodes/README.md share/doc/stagegraph/batch.md; do
  [ -f "$prefix/$f" ] || fail "not installed: $f"
done
# Internal headers stay internal.
[ ! -e "$prefix/include/stagegraph/core/loader" ] || fail "core/loader/ headers were installed"
echo "install-test: installed into a temporary prefix"

# find_package(stagegraph): a fresh CMake project, out of tree, nothing from the source tree on its paths.
cmake -S "$src/examples" -B "$work/examples" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  >"$work/examples.log" 2>&1 || { cat "$work/examples.log"; fail "configuring examples/ with find_package"; }
cmake --build "$work/examples" >>"$work/examples.log" 2>&1 || { cat "$work/examples.log"; fail "building examples/"; }
"$work/examples/embed_engine" >"$work/cmake-run.txt" || fail "embed_engine (find_package) exited $?"
grep -q "1000 Hz" "$work/cmake-run.txt" || fail "embed_engine (find_package) printed no response"
echo "install-test: examples/ built with find_package(stagegraph) and run"

# pkg-config alone (what a Makefile would do).
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
flags=$(pkg-config --cflags --libs stagegraph) || fail "pkg-config stagegraph"
[ "$(pkg-config --modversion stagegraph)" = "$("$prefix/bin/stagegraph" --version | sed 's/^stagegraph //')" ] ||
  fail "pkg-config version differs from the command's"
# shellcheck disable=SC2086
c++ -std=c++20 -O1 "$src/examples/embed_engine.cpp" -o "$work/embed_engine_pc" $flags || fail "building with pkg-config"
"$work/embed_engine_pc" >"$work/pc-run.txt" || fail "embed_engine (pkg-config) exited $?"
cmp -s "$work/cmake-run.txt" "$work/pc-run.txt" || fail "the two builds of embed_engine print different results"
echo "install-test: examples/embed_engine.cpp built with pkg-config and run"

# The installed command and its graphs.
"$prefix/bin/stagegraph" --version | grep -q "^stagegraph [0-9]" || fail "stagegraph --version"
sox -n -r 48000 -c 2 -b 24 "$work/mix.wav" synth 1.5 pinknoise gain -14 || fail "sox"
"$prefix/bin/stagegraph" render "$prefix/share/stagegraph/graphs/mastering/streaming.yaml" -i "$work/mix.wav" \
  -o "$work/installed.wav" >/dev/null || fail "render with the installed command and graph"
"$build/stagegraph" render "$src/graphs/mastering/streaming.yaml" -i "$work/mix.wav" -o "$work/built.wav" >/dev/null ||
  fail "render with the build tree's command"
cmp -s "$work/installed.wav" "$work/built.wav" || fail "installed and build-tree renders differ"
mkdir "$work/mine"
cat >"$work/mine/master.yaml" <<GRAPH
stagegraph: 1
inputs: {mix: {channels: 2}}
outputs: {out: {channels: 2}}
nodes:
  bands: {use: $prefix/share/stagegraph/graphs/mastering/multiband.yaml}
connections: ["mix -> bands -> out"]
GRAPH
"$prefix/bin/stagegraph" check "$work/mine/master.yaml" >"$work/check.txt" 2>&1 ||
  { cat "$work/check.txt"; fail "the installed command does not take its installed graphs as the shipped ones"; }
if "$build/stagegraph" check "$work/mine/master.yaml" >/dev/null 2>&1; then
  fail "the build tree's command accepted a use: outside its shipped graphs (the check above proves nothing)"
fi
echo "install-test: the installed command renders and includes from <prefix>/share/stagegraph/graphs"
# 4. JACK with no server of that name: the module loads and lists nothing.
JACK_DEFAULT_SERVER=stagegraph-no-such-server LD_DEBUG=files "$prefix/bin/stagegraph" live --list-devices --api jack \
  >"$work/devices.txt" 2>"$work/loader.txt" || { cat "$work/devices.txt"; fail "live --list-devices with the installed command"; }
grep -F "file=$prefix/" "$work/loader.txt" | grep -q "stagegraph-audio.so" ||
  fail "the installed command did not load the installed audio module ($(grep -o 'file=[^ ]*stagegraph-audio.so' "$work/loader.txt"))"
echo "install-test: the installed command loads its installed audio module"
echo "install-test: ok"
