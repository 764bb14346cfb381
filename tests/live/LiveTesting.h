// What the live tests share: test cases that run only when the fixture's audio server answers
// (a JACK server with the dummy driver, tests/live/jackd-fixture.sh; a PulseAudio server with a
// null sink, tests/live/pulse-fixture.sh; both started through tests/live/servers.sh), in-process
// `stagegraph live` sessions fed through a command pipe, and the graphs they play.
//
// When a server's program is not installed, its test cases print "SKIPPED: PROGRAM is not
// installed" (ctest reports them as skipped, tests/CMakeLists.txt) and run nothing; when it is
// installed but its server does not answer, they fail.
#pragma once

#include "host/cli/Live.h"
#include "host/live/LiveGraph.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace sg::test {

inline constexpr double kLiveRate = 48000; ///< the fixtures' servers run at 48 kHz

/// True when `program` is installed and `probe` (a shell command) succeeds. When `program` is
/// not installed, warns with the line ctest reports as a skip and returns false; when its
/// server does not answer, fails with `hint`.
inline bool liveServerReady(const std::string& program, const std::string& packages, const std::string& probe,
                            const std::string& hint) {
    if (runShell("command -v " + program).status != 0) {
        WARN("SKIPPED: " << program << " is not installed (apt-get install " << packages << "); live test not run");
        return false;
    }
    INFO(hint);
    REQUIRE(runShell(probe).status == 0);
    return true;
}

/// The fixture's JACK server ($JACK_DEFAULT_SERVER, set by ctest per build folder).
inline bool jackServerReady() {
    ::setenv("JACK_NO_START_SERVER", "1", 1); // clients (jack_lsp too) must not spawn a server
    const char* name = std::getenv("JACK_DEFAULT_SERVER");
    return liveServerReady("jackd", "jackd2", "jack_lsp",
                           "no JACK server '" + std::string(name && *name ? name : "default") +
                               "' answers: run the tests through ctest (fixture 'jack'), or start one: "
                               "tests/live/jackd-fixture.sh start DIR");
}

/// The fixture's PulseAudio server in `dir` (STAGEGRAPH_PULSE_DIR), whatever the environment
/// says: never a user's server or ALSA set-up. ALSA's default device reaches it too.
inline bool pulseServerReady(const std::string& dir) {
    ::setenv("PULSE_SERVER", ("unix:" + dir + "/native").c_str(), 1);
    ::setenv("PULSE_RUNTIME_PATH", (dir + "/runtime").c_str(), 1);
    ::setenv("ALSA_CONFIG_PATH", (dir + "/asound.conf").c_str(), 1);
    return liveServerReady("pulseaudio", "pulseaudio libasound2-plugins", "pactl info",
                           "no PulseAudio server answers at PULSE_SERVER=unix:" + dir +
                               "/native: run the tests through ctest (fixture 'pulse'), or start one: "
                               "tests/live/pulse-fixture.sh start DIR");
}

/// A test case whose body runs only when `ready` (an expression) is true: the body is a function
/// of its own, so a skipped test ends without an early return (the way Catch's TEST_CASE is built).
#define LIVE_SERVER_TEST_CASE(ready, name, tags)                                                                                 \
    LIVE_SERVER_TEST_CASE_WITH_BODY(ready, INTERNAL_CATCH_UNIQUE_NAME(liveServerTestBody), name, tags)
#define LIVE_SERVER_TEST_CASE_WITH_BODY(ready, body, name, tags)                                                                 \
    static void body();                                                                                                          \
    TEST_CASE(name, tags) {                                                                                                      \
        if (ready) body();                                                                                                       \
    }                                                                                                                            \
    static void body()
/// Runs when the JACK fixture's server answers.
#define JACK_TEST_CASE(name, tags) LIVE_SERVER_TEST_CASE(sg::test::jackServerReady(), name, tags)
/// Runs when the PulseAudio fixture's server answers (needs STAGEGRAPH_PULSE_DIR, tests/CMakeLists.txt).
#define PULSE_TEST_CASE(name, tags) LIVE_SERVER_TEST_CASE(sg::test::pulseServerReady(STAGEGRAPH_PULSE_DIR), name, tags)

// ---- graphs ------------------------------------------------------------------------------------

/// A graph "gainN" of `channels` channels: [a 40 Hz high-pass (a recursive filter: its state
/// depends on everything it has heard)] -> [`latencySamples` of delay] -> a gain of `gainDb`.
inline std::string gainGraph(double gainDb, int latencySamples = 0, int channels = 2, bool highpass = false) {
    const std::string c = std::to_string(channels);
    std::string y = "stagegraph: 1\nname: gain" + std::to_string(int(gainDb)) + "\ninputs:\n  mix: {channels: " + c +
                    "}\noutputs:\n  out: {channels: " + c + "}\nnodes:\n";
    if (highpass) y += "  hpf: {type: highpass, freq: 40 Hz}\n";
    if (latencySamples > 0) y += "  look: {type: latency, samples: " + std::to_string(latencySamples) + "}\n";
    y += "  level: {type: gain, gain: " + std::to_string(gainDb) + " dB}\n";
    y += std::string("connections:\n  - mix -> ") + (highpass ? "hpf -> " : "") + (latencySamples > 0 ? "look -> " : "") +
         "level -> out\n";
    return y;
}

/// `yaml` written to `dir`/`name` and prepared as a live graph (fails the test if it does not).
inline std::unique_ptr<live::LiveGraph> makeLiveGraph(const TempDir& dir, const std::string& name, const std::string& yaml,
                                                      const live::LiveFormat& format = {}) {
    Diagnostics diags;
    std::string error;
    auto graph = live::LiveGraph::create(dir.write(name, yaml), {}, format, diags, error);
    INFO(diags.formatAll() << error);
    REQUIRE(graph);
    return graph;
}

