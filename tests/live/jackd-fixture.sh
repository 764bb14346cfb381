#!/bin/sh
# ctest fixture for the live tests: starts or stops a JACK server with the dummy driver
# (48 kHz, 256-frame periods, no sound card needed).
#
#   jackd-fixture.sh start STATE_DIR    start it, wait (10 s at most) until jack_lsp answers
#   jackd-fixture.sh stop STATE_DIR     stop the server this script started, and wait for it
#
# The server name is $JACK_DEFAULT_SERVER (tests/CMakeLists.txt sets one per build folder, so
# two builds testing at once never share a server); its pid and log go to STATE_DIR. Without
# jackd installed, start says so and succeeds: the live tests then report themselves skipped.
set -u
action=${1:-}
state=${2:-.}
name=${JACK_DEFAULT_SERVER:-default}
pidfile="$state/jackd-$name.pid"
log="$state/jackd-$name.log"
export JACK_NO_START_SERVER=1   # clients must never spawn a server of their own

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
    if ! command -v jackd >/dev/null 2>&1; then
        echo "jackd is not installed (apt-get install jackd2): the live tests will be skipped"
        exit 0
    fi
    mkdir -p "$state"
    if [ -f "$pidfile" ]; then   # left over from an interrupted run
        stop_pid "$(cat "$pidfile")"
        rm -f "$pidfile"
    fi
    if jack_lsp >/dev/null 2>&1; then
        echo "a JACK server named '$name' is already running; the live tests use it"
        exit 0
    fi
    # Real-time scheduling where the system allows it (root, or an rtprio limit): then the
    # server's and the clients' process threads keep their deadlines while other work (a build,
    # the rest of the suite) loads the cores. Measured on 2 busy cores, 5 s at 256 frames:
    # 24 to 222 xruns without; with, none in most runs, one in about twenty. Elsewhere
    # --no-realtime, which is enough on an idle machine.
    # (-r before -d would mean "no real-time"; after "-d dummy" it is the sample rate.)
    if chrt -f 1 true 2>/dev/null; then mode="-R -P 70"; else mode="--no-realtime"; fi
    # shellcheck disable=SC2086
    jackd $mode -n "$name" -d dummy -r 48000 -p 256 </dev/null >"$log" 2>&1 &
    pid=$!
    echo "$pid" >"$pidfile"
    i=0
    until jack_lsp >/dev/null 2>&1; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "jackd '$name' exited at start:"
            cat "$log"
            rm -f "$pidfile"
            exit 1
        fi
        i=$((i + 1))
        if [ $i -ge 200 ]; then
            echo "jackd '$name' did not answer within 10 s:"
            cat "$log"
            stop_pid "$pid"
            rm -f "$pidfile"
            exit 1
        fi
        sleep 0.05
    done
    echo "jackd '$name' is running (pid $pid, $mode): dummy driver, 48000 Hz, 256 frames"
    ;;
stop)
    if [ ! -f "$pidfile" ]; then
        echo "no JACK server was started by this fixture"
        exit 0
    fi
    pid=$(cat "$pidfile")
    stop_pid "$pid"
    rm -f "$pidfile"
    echo "jackd '$name' (pid $pid) stopped"
    ;;
*)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
