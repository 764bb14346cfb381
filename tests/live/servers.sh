# shellcheck shell=sh disable=SC2034  # (server_pid, jackd_mode: read by the scripts that source this)
# The audio servers the live tests and benchmarks play through, in one place: how each is
# started, waited for and stopped. Sourced (POSIX sh; also under bash's set -euo pipefail) by the
# ctest fixtures jackd-fixture.sh and pulse-fixture.sh, and by tests/bench/live_w2.sh and
# tests/soak/soak.sh, which run a JACK server of their own. A server is started directly in the
# calling shell (not in a subshell), so that $! is its pid.

# stop_pid PID: TERM, then KILL after 5 s; the server may not be our child, so poll.
stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    _stop_tries=0
    while kill -0 "$1" 2>/dev/null; do
        _stop_tries=$((_stop_tries + 1))
        if [ $_stop_tries -ge 100 ]; then
            kill -KILL "$1" 2>/dev/null || true
            break
        fi
        sleep 0.05
    done
}

# stop_pidfile FILE: stops the server whose pid FILE holds (if FILE exists) and removes FILE.
stop_pidfile() {
    if [ -f "$1" ]; then
        stop_pid "$(cat "$1")"
        rm -f "$1"
    fi
}

# wait_for_server LABEL PID LOG PROBE...: polls the command PROBE... every 50 ms until it
# succeeds (10 s at most). Returns 1 after printing why, with the server's LOG, when the server
# PID exits first or does not answer in time (then it is stopped).
wait_for_server() {
    _wait_label=$1 _wait_pid=$2 _wait_log=$3
    shift 3
    _wait_tries=0
    until "$@" >/dev/null 2>&1; do
        if ! kill -0 "$_wait_pid" 2>/dev/null; then
            echo "$_wait_label exited at start:"
            cat "$_wait_log"
            return 1
        fi
        _wait_tries=$((_wait_tries + 1))
        if [ $_wait_tries -ge 200 ]; then
            echo "$_wait_label did not answer within 10 s:"
            cat "$_wait_log"
            stop_pid "$_wait_pid"
            return 1
        fi
        sleep 0.05
    done
}

# start_jackd NAME PERIOD LOG: starts a JACK server NAME in the background with the dummy
# driver (48 kHz, PERIOD frames, no sound card needed), its output in LOG. Sets server_pid and
# jackd_mode. Clients must never spawn a server of their own: JACK_NO_START_SERVER=1 is exported.
#
# Real-time scheduling where the system allows it (root, or an rtprio limit): then the server's
# and the clients' process threads keep their deadlines while other work (a build, the rest of
# the suite) loads the cores. Measured on 2 busy cores, 5 s at 256 frames: 24 to 222 xruns
# without; with, none in most runs, one in about twenty. Elsewhere --no-realtime, which is enough
# on an idle machine. (-r before -d would mean "no real-time"; after "-d dummy" it is the rate.)
start_jackd() {
    export JACK_NO_START_SERVER=1
    if chrt -f 1 true 2>/dev/null; then jackd_mode="-R -P 70"; else jackd_mode="--no-realtime"; fi
    # shellcheck disable=SC2086
    jackd $jackd_mode -n "$1" -d dummy -r 48000 -p "$2" </dev/null >"$3" 2>&1 &
    server_pid=$!
}

# jackd_up NAME PERIOD LOG: start_jackd, then wait_for_server until jack_lsp reaches NAME
# (exported as JACK_DEFAULT_SERVER). Sets server_pid and jackd_mode; returns 1 as
# wait_for_server does (the server is then gone).
jackd_up() {
    export JACK_DEFAULT_SERVER="$1"
    start_jackd "$1" "$2" "$3"
    wait_for_server "jackd '$1'" "$server_pid" "$3" jack_lsp
}

# start_pulseaudio STATE LOG: starts a private PulseAudio server in the background whose only
# sink is a null sink (48 kHz, stereo), its socket STATE/native, its output in LOG; writes
# STATE/asound.conf, which points ALSA's default device and control at it through the pulse PCM
# plugin (libasound2-plugins). STATE must be absolute and exist; the caller sets HOME,
# PULSE_RUNTIME_PATH, PULSE_STATE_PATH and XDG_* inside it. Sets server_pid.
start_pulseaudio() {
    rm -f "$1/native"
    cat >"$1/server.pa" <<EOF
load-module module-null-sink sink_name=null rate=48000 channels=2
load-module module-native-protocol-unix socket=$1/native auth-anonymous=1
set-default-sink null
EOF
    # ALSA's own configuration first (its plugins and defaults), then its default device and
    # control redirected to this server through the pulse plugin.
    cat >"$1/asound.conf" <<EOF
<confdir:alsa.conf>
pcm.!default { type pulse }
ctl.!default { type pulse }
EOF
    # -n: no default script; --system=false even as root (it warns, harmlessly).
    pulseaudio --daemonize=no --exit-idle-time=-1 --disallow-exit -n -F "$1/server.pa" --system=false \
        --use-pid-file=no --log-target=stderr </dev/null >"$2" 2>&1 &
    server_pid=$!
}
