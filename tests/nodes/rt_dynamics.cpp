// Real-time safety of the compressor family's kernel: process() and setParam() allocate nothing
// on every path of a segment (batched peak detectors, a shared level, linked levels, rms, a
// sidechain, the fused dB / curve and exp / apply passes, the recursion with and without auto
// release, switched mid-stream), at any block size. Allocations are counted by
// tests/support/RtAllocations.
#include "core/Buffer.h"
#include "core/Node.h"
#include "core/Registry.h"
#include "support/RtAllocations.h"
#include "support/RtBlocks.h"
#include "support/TestSupport.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

using namespace sg;

namespace {

/// `values` over the type's defaults.
ParamValues paramsOf(const NodeType& type, std::initializer_list<std::pair<const char*, double>> values) {
    ParamValues p = type.defaults();
    for (const auto& [id, value] : values) {
        const int index = type.paramIndex(id);
        REQUIRE(index >= 0);
        p[std::size_t(index)] = value;
    }
    return p;
}

} // namespace

TEST_CASE("rt: the dynamics kernel allocates nothing on any of its segment paths", "[rt][dynamics]") {
    REQUIRE(sg::test::rtCountingAvailable());
    for (const std::string name : {"compressor", "gate", "deesser", "dynamic_eq"}) {
        CAPTURE(name);
        const NodeType* type = Registry::builtin().find(name);
        REQUIRE(type != nullptr);
        const bool compressor = name == "compressor";
        // Three mono peak instances (one window: batched sliding maxima), a stereo one linked
        // 100 % (a shared level), a stereo one linked 50 % (linked levels), a stereo rms one, and
        // a stereo one keyed by a mono sidechain.
        const ParamValues peak = type->defaults();
        const ParamValues shared = paramsOf(*type, {{"link", 100}});
        const ParamValues linked = paramsOf(*type, {{"link", 50}});
        const ParamValues rms = paramsOf(*type, {{"detector", 1}, {"link", 0}});
        const std::vector<InstanceSetup> setup{{peak, {1}, {1}, name},   {peak, {1}, {1}, name},   {peak, {1}, {1}, name},
                                               {shared, {2}, {2}, name}, {linked, {2}, {2}, name}, {rms, {2}, {2}, name},
                                               {peak, {2, 1}, {2}, name}};
        auto kernel = type->createKernel();
        REQUIRE(kernel->prepare({44100, 4096, detectSimdArch()}, setup) == "");
        constexpr int lanes = 11;
        AudioBuffer buffer(lanes, 4096), key(1, 4096);
        std::vector<float*> pointers;
        for (int c = 0; c < lanes; ++c) {
            pointers.push_back(buffer.channel(c));
            for (int i = 0; i < 4096; ++i) // +20 dB near-Nyquist tones and silence
                buffer.channel(c)[i] = (i / 700) % 3 == 2 ? 0.0f : float(10.0 * std::sin(i * (3.1 - 0.01 * c)));
        }
        for (int i = 0; i < 4096; ++i) key.channel(0)[i] = float(2.0 * std::sin(i * 0.05));
        std::vector<const float*> inPointers(pointers.begin(), pointers.end());
        const float* keyPointer = key.channel(0);
        // The sidechain port: the keyed instance's one channel; the others' ports are unconnected.
        const float* const* in[] = {inPointers.data(), &keyPointer};
        float* const* out[] = {pointers.data()};
        const int autoRelease = type->paramIndex("auto_release"), makeup = type->paramIndex("makeup");
        const int threshold = type->paramIndex("threshold"), link = type->paramIndex("link");
        REQUIRE(link >= 0);
        if (compressor) REQUIRE((autoRelease >= 0 && makeup >= 0));
        const long count = sg::test::allocationsDuring([&] {
            // Blocks of 64 start at frame counts that are multiples of 8 (the mono instances' apply
            // takes their statistics in its pass), after the blocks of 5 those of 512 and 4096 do not.
            sg::test::processBlocks(*kernel, in, out, {1, 3, 64, 5, 512, 4096}, 12, [&](int k, std::int64_t position, int) {
                if (k == 2 && compressor) { // auto release on (and off again) mid-stream, a makeup ramp
                    kernel->setParam(0, autoRelease, 1.0, position + 1);
                    kernel->setParam(3, autoRelease, 1.0, position);
                    kernel->setParam(1, makeup, 6.0, position + 2);
                }
                if (k == 7 && compressor) kernel->setParam(0, autoRelease, 0.0, position + 3);
                if (k == 4) {
                    kernel->setParam(4, link, 100.0, position + 1); // into a shared level and out of it
                    kernel->setParam(3, link, 0.0, position);
                    if (threshold >= 0) kernel->setParam(2, threshold, -40.0, position + 1);
                }
            });
        });
        CHECK(count == 0);
        std::vector<Measurement> figures;
        kernel->measurements(0, figures);
        REQUIRE(figures.size() == 2);
        CHECK(sg::test::allocationsDuring([&] { kernel->reset(); }) == 0);
    }
}
