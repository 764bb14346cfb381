// `stagegraph live` on PulseAudio and on ALSA: a private PulseAudio server with a null sink
// (48 kHz), started and stopped by the ctest fixture tests/live/pulse-fixture.sh, reached through
// PULSE_SERVER; ALSA reaches the same server through the pulse PCM plugin (ALSA_CONFIG_PATH
// points at the fixture's asound.conf). The tests set both to this build's fixture folder
// (STAGEGRAPH_PULSE_DIR), so they never reach a user's server or ALSA configuration. Every test runs once per API. When
// pulseaudio is not installed each test prints "SKIPPED: pulseaudio is not installed" and runs nothing (ctest reports it as
// skipped); when it is installed but the server does not answer, the tests fail.
//
// Sessions run in-process through sg::cli::runLive, commands written into a pipe; the renders
// they are compared with come from the `stagegraph render` command.
#include "host/WavTesting.h"
#include "live/LiveTesting.h"
#include "nodes/lv2/Lv2.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <thread>
#include <unistd.h>

using namespace sg;

namespace {

using namespace sg::test; // LiveTesting.h, WavTesting.h

constexpr double kRate = kLiveRate; // the fixture's null sink

using Channels = std::vector<std::vector<float>>;

/// `stagegraph render GRAPH -i IN -o OUT --format wav32f`, read back.
Channels render(const test::TempDir& dir, const std::string& graph, const std::string& output) {
    const auto r = test::runCli("render " + quotedPath(graph) + " -i " + quotedPath(dir.file("in.wav")) + " -o " +
                                quotedPath(dir.file(output)) + " --format wav32f");
    INFO(r.err);
    REQUIRE(r.status == 0);
    return readWav(dir.file(output));
}

const char* const kApis[] = {"pulse", "alsa"};

} // namespace

PULSE_TEST_CASE("pulse, alsa: 2 s played with --tee are bit-identical to the offline render, delayed by the latency",
                "[live][pulse]") {
    for (const char* api : kApis) {
        CAPTURE(api);
        test::TempDir dir;
        const std::int64_t frames = std::int64_t(2 * kRate);
        writeWav(dir.file("in.wav"), {test::noise(frames, 0.4f, 31), test::noise(frames, 0.4f, 32)});
        const std::string graph = dir.write("g.yaml", gainGraph(-3, 64, 2, true));
        const LiveRun run =
            runLive({graph, "-i", dir.file("in.wav"), "--api", api, "--tee", dir.file("tee.wav"), "--format", "wav32f"});
        INFO(run.out << run.err);
        REQUIRE(run.status == 0);
        CHECK(run.summary.apiName == (std::strcmp(api, "pulse") == 0 ? "Pulse" : "ALSA"));
        const Channels tee = readWav(dir.file("tee.wav")), rendered = render(dir, graph, "render.wav");
        const int latency = run.summary.sessionLatencyFrames;
        CHECK(latency == 64);
        REQUIRE(rendered[0].size() == std::size_t(frames));
        REQUIRE(tee.size() == 2);
        REQUIRE(tee[0].size() == std::size_t(frames + latency));
        for (std::size_t c = 0; c < 2; ++c)
            CHECK(std::memcmp(tee[c].data() + latency, rendered[c].data(), sizeof(float) * std::size_t(frames)) == 0);
        CHECK(run.summary.frames == frames + latency);
        CHECK(run.summary.teeFrames == frames + latency);
        CHECK(run.summary.callbacks > 0);
    }
}

PULSE_TEST_CASE("pulse, alsa: switching between two graphs plays the first, then the second", "[live][pulse]") {
    for (const char* api : kApis) {
        CAPTURE(api);
        test::TempDir dir;
        const std::int64_t frames = std::int64_t(1.5 * kRate);
        writeWav(dir.file("in.wav"), {test::noise(frames, 0.4f, 41), test::noise(frames, 0.4f, 42)});
        // Graph b, restarted and warmed up on the music for longer than its delay line, then holds
        // exactly what its render holds there (no recursive state), so after the cut the tee
        // is b's render bit for bit.
        const std::string a = dir.write("a.yaml", gainGraph(0, 64)), b = dir.write("b.yaml", gainGraph(-6, 64));
        // A hard cut (--crossfade 0): before it the tee is graph a's render, after it graph b's.
        const LiveRun run = runLive({a, b, "-i", dir.file("in.wav"), "--api", api, "--crossfade", "0", "--tee",
                                     dir.file("tee.wav"), "--format", "wav32f"},
                                    [](int fd, const MessageCounter&) {
                                        sleepSeconds(0.7);
                                        say(fd, "switch 2");
                                    });
        INFO(run.out << run.err);
        REQUIRE(run.status == 0);
        CHECK(run.summary.switches == 1);
        const Channels tee = readWav(dir.file("tee.wav")), ra = render(dir, a, "a.wav"), rb = render(dir, b, "b.wav");
        const int latency = run.summary.sessionLatencyFrames;
        REQUIRE(tee[0].size() == std::size_t(frames + latency));
        // The cut: the first frame where the tee is no longer graph a.
        std::int64_t cut = 0;
        while (cut < frames && tee[0][std::size_t(cut + latency)] == ra[0][std::size_t(cut)] &&
               tee[1][std::size_t(cut + latency)] == ra[1][std::size_t(cut)])
            ++cut;
        INFO("cut at frame " << cut);
        CHECK(cut > 0);
        CHECK(cut < frames);
        for (std::size_t c = 0; c < 2; ++c)
            CHECK(std::memcmp(tee[c].data() + latency + cut, rb[c].data() + cut, sizeof(float) * std::size_t(frames - cut)) == 0);
    }
}

