// `stagegraph live` against a real audio server: a JACK server with its dummy driver (48 kHz,
// 256-frame periods), started and stopped by the ctest fixture tests/live/jackd-fixture.sh.
// When jackd is not installed each test (JACK_TEST_CASE) prints "SKIPPED: jackd is not
// installed" and runs nothing (ctest reports it as skipped); when it is installed but no
// server answers, the tests fail.
//
// The sessions run in-process through sg::cli::runLive with commands written into a pipe, so
// the timing of `switch` and `set` lines is the test's; the offline renders they are compared
// with come from the `stagegraph render` command.
#include "host/WavTesting.h"
#include "live/LiveTesting.h"

#include <catch2/catch.hpp>

#include <regex>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <sys/mman.h>
#include <thread>
#include <unistd.h>
#include <utility>

using namespace sg;

namespace {

using namespace sg::test; // LiveTesting.h, WavTesting.h

constexpr double kRate = kLiveRate;

using Channels = std::vector<std::vector<float>>;

std::int64_t framesOf(const Channels& audio) { return audio.empty() ? 0 : std::int64_t(audio[0].size()); }

/// The largest step between samples of any channel, counted from a silent sample before the
/// first (as the session's summary counts it).
double largestStep(const Channels& audio) {
    double step = 0;
    for (const auto& channel : audio) {
        float previous = 0;
        for (float v : channel) step = std::max(step, double(std::abs(v - std::exchange(previous, v))));
    }
    return step;
}

/// Largest |x| over [from, to).
double peak(const std::vector<float>& x, std::int64_t from, std::int64_t to) {
    double m = 0;
    for (std::int64_t n = std::max<std::int64_t>(0, from); n < std::min<std::int64_t>(to, std::int64_t(x.size())); ++n)
        m = std::max(m, double(std::abs(x[std::size_t(n)])));
    return m;
}

} // namespace

JACK_TEST_CASE("jack: --list-devices shows the JACK server's device", "[live]") {
    // Independent: the clients that own playback ports, as jack_lsp reports them.
    const auto ports = test::runShell("jack_lsp");
    std::vector<std::string> clients;
    std::size_t at = 0;
    while (at < ports.out.size()) {
        const std::size_t end = ports.out.find('\n', at);
        const std::string line = ports.out.substr(at, end - at);
        at = end == std::string::npos ? ports.out.size() : end + 1;
        if (line.find(":playback_") != std::string::npos) clients.push_back(line.substr(0, line.find(':')));
    }
    REQUIRE_FALSE(clients.empty());

    const LiveRun run = runLive({"--list-devices", "--api", "jack"});
    INFO(run.out << run.err);
    CHECK(run.status == 0);
    CHECK(run.out.find("Jack") != std::string::npos);
    for (const auto& client : clients) CHECK(run.out.find("'" + client + "'") != std::string::npos);
    CHECK(run.out.find("48000 Hz") != std::string::npos);
}

