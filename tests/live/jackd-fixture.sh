#!/bin/sh
# ctest fixture for the live tests: starts or stops a JACK server with the dummy driver
# (48 kHz, 256-frame periods, no sound card needed; the recipe is start_jackd in servers.sh).
#
#   jackd-fixture.sh start STATE_DIR    start it, wait (10 s at most) until jack_lsp answers
#   jackd-fixture.sh stop STATE_DIR     stop the server this script started, and wait for it
#
# The server name is $JACK_DEFAULT_SERVER (tests/CMakeLists.txt sets one per build folder, so
# two builds testing at once never share a server); its pid and log go to STATE_DIR. Without
# jackd installed, start says so and succeeds: the live tests then report themselves skipped.
set -u
# shellcheck source=tests/live/servers.sh
. "$(dirname "$0")/servers.sh"
action=${1:-}
state=${2:-.}
name=${JACK_DEFAULT_SERVER:-default}
pidfile="$state/jackd-$name.pid"
log="$state/jackd-$name.log"
export JACK_NO_START_SERVER=1   # clients must never spawn a server of their own

case "$action" in
start)
    if ! command -v jackd >/dev/null 2>&1; then
        echo "jackd is not installed (apt-get install jackd2): the live tests will be skipped"
        exit 0
    fi
    mkdir -p "$state"
    stop_pidfile "$pidfile"   # left over from an interrupted run
    if jack_lsp >/dev/null 2>&1; then
        echo "a JACK server named '$name' is already running; the live tests use it"
        exit 0
    fi
    start_jackd "$name" 256 "$log"
    echo "$server_pid" >"$pidfile"
    if ! wait_for_server "jackd '$name'" "$server_pid" "$log" jack_lsp; then
        rm -f "$pidfile"
        exit 1
    fi
    echo "jackd '$name' is running (pid $server_pid, $jackd_mode): dummy driver, 48000 Hz, 256 frames"
    ;;
stop)
    if [ ! -f "$pidfile" ]; then
        echo "no JACK server was started by this fixture"
        exit 0
    fi
    pid=$(cat "$pidfile")
    stop_pidfile "$pidfile"
    echo "jackd '$name' (pid $pid) stopped"
    ;;
*)
    echo "usage: $0 start|stop STATE_DIR" >&2
    exit 2
    ;;
esac
