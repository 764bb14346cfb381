#!/bin/sh
# ctest fixture for the PulseAudio and ALSA live tests: starts or stops a private PulseAudio
# server whose only sink is a null sink (48 kHz, stereo, no sound card needed), and writes the
# ALSA configuration that points ALSA's default device at it (the pulse PCM plugin, package
# libasound2-plugins).
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
action=${1:-}
mkdir -p "${2:-.}" || exit 1
state=$(cd "${2:-.}" && pwd)/pulse   # absolute: the server needs an absolute home and socket path
pidfile="$state/pulseaudio.pid"
log="$state/pulseaudio.log"
export PULSE_SERVER="unix:$state/native"
export PULSE_RUNTIME_PATH="$state/runtime" PULSE_STATE_PATH="$state/state" HOME="$state/home"
export XDG_RUNTIME_DIR="$state/runtime" XDG_CONFIG_HOME="$state/home/.config"

stop_pid() {   # stop_pid PID: TERM, then KILL after 5 s; the server is not our child, so poll
    kill -TERM "$1" 2>/dev/null || return 0
    i=0
    while kill -0 "$1" 2>/dev/null; do
        i=$((i + 1))
        if [ $i -ge 100 ]; then kill -KILL "$1" 2>/dev/null; break; fi
        sleep 0.05
    done
}

case "$action" in
start)
    if ! command -v pulseaudio >/dev/null 2>&1; then
        echo "pulseaudio is not installed (apt-get install pulseaudio): the PulseAudio and ALSA live tests will be skipped"
        exit 0
    fi
    mkdir -p "$state/runtime" "$state/state" "$state/home/.config"
    chmod 700 "$state/runtime"
    if [ -f "$pidfile" ]; then   # left over from an interrupted run
        stop_pid "$(cat "$pidfile")"
        rm -f "$pidfile"
    fi
    rm -f "$state/native"
    cat >"$state/server.pa" <<EOF
load-module module-null-sink sink_name=null rate=48000 channels=2
load-module module-native-protocol-unix socket=$state/native auth-anonymous=1
set-default-sink null
EOF
    # ALSA's own configuration first (its plugins and defaults), then its default device and
    # control redirected to this server through the pulse plugin.
    cat >"$state/asound.conf" <<EOF
<confdir:alsa.conf>
pcm.!default { type pulse }
ctl.!default { type pulse }
EOF
    # -n: no default script; --system=false even as root (it warns, harmlessly).
    pulseaudio --daemonize=no --exit-idle-time=-1 --disallow-exit -n -F "$state/server.pa" --system=false \
        --use-pid-file=no --log-target=stderr </dev/null >"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    i=0
    until pactl info >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "pulseaudio exited at start:"
            cat "$log"
            rm -f "$pidfile"
            exit 1
        fi
        i=$((i + 1))
        if [ $i -ge 200 ]; then
            echo "pulseaudio did not answer within 10 s:"
            cat "$log"
            stop_pid "$pid"
            rm -f "$pidfile"
            exit 1
        fi
        sleep 0.05
    done
    echo "pulseaudio is running (pid $pid) on $PULSE_SERVER: null sink, 48000 Hz, 2 channels"
    ;;
stop)
    if [ ! -f "$pidfile" ]; then
        echo "no PulseAudio server was started by this fixture"
        exit 0
    fi
    pid=$(cat "$pidfile")
    stop_pid "$pid"
    rm -f "$pidfile" "$state/native"
    echo "pulseaudio (pid $pid) stopped"
    ;;
*)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
