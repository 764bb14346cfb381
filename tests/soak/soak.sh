#!/usr/bin/env bash
# Soak runs (docs/safety.md, "Soak"): long enough to find leaks, drift and rare failures, too long
# for `make test`. Prints the figures; exits 1 when a run fails or a figure is out of bounds.
#
#   tests/soak/soak.sh [BUILD_DIR]            both soaks, full length
#   SOAK_LIVE_SECONDS=60 SOAK_HOURS="0.1 0.5 1" tests/soak/soak.sh build    shorter
#   SOAK_LIVE_SECONDS=0 / SOAK_HOURS="" skip the live / offline soak
#
# live:    a mastering graph and a mixing-style gain graph played through a JACK server with the
#          dummy driver at 64-frame periods, a switch every second (--cycle 1), SOAK_LIVE_SECONDS
#          (default 600) of a looped, generated song-like file: xruns, non-finite samples, the
#          largest step between samples, process times.
# offline: a generated source (sine + pink noise + a sweep) through the streaming master for each
#          of SOAK_HOURS (default "1 5 10") hours, written to /dev/null (streamed, no temporary
#          file): wall time and peak resident memory of each run, which must not grow with length.
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build}
sg=$build/stagegraph
[ -x "$sg" ] || { echo "soak: no $sg (build first: make build)" >&2; exit 1; }
live_seconds=${SOAK_LIVE_SECONDS:-600}
hours=${SOAK_HOURS-1 5 10}
work=$(mktemp -d)
server=stagegraph-soak-$$
jackd_pid=
cleanup() {
    [ -n "$jackd_pid" ] && kill "$jackd_pid" 2>/dev/null && wait "$jackd_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
failed=0

cat >"$work/source.yaml" <<'YAML'
stagegraph: 1
name: soak-source
outputs:
  out: {channels: 2}
nodes:
  tone: {type: sine, freq: 110 Hz, level: -12 dB, channels: 2}
  hiss: {type: noise, color: 1, level: -24 dB, channels: 2}
  sweep: {type: sweep, start: 20 Hz, end: 20000 Hz, duration: 20 s, level: -12 dB, channels: 2}
  mix: {type: gain, gain: 0 dB}
connections:
  - tone -> mix
  - hiss -> mix
  - sweep -> mix
  - mix -> out
YAML
cat >"$work/quiet.yaml" <<'YAML'
stagegraph: 1
name: quieter
inputs:
  mix: {channels: 2}
outputs:
  out: {channels: 2}
nodes:
  level: {type: gain, gain: -6 dB}
connections:
  - mix -> level -> out
YAML

# ---- live ------------------------------------------------------------------------------------
if [ "$live_seconds" = 0 ]; then
    echo "== live: skipped (SOAK_LIVE_SECONDS=0)"
elif command -v jackd >/dev/null 2>&1; then
    "$sg" render "$work/source.yaml" -o "$work/song.wav" --format wav32f --duration 30 --rate 48000 >/dev/null
    # shellcheck source=tests/live/servers.sh
    . "$here/tests/live/servers.sh"
    jackd_up "$server" 64 "$work/jackd.log" >&2 || { echo "soak: jackd did not start; the live soak will fail" >&2; failed=1; }
    jackd_pid=$server_pid
    echo "== live: $live_seconds s at 64 frames, a switch every second"
    status=0
    "$sg" live "$here/graphs/mastering/streaming.yaml" "$work/quiet.yaml" -i "$work/song.wav" --loop \
        --cycle 1 --block 64 --duration "$live_seconds" </dev/null >"$work/live.out" 2>"$work/live.err" || status=$?
    cat "$work/live.out"
    grep -v "^switch to" "$work/live.err" || true
    if [ "$status" != 0 ]; then echo "soak: live exited with $status" >&2; failed=1; fi
    grep -q "non-finite samples: 0;" "$work/live.out" || { echo "soak: non-finite samples reached the device" >&2; failed=1; }
    kill "$jackd_pid" 2>/dev/null || true; wait "$jackd_pid" 2>/dev/null || true; jackd_pid=
else
    echo "== live: skipped (jackd is not installed)"
fi

# ---- offline ---------------------------------------------------------------------------------
rss_list=()
for h in $hours; do
    seconds=$(awk -v h="$h" 'BEGIN { printf "%d", h * 3600 }')
    echo "== offline: $h h ($seconds s) through graphs/mastering/streaming.yaml"
    # The source graph feeds the master through a session file: one render, nothing on disk.
    cat >"$work/session.yaml" <<YAML
stagegraph: 1
name: soak-session
outputs:
  out: {channels: 2}
nodes:
  source: {use: $work/source.yaml}
  master: {use: $here/graphs/mastering/streaming.yaml}
connections:
  - source -> master -> out
YAML
    /usr/bin/time -f "%e s wall, %M KB peak resident" -o "$work/time.txt" \
        "$sg" render "$work/session.yaml" -o /dev/null --format wav24 --duration "$seconds" --rate 48000 \
        --include-dir "$work" --include-dir "$here/graphs" >"$work/render.out" 2>&1 || { cat "$work/render.out"; failed=1; }
    cat "$work/time.txt"
    rss_list+=("$(sed -n 's/.* \([0-9]*\) KB peak resident/\1/p' "$work/time.txt")")
done
if [ "${#rss_list[@]}" -ge 2 ]; then
    first=${rss_list[0]}; last=${rss_list[${#rss_list[@]}-1]}
    echo "peak resident memory: ${rss_list[*]} KB (first to last: $((last - first)) KB)"
    # Constant memory: the longest run may not hold more than 2 MB above the shortest.
    if [ $((last - first)) -gt 2048 ]; then echo "soak: memory grows with the length of the render" >&2; failed=1; fi
fi
exit $failed
