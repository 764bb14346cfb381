#!/bin/sh
# ctest fixture for the PulseAudio and ALSA live tests: starts or stops a private PulseAudio
# server whose only sink is a null sink (48 kHz, stereo, no sound card needed), and writes the
# ALSA configuration that points ALSA's default device at it (the pulse PCM plugin, package
# libasound2-plugins; the recipe is start_pulseaudio in servers.sh).
#
#   pulse-fixture.sh start STATE_DIR    start it, wait (10 s at most) until pactl answers
#   pulse-fixture.sh stop STATE_DIR     stop the server this script started, and wait for it
#
# Everything lives in STATE_DIR/pulse: the server's socket (STATE_DIR/pulse/native), its runtime
# and state folders, its log, and asound.conf. Tests reach the server through
# PULSE_SERVER=unix:STATE_DIR/pulse/native and ALSA through ALSA_CONFIG_PATH=STATE_DIR/pulse/asound.conf
# (tests/CMakeLists.txt sets both), so no user's server or ALSA configuration is touched or used.
# Without pulseaudio installed, start says so and succeeds: the tests then report themselves
# skipped.
set -u
# shellcheck source=tests/live/servers.sh
. "$(dirname "$0")/servers.sh"
action=${1:-}
mkdir -p "${2:-.}" || exit 1
state=$(cd "${2:-.}" && pwd)/pulse   # absolute: the server needs an absolute home and socket path
pidfile="$state/pulseaudio.pid"
log="$state/pulseaudio.log"
export PULSE_SERVER="unix:$state/native"
export PULSE_RUNTIME_PATH="$state/runtime" PULSE_STATE_PATH="$state/state" HOME="$state/home"
export XDG_RUNTIME_DIR="$state/runtime" XDG_CONFIG_HOME="$state/home/.config"

case "$action" in
start)
    if ! command -v pulseaudio >/dev/null 2>&1; then
        echo "pulseaudio is not installed (apt-get install pulseaudio): the PulseAudio and ALSA live tests will be skipped"
        exit 0
    fi
    mkdir -p "$state/runtime" "$state/state" "$state/home/.config"
    chmod 700 "$state/runtime"
    stop_pidfile "$pidfile"   # left over from an interrupted run
    start_pulseaudio "$state" "$log"
    echo "$server_pid" >"$pidfile"
    if ! wait_for_server pulseaudio "$server_pid" "$log" pactl info; then
        rm -f "$pidfile"
        exit 1
    fi
    echo "pulseaudio is running (pid $server_pid) on $PULSE_SERVER: null sink, 48000 Hz, 2 channels"
    ;;
stop)
    if [ ! -f "$pidfile" ]; then
        echo "no PulseAudio server was started by this fixture"
        exit 0
    fi
    pid=$(cat "$pidfile")
    stop_pidfile "$pidfile"
    rm -f "$state/native"
    echo "pulseaudio (pid $pid) stopped"
    ;;
*)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