JACK_TEST_CASE("jack: a file played with --tee is bit-identical to the offline render, delayed by the latency", "[live]") {
    test::TempDir dir;
    const std::int64_t frames = std::int64_t(1.5 * kRate);
    writeWav(dir.file("in.wav"), {test::noise(frames, 0.4f, 21), test::noise(frames, 0.4f, 22)});
    // A mastering-like chain with 37 frames of latency (as a lookahead limiter would have).
    const std::string graph =
        dir.write("master.yaml",
                  "stagegraph: 1\nname: master\ninputs:\n  mix: {channels: 2}\noutputs:\n  master: {channels: 2}\nnodes:\n"
                  "  hpf: {type: highpass, freq: 30 Hz, slope: 24}\n  body: {type: lowshelf, freq: 110 Hz, gain: 0.8 dB}\n"
                  "  tone: {type: peak, freq: 3 kHz, q: 1, gain: -1.5 dB}\n  look: {type: latency, samples: 37}\n"
                  "  trim: {type: gain, gain: -1 dB}\nconnections:\n  - mix -> hpf -> body -> tone -> look -> trim -> master\n");

    const LiveRun run =
        runLiveWithoutXruns({graph, "-i", dir.file("in.wav"), "--tee", dir.file("tee.wav"), "--format", "wav32f"});
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    const auto rendered = test::runCli("render " + quotedPath(graph) + " -i " + quotedPath(dir.file("in.wav")) + " -o " +
                                       quotedPath(dir.file("render.wav")) + " --format wav32f --block 1000");
    INFO(rendered.err);
    REQUIRE(rendered.status == 0);

    const Channels tee = readWav(dir.file("tee.wav")), render = readWav(dir.file("render.wav"));
    const int latency = run.summary.sessionLatencyFrames;
    CHECK(latency == 37);
    REQUIRE(framesOf(render) == frames);
    // The live session plays the file plus its latency: tee[L + n] == render[n], tee[0..L) is the
    // graph's answer to the silence before the file (zeros for this graph).
    REQUIRE(framesOf(tee) == frames + latency);
    REQUIRE(tee.size() == 2);
    for (std::size_t c = 0; c < 2; ++c) {
        CHECK(std::memcmp(tee[c].data() + latency, render[c].data(), sizeof(float) * std::size_t(frames)) == 0);
        CHECK(std::all_of(tee[c].begin(), tee[c].begin() + latency, [](float v) { return v == 0.0f; }));
    }
    CHECK(xrunsNotTheSessions(run.summary));
    CHECK(run.summary.underrunFrames == 0);
    CHECK(run.summary.frames == frames + latency);
    CHECK(run.summary.teeFrames == frames + latency);
    CHECK(run.summary.blockFrames == 256);
    // The summary (no terminal): callbacks, frames, xruns, process times.
    CHECK(run.out.find("callbacks") != std::string::npos);
    CHECK(run.out.find("p99") != std::string::npos);
    CHECK(run.out.find("worst") != std::string::npos);
    // Percentiles in order, each line of the summary there, and the anatomy of the worst callback
    // consistent with its wall time.
    const live::LiveSummary& s = run.summary;
    CHECK(std::regex_search(run.out, std::regex(R"(p50 [0-9.]+ us \([0-9.]+%\), p99 [0-9.]+ us \([0-9.]+%\), )"
                                                R"(p99\.9 [0-9.]+ us \([0-9.]+%\), worst [0-9.]+ us)")));
    CHECK(std::regex_search(run.out, std::regex(R"(worst callback at [0-9.]+ s: [0-9.]+ us on the CPU of [0-9.]+ us, )"
                                                R"([0-9]+ page faults?, [0-9]+ involuntary switch(es)?, [0-9]+ waits?)")));
    CHECK(std::regex_search(run.out,
                            std::regex(R"(heaviest callback at [0-9.]+ s: [0-9.]+ us on the CPU \([0-9.]+% of the deadline\))")));
    CHECK(std::regex_search(run.out,
                            std::regex(R"(callback thread: [0-9]+ page faults?, [0-9]+ involuntary )"
                                       R"(switch(es)? and [0-9]+ waits? in all callbacks \(memory (not )?locked\); longest gap )"
                                       R"(between callback starts [0-9.]+ us \([0-9.]+ periods\) at [0-9.]+ s, )"
                                       R"([0-9]+ late starts? over 1\.5 periods)")));
    CHECK(s.p50ProcessUs > 0);
    CHECK(s.p50ProcessUs <= s.p99ProcessUs);
    CHECK(s.p99ProcessUs <= s.p999ProcessUs);
    CHECK(s.p999ProcessUs <= s.worstProcessUs);
    CHECK(s.worstCpuUs >= 0);
    // The CPU interval lies inside the wall one (counters read after the start, before the end);
    // the two clocks differ in their steps and sources, hence the few microseconds.
    CHECK(s.worstCpuUs <= s.worstProcessUs + 5);
    CHECK(s.worstAtSeconds <= double(s.frames) / kRate);
    // The heaviest callback took at least the CPU time of the longest, and some.
    CHECK(s.heaviestCpuUs >= s.worstCpuUs);
    CHECK(s.heaviestCpuUs > 0);
    CHECK(s.heaviestAtSeconds <= double(s.frames) / kRate);
    CHECK(s.worstPageFaults <= s.callbackPageFaults);
    CHECK(s.worstSwitches <= s.callbackSwitches);
    CHECK(s.worstWaits <= s.callbackWaits);
    // The callbacks follow each other about a period apart (2 s at 256 frames = 375 of them):
    // the longest gap is at least one period.
    CHECK(s.longestGapUs >= 0.5 * s.deadlineUs);
    CHECK(s.lateStarts < s.callbacks);
    // Where this process may lock its memory (CAP_IPC_LOCK or a large enough limit), the session
    // did, and then no callback took a page fault. (Not under a sanitizer: the session does not
    // lock its terabytes of shadow memory, and neither may this probe.)
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
    if (::mlockall(MCL_CURRENT) == 0) {
        ::munlockall();
        CHECK(s.memoryLocked);
    }
#endif
    if (s.memoryLocked) CHECK(s.callbackPageFaults == 0);
    // The callback never blocks. Where memory is not locked (under a sanitizer), a page fault may
    // itself wait in the kernel (for the address space's lock, which another thread's mmap holds,
    // or for a page the host has taken back): seen under ASan, 2 waits with 5 faults. A wait
    // without a fault would still be the callback's own.
    if (s.memoryLocked)
        CHECK(s.callbackWaits == 0);
    else
        CHECK(s.callbackWaits <= s.callbackPageFaults);
}