// ---- sessions ----------------------------------------------------------------------------------

/// What one in-process `stagegraph live` run gave.
struct LiveRun {
    int status = -1;
    std::string out, err;
    live::LiveSummary summary;
};

/// Counts the occurrences of a text in what the session has written to its error stream so far
/// (the session flushes after every message).
using MessageCounter = std::function<int(const std::string& text)>;
/// Writes command lines into the session's pipe (`fd`), on a thread of its own; it may sleep.
using LiveScript = std::function<void(int fd, const MessageCounter& count)>;

/// The whole content of a temporary stream.
inline std::string streamText(std::FILE* file) {
    std::string text;
    std::rewind(file);
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;) text.append(buffer, n);
    return text;
}

/// Runs `stagegraph live ARGS` in-process. `script` gets the write end of the command pipe and a
/// counter of the session's messages; the pipe is closed after it returns.
inline LiveRun runLive(const std::vector<std::string>& args, const LiveScript& script = {}) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    REQUIRE(out);
    REQUIRE(err);
    const MessageCounter count = [errFd = fileno(err)](const std::string& text) {
        // pread leaves the session's stream position alone
        std::string seen(std::size_t(::lseek(errFd, 0, SEEK_END)), '\0');
        seen.resize(std::size_t(std::max<ssize_t>(0, ::pread(errFd, seen.data(), seen.size(), 0))));
        int found = 0;
        for (std::size_t at = seen.find(text); at != std::string::npos; at = seen.find(text, at + 1)) ++found;
        return found;
    };
    std::thread writer([&] {
        if (script) script(fds[1], count);
        ::close(fds[1]);
    });
    live::LiveConsole console;
    console.commandFd = fds[0];
    console.out = out;
    console.err = err;
    console.interactive = 0;
    console.handleSignals = false;
    LiveRun run;
    run.status = cli::runLive(args, console, &run.summary);
    writer.join();
    ::close(fds[0]);
    run.out = streamText(out);
    run.err = streamText(err);
    std::fclose(out);
    std::fclose(err);
    return run;
}

/// runLive, repeated (up to 3 runs) while the server reports xruns. An xrun is a scheduling
/// event of a shared, loaded machine, not a property of the code under test; a run that is
/// clean proves the session can play without one, and every content check still applies to it.
inline LiveRun runLiveWithoutXruns(const std::vector<std::string>& args, const LiveScript& script = {}) {
    LiveRun run;
    for (int attempt = 1; attempt <= 3; ++attempt) {
        run = runLive(args, script);
        if (run.status != 0 || run.summary.xruns == 0) break;
        WARN("attempt " << attempt << ": " << run.summary.xruns << " xruns reported by the server; running again. "
                        << "The session's summary:\n"
                        << run.out);
    }
    return run;
}

/// Whether the CPU time of a callback is held to its deadline: in the optimised build only. The
/// sanitizer build runs the same callback 3 to 10 times slower with its memory not locked, and
/// on a loaded host its thread's CPU time swells further: in a CI run of this VM the switching
/// test's heaviest callbacks took 5.6-7.4 ms of CPU in 5.33 ms periods, in all three attempts,
/// where its median callback took 190-200 us and, on a quieter host, its heaviest 0.3-1.05 ms.
/// Deadlines are a property of the optimised code; the sanitizers check memory and behaviour.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kCallbackDeadlinesChecked = false;
#else
inline constexpr bool kCallbackDeadlinesChecked = true;
#endif

/// Whether a run's xruns, if any, were the machine's and not the session's: no callback of the
/// session took its period's worth of CPU time (kCallbackDeadlinesChecked), and none blocked (a
/// wait, beyond those of page faults where memory is not locked: a fault may wait in the
/// kernel). Then every callback could have finished in time, and an xrun means a thread was not
/// run: the server's driver woken late (its own "Process XRun"), or a callback thread held off
/// the CPU. Wall times cannot tell this apart: in the sanitizer build on this VM, 4 runs of 40
/// of the switching test had xruns in all three attempts, their longest callbacks 300-1050 us on
/// the CPU and 7.7-16.6 ms on the wall clock with no involuntary switch (the virtual CPU itself
/// was not run: steal time). A callback that works or spins past its deadline (optimised build),
/// or sleeps (either build), still fails.
inline bool xrunsNotTheSessions(const live::LiveSummary& s) {
    const bool blocked = s.memoryLocked ? s.callbackWaits > 0 : s.callbackWaits > s.callbackPageFaults;
    const bool overDeadline = kCallbackDeadlinesChecked && !(s.heaviestCpuUs < s.deadlineUs);
    return s.xruns == 0 || (!overDeadline && !blocked);
}

/// Writes one command line into the session's pipe.
inline void say(int fd, const std::string& line) {
    const std::string text = line + "\n";
    REQUIRE(::write(fd, text.data(), text.size()) == ssize_t(text.size()));
}

inline void sleepSeconds(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds)); }

/// Waits (10 s at most) until the session has written `text` at least `times` times.
inline void waitForMessage(const MessageCounter& count, const std::string& text, int times = 1) {
    for (int wait = 0; wait < 2000 && count(text) < times; ++wait) sleepSeconds(0.005);
}

/// 'path' for /bin/sh.
inline std::string quotedPath(const std::string& path) { return "'" + path + "'"; }

} // namespace sg::test