PULSE_TEST_CASE("pulse, alsa: no server: a clear error naming the API and the reason, exit 1", "[live][pulse]") {
    const std::string saved = std::getenv("PULSE_SERVER");
    test::TempDir dir;
    writeWav(dir.file("in.wav"), {test::noise(4800, 0.4f, 1), test::noise(4800, 0.4f, 2)});
    const std::string graph = dir.write("g.yaml", gainGraph(0, 64, 2, true));
    ::setenv("PULSE_SERVER", ("unix:" + dir.file("no-server")).c_str(), 1);
    const LiveRun pulse = runLive({graph, "-i", dir.file("in.wav"), "--api", "pulse"});
    const LiveRun alsa = runLive({graph, "-i", dir.file("in.wav"), "--api", "alsa"});
    ::setenv("PULSE_SERVER", saved.c_str(), 1);
    INFO(pulse.err << alsa.err);
    CHECK(pulse.status == 1);
    // "no Pulse device (is the PulseAudio server running? no server answers at PULSE_SERVER=...)",
    // or, when RtAudio has listed the server's devices earlier in this process, "cannot open
    // Pulse device 'Null Output': error connecting output to PulseAudio server".
    CHECK(pulse.err.find("Pulse device") != std::string::npos);
    CHECK(pulse.err.find("PulseAudio server") != std::string::npos);
    CHECK(alsa.status == 1);
    CHECK(alsa.err.find("no ALSA device (no sound card, and ALSA's default device does not open") != std::string::npos);
}

PULSE_TEST_CASE("pulse: live set reaches an LV2 plugin's control port", "[live][pulse][lv2]") {
    const std::string nodelay = "http://gareus.org/oss/lv2/nodelay";
    const auto installed = installedLv2Plugins(nodelay);
    if (std::none_of(installed.begin(), installed.end(), [&](const Lv2PluginSummary& p) { return p.uri == nodelay; })) {
        WARN("SKIPPED: LV2 plugin " << nodelay << " is not installed (apt-get install x42-plugins)");
        return;
    }
    test::TempDir dir;
    // Clicks every 0.1 s through x42's nodelay in mode 0 (delays without reporting latency).
    const std::int64_t frames = std::int64_t(1.5 * kRate), every = 4800;
    std::vector<float> clicks(std::size_t(frames), 0.0f);
    for (std::int64_t n = 0; n < frames; n += every) clicks[std::size_t(n)] = 0.5f;
    writeWav(dir.file("in.wav"), {clicks});
    const std::string graph =
        dir.write("d.yaml", "stagegraph: 1\ninputs:\n  mix: {channels: 1}\noutputs:\n  out: {channels: 1}\nnodes:\n"
                            "  d: {type: lv2, plugin: \"" +
                                nodelay + "\", params: {delay: 0, report_latency: 0}}\nconnections:\n  - mix -> d -> out\n");
    const LiveRun run =
        runLive({graph, "-i", dir.file("in.wav"), "--api", "pulse", "--tee", dir.file("tee.wav"), "--format", "wav32f"},
                [](int fd, const MessageCounter&) {
                    sleepSeconds(0.5);
                    say(fd, "set d.delay 480");
                });
    INFO(run.out << run.err);
    REQUIRE(run.status == 0);
    CHECK(run.err.find("error") == std::string::npos);
    const Channels tee = readWav(dir.file("tee.wav"));
    REQUIRE(tee[0].size() == std::size_t(frames));
    // The first click plays undelayed, the last one 480 frames (10 ms) late.
    CHECK(tee[0][0] == 0.5f);
    const std::int64_t last = (frames - 1) / every * every;
    CHECK(tee[0][std::size_t(last)] == 0.0f);
    CHECK(tee[0][std::size_t(last + 480)] == 0.5f);
}