JACK_TEST_CASE("jack: 20 switches in 5 seconds: no NaN, no step beyond the crossfade bound, no gap, no xrun", "[live]") {
    test::TempDir dir;
    // Four graphs: three gains and one with 100 frames of latency (so the session aligns them).
    const double gainsDb[] = {0, -6, -12, -3};
    std::vector<std::string> args;
    for (int g = 0; g < 4; ++g) {
        const std::string name = std::to_string(g + 1) + ".yaml"; // (gcc 12 warns wrongly on "g" + to_string + ".yaml")
        args.push_back(dir.write(name, gainGraph(gainsDb[g], g == 3 ? 100 : 0)));
    }
    const double frequency = 220, amplitude = 0.5, fadeMs = 50;
    const std::int64_t frames = std::int64_t(6.0 * kRate);
    const auto sine = test::sine(frequency, amplitude, kRate, frames);
    writeWav(dir.file("sine.wav"), {sine, sine});
    for (const std::string& extra :
         std::vector<std::string>{"-i", dir.file("sine.wav"), "--tee", dir.file("tee.wav"), "--crossfade", "50"})
        args.push_back(extra);

    // 20 switches, 230 ms apart (each takes about 95 ms: warm-up 2148 frames + 50 ms fade). The
    // next line goes 230 ms after the session acknowledged the last, so a control thread held up
    // by a loaded machine cannot take two at once (the second would replace the first while it
    // warms up, and the test would count 19).
    const int order[20] = {2, 3, 1, 4, 2, 1, 3, 4, 1, 2, 4, 3, 2, 4, 1, 3, 1, 4, 2, 1};
    const LiveRun run = runLiveWithoutXruns(args, [&](int fd, const MessageCounter& count) {
        waitForMessage(count, "playing on");
        sleepSeconds(0.4);
        for (int k = 0; k < 20; ++k) {
            say(fd, "switch " + std::to_string(order[k]));
            waitForMessage(count, "switch to ", k + 1);
            sleepSeconds(0.23);
        }
    });
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    CHECK(xrunsNotTheSessions(run.summary));
    CHECK(run.summary.underrunFrames == 0);
    CHECK(run.summary.nonFiniteSamples == 0);
    CHECK(run.summary.switches == 20);
    std::vector<int> expected{1};
    expected.insert(expected.end(), std::begin(order), std::end(order));
    CHECK(run.summary.graphsPlayed == expected);

    const Channels tee = readWav(dir.file("tee.wav"));
    const auto& y = tee[0];
    REQUIRE(framesOf(tee) == frames + 100);
    for (float v : y) REQUIRE(std::isfinite(v));

    // Step bound. The output is y[n] = c[n] s[n - L] with c = w_out g_out + w_in g_in (every graph
    // is aligned to the session latency L, so both carry the same sine), w_in = sin(pi/2 i/F),
    // w_out = cos(pi/2 i/F). Then
    //   |y[n+1] - y[n]| <= |c[n+1]| |s[n+1] - s[n]| + |c[n+1] - c[n]| |s[n]|
    //                   <= sqrt(g_out^2 + g_in^2) 2A sin(pi f/fs) + (g_out + g_in) A pi/(2F)
    //                   <= sqrt(2) 2A sin(pi f/fs) + 2A pi/(2F)            (gains <= 1)
    // = 0.0204 + 0.0007 here. A cut between gains 1 and 0.5 at a peak would step 0.25; a gap of one
    // period would step up to A = 0.5.
    const double fadeFrames = fadeMs / 1000 * kRate;
    const double bound =
        std::sqrt(2.0) * 2 * amplitude * std::sin(M_PI * frequency / kRate) + 2 * amplitude * M_PI / (2 * fadeFrames);
    double worstStep = 0;
    for (std::size_t n = 0; n + 1 < y.size(); ++n) worstStep = std::max(worstStep, double(std::abs(y[n + 1] - y[n])));
    INFO("largest step " << worstStep << ", bound " << bound);
    CHECK(worstStep <= bound * (1 + 1e-4));
    // The summary's figure is the same step, measured on what was sent (both channels, from 0).
    const double sentStep = largestStep(tee);
    CHECK(double(run.summary.largestStep) == sentStep);
    CHECK(run.summary.largestStepFrame >= 0);
    CHECK(run.out.find("non-finite samples: 0; largest step between samples: ") != std::string::npos);

    // No gap, no dip: since w_out + w_in >= 1, every period's peak is at least the smaller gain's
    // (sampled: A cos(pi f/fs) below the true peak at worst).
    const int period = int(kRate / frequency) + 1;
    const double smallest = std::pow(10.0, -12.0 / 20.0) * amplitude * std::cos(M_PI * frequency / kRate);
    double lowest = 1;
    for (std::int64_t n = 100; n + period <= frames + 100; n += period / 2) lowest = std::min(lowest, peak(y, n, n + period));
    INFO("lowest period peak " << lowest << ", floor " << smallest);
    CHECK(lowest >= smallest * (1 - 1e-4));

    // The plateaus between the fades follow the graphs switched to, in order. A plateau is a
    // level within 0.05 dB of a graph's gain for 8 periods in a row (36 ms; fades pass through
    // other graphs' levels far faster, and plateaus last about 130 ms).
    std::vector<int> plateaus;
    int candidate = 0, repeats = 0;
    for (std::int64_t n = 100; n + period <= frames + 100; n += period) {
        const double levelDb = 20 * std::log10(peak(y, n, n + period) / amplitude);
        int match = 0;
        for (int g = 0; g < 4; ++g)
            if (std::abs(levelDb - gainsDb[g]) < 0.05) match = g + 1;
        repeats = match != 0 && match == candidate ? repeats + 1 : 1;
        candidate = match;
        if (match != 0 && repeats == 8 && (plateaus.empty() || plateaus.back() != match)) plateaus.push_back(match);
    }
    CHECK(plateaus == expected);
}

