// Real-time safety of the node authoring kit: every built-in node's kernel (all on
// DeclaredKernel) allocates nothing while processing, taking parameter changes of every
// parameter at odd frames (queued ahead and due at once), or resetting.
#include "core/Buffer.h"
#include "core/Node.h"
#include "core/Registry.h"
#include "support/RtAllocations.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace sg;

TEST_CASE("rt: every kit kernel allocates nothing while processing, changing parameters or resetting", "[rt][kit]") {
    REQUIRE(sg::test::rtCountingAvailable());
    for (const NodeType* type : Registry::builtin().all()) {
        INFO(type->info().name);
        auto kernel = type->createKernel();
        const ParamValues p = type->defaults();
        std::vector<int> outA, outB;
        REQUIRE(type->resolveChannels(p, std::vector<int>{2}, outA) == "");
        REQUIRE(type->resolveChannels(p, std::vector<int>{1}, outB) == "");
        const std::vector<InstanceSetup> setup{{p, {2}, outA, type->info().name}, {p, {1}, outB, type->info().name}};
        REQUIRE(kernel->prepare({48000, 4096, detectSimdArch()}, setup) == "");
        AudioBuffer input(3, 4096), output(outA[0] + outB[0], 4096);
        for (int c = 0; c < 3; ++c)
            for (int i = 0; i < 4096; ++i) input.channel(c)[i] = float(2.0 * std::sin(i * 0.01 * (c + 1)));
        std::vector<const float*> inLanes{input.channel(0), input.channel(1), input.channel(2)};
        std::vector<float*> outLanes;
        for (int c = 0; c < output.channels(); ++c) outLanes.push_back(output.channel(c));
        const float* const* in[] = {inLanes.data()};
        float* const* out[] = {outLanes.data()};
        const auto& params = type->info().params;
        const long count = sg::test::allocationsDuring([&] {
            std::int64_t position = 0;
            for (int block : {1, 7, 64, 512, 4096})
                for (int k = 0; k < 20; ++k) {
                    if (k % 5 == 3)
                        for (std::size_t i = 0; i < params.size(); ++i) {
                            const double value = k % 2 ? params[i].maxValue : params[i].minValue;
                            kernel->setParam(int(i % 2), int(i), value, position + 3);                     // in this block
                            kernel->setParam(int(i % 2), int(i), params[i].defaultValue, position + 5000); // ahead
                        }
                    ProcessContext ctx;
                    ctx.position = position;
                    ctx.frames = block;
                    ctx.inputs = in;
                    ctx.outputs = out;
                    kernel->process(ctx);
                    position += block;
                }
        });
        CHECK(count == 0);
        CHECK(sg::test::allocationsDuring([&] { kernel->reset(); }) == 0);
    }
}
