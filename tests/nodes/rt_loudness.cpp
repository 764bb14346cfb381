// Real-time safety of the loudness meter: process(), its halves processLoudness() and
// processPeaks(), mergePeaks(), reset(), the readers and snapshot() allocate nothing,
// at any block size, for every channel count and both oversampling factors, offline (lanes along
// time: a batch run and readings that settle part of one) or not, and neither does a compiled
// graph with `loudness` taps.
//
// Allocations are counted by tests/support/RtAllocations.
#include "core/Compiler.h"
#include "core/Executor.h"
#include "nodes/meters/LoudnessMeter.h"
#include "support/RtAllocations.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <vector>

using namespace sg;

using sg::test::allocationsDuring;

TEST_CASE("rt: the loudness meter allocates nothing while measuring", "[rt][loudness]") {
    // The counter itself must work, or the test proves nothing.
    const long probe = allocationsDuring([] {
        void* volatile p = std::malloc(24);
        std::free(p);
        std::vector<double>* volatile v = new std::vector<double>(100);
        delete v;
    });
    REQUIRE(probe >= (sg::test::rtCountingMalloc() ? 3 : 2)); // malloc (when interposed), new of the vector, its storage

    const int frames = 48000 * 4;
    for (int channels : {1, 2, 6, 8}) {
        for (int oversampling : {4, 8}) {
            for (bool offline : {false, true}) {
                CAPTURE(channels, oversampling, offline);
                std::vector<std::vector<float>> signal;
                for (int c = 0; c < channels; ++c) signal.push_back(sg::test::noise(frames, 0.5f, std::uint32_t(c + 1)));
                std::vector<const float*> pointers(signal.size());
                LoudnessMeter meter;
                LoudnessOptions options;
                options.truePeakOversampling = oversampling;
                options.offline = offline;
                REQUIRE(meter.prepare(48000, channels, options) == "");
                LoudnessMeter peaks;
                REQUIRE(peaks.prepare(48000, channels, options) == "");
                double integrated = 0;
                LoudnessSnapshot snapshot;
                const long count = allocationsDuring([&] {
                    for (int block : {1, 7, 64, 480, 4096, 8192}) {
                        for (std::int64_t start = 0; start < frames / 6; start += block) {
                            for (int c = 0; c < channels; ++c) pointers[std::size_t(c)] = signal[std::size_t(c)].data() + start;
                            meter.process(pointers.data(), block);
                        }
                        snapshot = meter.snapshot();
                        integrated = meter.integratedLufs() + meter.loudnessRangeLu() + meter.truePeakDbtp() + meter.plrDb();
                    }
                    meter.reset();
                    meter.process(pointers.data(), 1000);
                    // The halves that analyze --figures loudness runs on two threads.
                    for (int block : {1, 480, 8192}) {
                        meter.processLoudness(pointers.data(), block);
                        peaks.processPeaks(pointers.data(), block);
                    }
                    meter.mergePeaks(peaks);
                    snapshot = meter.snapshot();
                });
                CHECK(count == 0);
                CHECK(std::isfinite(integrated));
                CHECK(snapshot.frames > 0);
            }
        }
    }
}

TEST_CASE("rt: a graph with loudness taps allocates nothing while processing", "[rt][loudness]") {
    const std::string yaml = "stagegraph: 1\n"
                             "inputs:\n  mix: {channels: 2}\n"
                             "outputs:\n  master: {channels: 2}\n"
                             "nodes:\n"
                             "  before: {type: loudness}\n"
                             "  trim: {type: gain, gain: -3 dB}\n"
                             "  after: {type: loudness, oversampling: 8}\n"
                             "connections:\n  - mix -> before -> trim -> after -> master\n";
    Diagnostics diags;
    auto program = sg::test::compileYaml(yaml, diags);
    INFO(diags.formatAll());
    REQUIRE(program);
    Executor& ex = program->executor();
    const int total = 96000;
    AudioBuffer in(2, total), out(2, total);
    for (int c = 0; c < 2; ++c) {
        const auto x = sg::test::noise(total, 0.5f, std::uint32_t(c + 5));
        std::copy(x.begin(), x.end(), in.channel(c));
    }
    const long count = allocationsDuring([&] {
        std::int64_t position = 0;
        for (int block : {1, 13, 256, 1024}) {
            for (int i = 0; i < 20 && position + block <= total; ++i) {
                const ConstAudioView inView = in.view().frameRange(int(position), block);
                const AudioView outView = out.view().frameRange(int(position), block);
                ex.process(std::span<const ConstAudioView>(&inView, 1), std::span<const AudioView>(&outView, 1));
                position += block;
            }
        }
    });
    CHECK(count == 0);
    const auto measured = ex.measurements();
    REQUIRE(measured.size() == 2);
    CHECK(std::isfinite(measured[0].values[0].value)); // integrated_lufs: the taps did measure
    CHECK(allocationsDuring([&] { ex.reset(); }) == 0);
}