JACK_TEST_CASE("jack: --cycle switches round the graphs by played time; a soak's summary", "[live]") {
    test::TempDir dir;
    std::vector<std::string> args{dir.write("a.yaml", gainGraph(0)), dir.write("b.yaml", gainGraph(-6)),
                                  dir.write("c.yaml", gainGraph(-3))};
    const std::int64_t frames = std::int64_t(2.3 * kRate);
    const auto sine = test::sine(330, 0.5, kRate, frames);
    writeWav(dir.file("sine.wav"), {sine, sine});
    for (const char* extra : {"--cycle", "500ms", "--crossfade", "20", "--tee"}) args.push_back(extra);
    args.push_back(dir.file("tee.wav"));
    args.push_back("-i");
    args.push_back(dir.file("sine.wav"));
    const LiveRun run = runLiveWithoutXruns(args);
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    // Due at 0.5, 1.0, 1.5 and 2.0 s of the 2.3 s played: 4 switches, round the list from graph 1.
    CHECK(run.summary.switches == 4);
    CHECK(run.summary.graphsPlayed == std::vector<int>{1, 2, 3, 1, 2});
    CHECK(run.summary.nonFiniteSamples == 0);
    const Channels tee = readWav(dir.file("tee.wav"));
    const double sentStep = largestStep(tee);
    CHECK(double(run.summary.largestStep) == sentStep);
    // The bound of the test above: sqrt(2) 2A sin(pi f/fs) + 2A pi/(2F) = 0.0305 + 0.0016 (an
    // equal-power fade between two gains <= 1 weighs the sine by up to sqrt(2)); a cut or a gap
    // would step up to A = 0.5.
    const double amplitude = 0.5, fadeFrames = 0.020 * kRate;
    const double bound = std::sqrt(2.0) * 2 * amplitude * std::sin(M_PI * 330 / kRate) + 2 * amplitude * M_PI / (2 * fadeFrames);
    CHECK(sentStep <= bound * (1 + 1e-4));
}

