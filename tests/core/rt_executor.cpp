// Real-time safety: processing a compiled graph performs no heap allocation
// (counted by tests/support/RtAllocations, which replaces the allocator).
#include "core/Compiler.h"
#include "core/Executor.h"
#include "support/RtAllocations.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>

using namespace sg;

TEST_CASE("rt: processing allocates nothing, at any block size, while parameters change", "[rt]") {
    // The counter itself must work, or the test proves nothing.
    int* probe = nullptr;
    REQUIRE(sg::test::allocationsDuring([&] { probe = new int(3); }) == 1);
    delete probe;

    std::string yaml = "stagegraph: 1\ninputs:\n";
    for (int i = 0; i < 6; ++i) yaml += "  t" + std::to_string(i) + ": {channels: 1}\n";
    yaml += "outputs:\n  out: {channels: 2}\nnodes:\n";
    for (int i = 0; i < 6; ++i) {
        std::string n = std::to_string(i);
        yaml += "  hp" + n + ": {type: highpass, freq: 80 Hz, slope: 24}\n  eq" + n +
                ": {type: peak, freq: 2 kHz, gain: 3 dB}\n"
                "  lv" +
                n + ": {type: gain, gain: -3 dB}\n  pn" + n + ": {type: pan, pan: 20 %}\n";
    }
    yaml += "  look: {type: latency, samples: 32}\n  echo: {type: delay, time: 5 ms}\n  master: {type: lowshelf, freq: 100 Hz, "
            "gain: 1 dB}\nconnections:\n";
    for (int i = 0; i < 6; ++i) {
        std::string n = std::to_string(i);
        yaml +=
            "  - t" + n + " -> hp" + n + " -> eq" + n + " -> lv" + n + " -> pn" + n + (i == 0 ? " -> look" : "") + " -> master\n";
    }
    yaml += "  - pn1 -> echo -> master\n  - master -> out\n";
    Diagnostics diags;
    auto program = sg::test::compileYaml(yaml, diags);
    INFO(diags.formatAll());
    REQUIRE(program);
    Executor& ex = program->executor();
    std::string error;
    int handle = ex.findParam("eq2", "gain", error);
    int freq = ex.findParam("hp3", "freq", error);
    REQUIRE(handle >= 0);
    REQUIRE(freq >= 0);

    std::vector<AudioBuffer> in;
    for (int i = 0; i < 6; ++i) {
        in.emplace_back(1, 8192);
        auto x = sg::test::noise(8192, 0.5f, std::uint32_t(i + 1));
        std::copy(x.begin(), x.end(), in.back().channel(0));
    }
    AudioBuffer out(2, 8192);
    std::vector<ConstAudioView> inViews;
    for (auto& b : in) inViews.push_back(b.view());
    std::vector<AudioView> outViews{out.view()};

    const long allocations = sg::test::allocationsDuring([&] {
        for (int block : {1, 17, 64, 512, 8192}) {
            for (int i = 0; i < 20; ++i) {
                ConstAudioView slices[6];
                for (int k = 0; k < 6; ++k) slices[k] = inViews[std::size_t(k)].frameRange(0, block);
                AudioView outSlice = out.view().frameRange(0, block);
                if (i == 5) {
                    ex.setParam(handle, -6.0 + block % 7, ex.position());
                    ex.setParam(freq, 120.0, ex.position() + 3);
                }
                ex.process(std::span<const ConstAudioView>(slices, 6), std::span<const AudioView>(&outSlice, 1));
            }
        }
        ex.reset();
    });
    CHECK(allocations == 0);
}
