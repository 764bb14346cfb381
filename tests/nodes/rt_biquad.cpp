// Real-time safety of the biquad bank's wavefront layout (2 lanes x 2..8 sections, which the
// every-kernel test of tests/core/rt_declared_kernel.cpp, with 3 lanes, does not reach): a fused
// stereo EQ chain and a stereo 48 dB/oct high-pass allocate nothing while processing at any block
// size, with parameters ramping, on every SIMD architecture, nor when reset.
// Allocations are counted by tests/support/RtAllocations.
#include "core/Buffer.h"
#include "core/Node.h"
#include "core/Registry.h"
#include "support/RtAllocations.h"
#include "support/RtBlocks.h"
#include "tests/nodes/KernelHarness.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace sg;
using namespace sg::nodetest;

TEST_CASE("rt: the biquad wavefront allocates nothing while processing, ramping or resetting", "[rt][biquad]") {
    REQUIRE(sg::test::rtCountingAvailable());
    static int* volatile sink = nullptr; // the counter must see an allocation, or 0 proves nothing
    CHECK(sg::test::allocationsDuring([] {
              sink = new int(1);
              delete sink;
          }) >= 1);
    // The W1 EQ (4 stages of 1 section, rounded between stages) plus a 48 dB/oct high-pass in
    // front (8 sections), and a lone 48 dB/oct high-pass (4 sections, no rounding inside).
    struct Stage {
        const char* type;
        ParamValues params;
    };
    const std::vector<std::vector<Stage>> chains{
        {{"highpass", paramsOf("highpass", {{"freq", 25}, {"slope", 48}})},
         {"highpass", paramsOf("highpass", {{"freq", 30}})},
         {"lowshelf", paramsOf("lowshelf", {{"freq", 100}, {"gain", 1}})},
         {"peak", paramsOf("peak", {{"freq", 3000}, {"q", 1}, {"gain", -1.5}})},
         {"highshelf", paramsOf("highshelf", {{"freq", 10000}, {"gain", 1.5}})}},
        {{"highpass", paramsOf("highpass", {{"freq", 40}, {"slope", 48}})}},
    };
    constexpr int kFrames = 8192;
    for (const auto& chain : chains)
        for (int a = 0; a <= int(detectSimdArch()); ++a) {
            INFO(chain.size() << " stages, " << simdArchName(SimdArch(a)));
            InstanceSetup setup = instanceOf(chain[0].type, chain[0].params, 2);
            if (chain.size() > 1) {
                setup.params.clear();
                for (const Stage& s : chain) {
                    setup.stages.push_back({s.type, s.params});
                    setup.params.insert(setup.params.end(), s.params.begin(), s.params.end());
                }
            }
            auto kernel = Registry::builtin().find(chain[0].type)->createKernel();
            const std::vector<InstanceSetup> setups{setup};
            REQUIRE(kernel->prepare({44100, kFrames, SimdArch(a)}, setups) == "");
            AudioBuffer buffer(2, kFrames);
            for (int c = 0; c < 2; ++c)
                for (int i = 0; i < kFrames; ++i) buffer.channel(c)[i] = float(10.0 * std::sin(i * (3.1 - 0.5 * c))); // +20 dB
            std::vector<float*> lanes{buffer.channel(0), buffer.channel(1)};
            const float* const* in[] = {lanes.data()};
            float* const* out[] = {lanes.data()};
            const long count = sg::test::allocationsDuring([&] {
                sg::test::processBlocks(*kernel, in, out, {1, 3, 63, 512, 4097, kFrames}, 12,
                                        [&](int k, std::int64_t position, int) {
                                            if (k != 3) return;
                                            kernel->setParam(0, 0, 200.0, position + 2); // first stage's frequency ramps
                                            kernel->setParam(0, 0, 35.0, position + 3000);
                                        });
            });
            CHECK(count == 0);
            CHECK(std::isfinite(buffer.channel(0)[kFrames - 1]));
            CHECK(sg::test::allocationsDuring([&] { kernel->reset(); }) == 0);
        }
}