JACK_TEST_CASE("jack: missing device, impossible block size, bad graph: clear error, exit 1 or 2", "[live]") {
    test::TempDir dir;
    const std::string good = dir.write("good.yaml", gainGraph(0));
    const std::string bad =
        dir.write("bad.yaml", "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\n"
                              "nodes:\n  level: {type: gian, gain: -3 dB}\nconnections:\n  - mix -> level -> out\n");
    writeWav(dir.file("in.wav"), {test::noise(4800, 0.1f, 1), test::noise(4800, 0.1f, 2)});
    writeWav(dir.file("in44.wav"), {test::noise(4410, 0.1f, 1), test::noise(4410, 0.1f, 2)}, 44100);
    const std::string in = dir.file("in.wav");

    LiveRun run = runLive({good, "-i", in, "--api", "jack", "--device", "no-such-device"});
    INFO(run.err);
    CHECK((run.status == 1 || run.status == 2));
    CHECK(run.err.find("no output device 'no-such-device'") != std::string::npos);
    CHECK(run.err.find("'system'") != std::string::npos); // names what there is

    run = runLive({good, "-i", in, "--api", "jack", "--device", "7"});
    CHECK((run.status == 1 || run.status == 2));
    CHECK(run.err.find("no output device number 7") != std::string::npos);

    for (const char* block : {"0", "9000", "-5", "64k"}) {
        run = runLive({good, "-i", in, "--block", block});
        INFO(run.err);
        CHECK(run.status == 2);
        CHECK(run.err.find("--block: expected a frame count from 1 to 8192") != std::string::npos);
    }

    run = runLive({good, bad, "-i", in, "--api", "jack"});
    INFO(run.err);
    CHECK(run.status == 2);
    CHECK(run.err.find(bad + ":7:") != std::string::npos); // file:line:col of the node
    CHECK(run.err.find("gian") != std::string::npos);
    CHECK(run.summary.callbacks == 0); // nothing played

    run = runLive({good, "-i", dir.file("in44.wav"), "--api", "jack"}); // the server runs at 48 kHz
    INFO(run.err);
    CHECK(run.status == 1);
    CHECK(run.err.find("44100") != std::string::npos);
    CHECK(run.err.find("48000") != std::string::npos);

    run = runLive({good, "-i", dir.file("missing.wav")});
    CHECK(run.status == 1);
    CHECK(run.err.find("missing.wav") != std::string::npos);
}

