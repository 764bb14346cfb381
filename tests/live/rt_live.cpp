// Real-time safety of the live engine: the audio callback allocates nothing while graphs are
// switched (some switches mid-fade), parameters set, the level and loudness matching changed,
// the source read from its ring and the output teed. Part of stagegraph_rt_tests, whose
// allocator counts every allocation (tests/support/RtAllocations.h: malloc itself with glibc,
// operator new under AddressSanitizer). No audio device: the callback is called directly.
#include "host/live/AudioRing.h"
#include "host/live/LiveEngine.h"
#include "host/live/LiveGraph.h"
#include "live/LiveTesting.h"
#include "support/RtAllocations.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace sg;
using namespace sg::live;

namespace {

std::unique_ptr<LiveGraph> makeGraph(const test::TempDir& dir, const std::string& name, const std::string& yaml) {
    LiveFormat format;
    format.maxBlockFrames = 256;
    return test::makeLiveGraph(dir, name, yaml, format);
}

} // namespace

TEST_CASE("rt: the live callback allocates nothing while switching, setting parameters, matching and teeing", "[rt][live]") {
    REQUIRE(test::rtCountingAvailable());
    // The counter must see an allocation, or this proves nothing.
    static int* volatile sink = nullptr; // volatile: the compiler may not elide the new
    CHECK(test::allocationsDuring([] {
              sink = new int(1);
              delete sink;
          }) >= 1);

    test::TempDir dir;
    auto a = makeGraph(dir, "a.yaml",
                       "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                       "  hpf: {type: highpass, freq: 40 Hz}\n  tone: {type: peak, freq: 3 kHz, gain: -2 dB}\n"
                       "  look: {type: latency, samples: 64}\n  trim: {type: gain, gain: -1 dB}\n"
                       "connections:\n  - mix -> hpf -> tone -> look -> trim -> out\n");
    auto b = makeGraph(dir, "b.yaml",
                       "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
                       "  level: {type: gain, gain: -6 dB}\nconnections:\n  - mix -> level -> out\n");
    const int session = std::max(a->latencyFrames(), b->latencyFrames());
    a->alignTo(session);
    b->alignTo(session);
    int handle = -1;
    double value = 0;
    REQUIRE(a->resolveParam("tone.gain", "+4 dB", handle, value) == "");

    // 8 s of noise in the input ring (as the file reader would have put it), a tee ring emptied
    // between callbacks (as the tee writer would).
    const int frames = 48000 * 8;
    AudioRing input(2, frames), tee(2, 1 << 16);
    {
        AudioBuffer source(2, frames);
        for (int c = 0; c < 2; ++c) {
            const auto noise = test::noise(frames, 0.3f, std::uint32_t(c + 1));
            std::copy(noise.begin(), noise.end(), source.channel(c));
        }
        REQUIRE(input.write(source.view()) == frames);
    }
    EngineConfig config;
    config.maxBlockFrames = 256;
    config.crossfadeFrames = 2400;
    config.warmupFrames = session + kWarmupMarginFrames;
    config.sessionLatencyFrames = session;
    config.inputRing = &input;
    config.sourceFrames = frames;
    config.teeRing = &tee;
    config.matchLoudness = true;
    LiveEngine engine(config);
    engine.setInitialGraph(a.get(), 1);
    AudioBuffer out(2, 8192), drain(2, 4096);
    float* outputs[2] = {out.channel(0), out.channel(1)};

    const long allocations = test::allocationsDuring([&] {
        int block = 1;
        for (int k = 0; !engine.finished(); ++k) {
            EngineCommand command;
            if (k % 97 == 10) { // switches both ways, some mid-fade (a fade takes about 17 callbacks)
                command.kind = EngineCommand::Kind::Switch;
                command.graph = (k / 97) % 2 ? a.get() : b.get();
                command.graphIndex = (k / 97) % 2 ? 1 : 2;
                engine.post(command);
            }
            if (k % 53 == 7) {
                command = EngineCommand{};
                command.kind = EngineCommand::Kind::SetParam;
                command.graph = a.get();
                command.handle = handle;
                command.value = double(k % 9) - 4;
                engine.post(command);
            }
            if (k % 71 == 3) {
                command = EngineCommand{};
                command.kind = k % 2 ? EngineCommand::Kind::Level : EngineCommand::Kind::Match;
                command.value = k % 2 ? -double(k % 5) : double(k % 3 != 0);
                engine.post(command);
            }
            block = block % 700 + 37; // callbacks of varied sizes, longer than the 256-frame chunk too
            engine.processAudio(nullptr, outputs, block, k % 50 == 0);
            while (tee.readableFrames() > 0) tee.read(drain.view());
        }
    });
    INFO("counting " << (test::rtCountingMalloc() ? "malloc and operator new" : "operator new"));
    CHECK(allocations == 0);
    // The run did what it claims.
    CHECK(engine.switchesCompleted() > 5);
    CHECK(engine.xruns() > 0);
    CHECK(engine.framesOut() == frames + session);
    CHECK(engine.teeOverflowFrames() == 0);
    CHECK(engine.nonFiniteSamples() == 0);
}