JACK_TEST_CASE("jack: a graph that fails to compile while live leaves the playing one playing", "[live]") {
    test::TempDir dir;
    const std::string first = dir.write("first.yaml", gainGraph(0));
    const std::string second = dir.write("second.yaml", gainGraph(-6));
    const std::int64_t frames = std::int64_t(2.0 * kRate);
    const double amplitude = 0.5;
    const auto sine = test::sine(220, amplitude, kRate, frames);
    writeWav(dir.file("sine.wav"), {sine, sine});

    const LiveRun run = runLive(
        {first, second, "-i", dir.file("sine.wav"), "--tee", dir.file("tee.wav")}, [&](int fd, const MessageCounter& count) {
            waitForMessage(count, "playing on"); // the times below are from the start of the playback
            sleepSeconds(0.3);
            dir.write("second.yaml", "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                                     "  level: {type: gain, gain: -6 Hz}\nconnections:\n  - mix -> level -> out\n");
            say(fd, "switch 2"); // its file changed: compiled again, fails
            waitForMessage(count, "did not compile", 1);
            sleepSeconds(0.2);
            say(fd, "reload 2"); // fails again
            waitForMessage(count, "did not compile", 2);
            sleepSeconds(0.6);
            dir.write("second.yaml", gainGraph(-12));
            say(fd, "switch 2"); // compiles now (the new content: -12 dB)
        });
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    CHECK(run.summary.failedCompiles == 2);
    CHECK(run.err.find("did not compile") != std::string::npos);
    CHECK(run.err.find("graph 1 keeps playing") != std::string::npos);
    CHECK(run.err.find("second.yaml:") != std::string::npos); // the compiler's own message with its mark
    CHECK(run.summary.graphsPlayed == std::vector<int>{1, 2});
    if (run.summary.xruns) WARN(run.summary.xruns << " xruns (scheduling on a loaded machine; the switch tests assert none)");

    // Until the good switch the first graph plays on, without a gap: every period peaks at A.
    const Channels tee = readWav(dir.file("tee.wav"));
    const auto& y = tee[0];
    REQUIRE(framesOf(tee) == frames);
    const int period = int(kRate / 220) + 1;
    std::int64_t firstChange = -1;
    for (std::int64_t n = 0; n + period <= frames; n += period)
        if (std::abs(peak(y, n, n + period) - amplitude) > 1e-3 * amplitude) {
            firstChange = n;
            break;
        }
    INFO("first change at " << firstChange / kRate << " s");
    // The failed commands came 0.3 s and 0.5 s into the playback, the good one 1.1 s (later on a
    // loaded machine, never earlier): a switch on a failed compile would show at about 0.35 s.
    CHECK(firstChange > std::int64_t(0.7 * kRate));
    // ... and the end is the new content of the file: -12 dB.
    CHECK(std::abs(20 * std::log10(peak(y, frames - 4800, frames) / amplitude) - -12.0) < 0.05);
}

JACK_TEST_CASE("jack: set node.param VALUE changes a parameter at a sample position, smoothed", "[live]") {
    test::TempDir dir;
    const std::string graph = dir.write("g.yaml", gainGraph(0));
    const std::int64_t frames = std::int64_t(1.5 * kRate);
    const double amplitude = 0.5;
    writeWav(dir.file("dc.wav"),
             {std::vector<float>(std::size_t(frames), float(amplitude)), std::vector<float>(std::size_t(frames), 0.0f)});
    const LiveRun run =
        runLive({graph, "-i", dir.file("dc.wav"), "--tee", dir.file("tee.wav")}, [&](int fd, const MessageCounter& count) {
            waitForMessage(count, "playing on");
            sleepSeconds(0.3);
            say(fd, "set level.gain 3 Hz");   // wrong unit: an error, nothing changes
            say(fd, "set nothere.gain -3dB"); // no such node
            say(fd, "set level.gain -6dB");
        });
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    CHECK(run.err.find("expected a gain") != std::string::npos);
    CHECK(run.err.find("no node 'nothere'") != std::string::npos);

    // On DC the output is the gain itself: 1.0 before, 10^(-6/20) after, and in between a ramp
    // over the gain node's 20 ms smoothing (960 frames at 48 kHz), never a jump.
    const Channels tee = readWav(dir.file("tee.wav"));
    const auto& y = tee[0];
    const double after = amplitude * std::pow(10.0, -6.0 / 20.0);
    std::int64_t start = -1, end = -1;
    for (std::int64_t n = 0; n < frames; ++n) {
        if (start < 0 && y[std::size_t(n)] != float(amplitude)) start = n;
        if (start >= 0 && std::abs(y[std::size_t(n)] - after) < 1e-6) {
            end = n;
            break;
        }
    }
    REQUIRE(start > 0);
    REQUIRE(end > start);
    CHECK(end - start == Approx(960).margin(2));
    double worstStep = 0;
    for (std::int64_t n = 0; n + 1 < frames; ++n)
        worstStep = std::max(worstStep, double(std::abs(y[std::size_t(n + 1)] - y[std::size_t(n)])));
    CHECK(worstStep <= (amplitude - after) / 960 * 1.01); // the ramp's slope: the largest step there is
    CHECK(std::abs(y[std::size_t(frames - 1)] - after) < 1e-6);
}

JACK_TEST_CASE("jack: --loop plays the file again, --duration ends the session", "[live]") {
    test::TempDir dir;
    const std::string graph = dir.write("g.yaml", gainGraph(-6));
    const std::int64_t frames = 12000; // 0.25 s
    const auto noise = test::noise(frames, 0.5f, 9);
    writeWav(dir.file("in.wav"), {noise, noise});
    const LiveRun run = runLive({graph, "-i", dir.file("in.wav"), "--loop", "--duration", "0.9", "--tee", dir.file("tee.wav")});
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    const Channels tee = readWav(dir.file("tee.wav"));
    const auto& y = tee[0];
    REQUIRE(std::int64_t(y.size()) == std::int64_t(0.9 * kRate));
    const float gain = float(std::pow(10.0, -6.0 / 20.0));
    long mismatches = 0;
    for (std::size_t n = 0; n < y.size(); ++n) mismatches += y[n] != noise[n % std::size_t(frames)] * gain;
    CHECK(mismatches == 0);
}

JACK_TEST_CASE("jack: the stagegraph command plays, takes commands on standard input and prints its summary", "[live]") {
    test::TempDir dir;
    const std::string a = dir.write("a.yaml", gainGraph(0)), b = dir.write("b.yaml", gainGraph(-6));
    const std::int64_t frames = std::int64_t(1.5 * kRate);
    const auto noise = test::noise(frames, 0.3f, 5);
    writeWav(dir.file("in.wav"), {noise, noise});
    // Commands through a pipe into the real command's standard input.
    const std::string cli = quotedPath(test::cliPath()), input = quotedPath(dir.file("in.wav"));
    const auto piped = test::runShell("(sleep 0.6; echo 'switch 2') | " + cli + " live " + quotedPath(a) + " " + quotedPath(b) +
                                      " -i " + input + " --tee " + quotedPath(dir.file("tee.wav")));
    INFO(piped.out << piped.err);
    CHECK(piped.status == 0);
    CHECK(std::regex_search(piped.out,
                            std::regex("1 switch, [0-9]+ xruns?"))); // the summary, no terminal (xruns: see runLiveWithoutXruns)
    CHECK(piped.out.find("p99") != std::string::npos);
    CHECK(piped.err.find("switch to 2") != std::string::npos);
    CHECK(framesOf(readWav(dir.file("tee.wav"))) == frames);

    const auto bad = test::runShell(cli + " live " + quotedPath(a) + " -i " + input + " --block 0 </dev/null");
    CHECK(bad.status == 2);
    CHECK(bad.err.find("--block") != std::string::npos);
}

TEST_CASE("jack: a session whose device stops calling back ends with exit 1 and says so", "[live]") {
    // A server of its own (the fixture's keeps serving the other tests; this one is named after
    // it, so two builds testing at once do not share it), frozen (SIGSTOP) while the command
    // plays: no callback comes any more, as when a server goes away. A killed server would do
    // as well, but it stays in JACK's registry of servers (8 slots, kept in /dev/shm until the
    // next boot), so the server is thawed once the session has given up, and stopped cleanly.
    // (RtAudio's JACK back end, when its server goes away, closes the stream and prints a line,
    // nothing more: without a watch on the callbacks the session would wait for them forever.)
    if (std::system("command -v jackd >/dev/null 2>&1") != 0) {
        std::puts("SKIPPED: jackd is not installed");
        return;
    }
    test::TempDir dir;
    const std::string graph = dir.write("a.yaml", gainGraph(-3));
    const std::int64_t frames = std::int64_t(30 * kRate); // far longer than the test waits
    const auto noise = test::noise(frames, 0.3f, 9);
    writeWav(dir.file("in.wav"), {noise, noise});
    const std::string d = quotedPath(dir.path());
    const std::string script = "set -u\n. " + quotedPath(std::string(STAGEGRAPH_SOURCE_DIR) + "/tests/live/servers.sh") +
                               "\n"
                               "jackd_up \"${JACK_DEFAULT_SERVER:-stagegraph}-stall\" 256 " +
                               d + "/jackd.log || exit 90\n(timeout 60 " + quotedPath(test::cliPath()) + " live " +
                               quotedPath(graph) + " -i " + d + "/in.wav --api jack </dev/null >" + d + "/out.txt 2>" + d +
                               "/err.txt; echo $? >" + d +
                               "/status) &\n"
                               "session=$!\n"
                               // 20 s at most for each wait.
                               "until_said() { i=0; while ! grep -q \"$1\" " +
                               d +
                               "/err.txt 2>/dev/null && [ $i -lt 400 ]; do i=$((i+1)); sleep 0.05; done; }\n"
                               "until_said 'playing on'\n"
                               "kill -STOP \"$server_pid\"\n"
                               "until_said 'stopped calling back'\n"
                               "kill -CONT \"$server_pid\"\n"
                               "wait \"$session\"\n"
                               "stop_pid \"$server_pid\"\n";
    const auto started = std::chrono::steady_clock::now();
    const auto run = test::runShell("sh " + quotedPath(dir.write("stall.sh", script)));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const auto text = [](const std::string& path) {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    };
    const std::string err = text(dir.file("err.txt")), status = text(dir.file("status"));
    INFO(run.out << run.err << "\nsession stderr:\n" << err << "\nexit status: " << status);
    REQUIRE(run.status == 0); // the server came up and the script ran to its end
    CHECK(err.find("playing on Jack device") != std::string::npos);
    CHECK(status == "1\n"); // not 0, and not timeout's 124
    CHECK(err.find("stagegraph live: error: audio device: Jack stopped calling back") != std::string::npos);
    CHECK(seconds < 30); // the stall is seen within seconds (kStallSeconds), not at the file's end
}
