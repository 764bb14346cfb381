// Real-time safety of the node authoring kit: every built-in node's kernel (all on
// DeclaredKernel) allocates nothing while processing, taking parameter changes of every
// parameter at odd frames (queued ahead and due at once), or resetting.
#include "core/Buffer.h"
#include "core/Node.h"
#include "core/Registry.h"
#include "support/RtAllocations.h"
#include "support/RtBlocks.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

using namespace sg;

namespace {

/// Channel counts per input port that `type` accepts: every port connected (optional ones too,
/// so sidechains run), each with `channels` where it takes them, else the other count.
bool acceptedInputs(const NodeType& type, const ParamValues& p, int channels, std::vector<int>& inputs,
                    std::vector<int>& outputs) {
    const std::size_t ports = type.info().inputs.size();
    for (int other : {channels, channels == 2 ? 1 : 2}) {
        for (int mask = 0; mask < (1 << ports) && mask < 256; ++mask) { // which ports take `other`
            inputs.assign(ports, channels);
            for (std::size_t i = 0; i < ports; ++i)
                if (mask & (1 << i)) inputs[i] = other;
            outputs.clear();
            if (type.resolveChannels(p, inputs, outputs).empty()) return true;
        }
    }
    return false;
}

} // namespace

TEST_CASE("rt: every kit kernel allocates nothing while processing, changing parameters or resetting", "[rt][kit]") {
    REQUIRE(sg::test::rtCountingAvailable());
    constexpr int kFrames = 4096;
    for (const NodeType* type : Registry::builtin().all()) {
        INFO(type->info().name);
        auto kernel = type->createKernel();
        const ParamValues p = type->defaults();
        // Two instances (stereo and mono where the type takes both), every port connected.
        std::vector<InstanceSetup> setup;
        for (int channels : {2, 1}) {
            std::vector<int> ins, outs;
            if (acceptedInputs(*type, p, channels, ins, outs)) setup.push_back({p, ins, outs, type->info().name});
        }
        REQUIRE_FALSE(setup.empty());
        REQUIRE(kernel->prepare({48000, kFrames, detectSimdArch()}, setup) == "");
        // Lanes of port k are the instances' channels of port k, in instance order.
        const std::size_t inPorts = setup[0].inputChannels.size(), outPorts = setup[0].outputChannels.size();
        std::vector<AudioBuffer> inputs(inPorts), outputs(outPorts);
        std::vector<std::vector<const float*>> inLanes(inPorts);
        std::vector<std::vector<float*>> outLanes(outPorts);
        for (std::size_t k = 0; k < inPorts; ++k) {
            int lanes = 0;
            for (const auto& s : setup) lanes += s.inputChannels[k];
            inputs[k].resize(lanes, kFrames);
            for (int c = 0; c < lanes; ++c) {
                for (int i = 0; i < kFrames; ++i) inputs[k].channel(c)[i] = float(2.0 * std::sin(i * 0.01 * (c + 1)));
                inLanes[k].push_back(inputs[k].channel(c));
            }
        }
        for (std::size_t k = 0; k < outPorts; ++k) {
            int lanes = 0;
            for (const auto& s : setup) lanes += s.outputChannels[k];
            outputs[k].resize(lanes, kFrames);
            for (int c = 0; c < lanes; ++c) outLanes[k].push_back(outputs[k].channel(c));
        }
        std::vector<const float* const*> in;
        std::vector<float* const*> out;
        for (auto& lanes : inLanes) in.push_back(lanes.data());
        for (auto& lanes : outLanes) out.push_back(lanes.data());
        const auto& params = type->info().params;
        const int instances = int(setup.size());
        const long count = sg::test::allocationsDuring([&] {
            sg::test::processBlocks(*kernel, in.data(), out.data(), {1, 7, 64, 512, kFrames}, 20,
                                    [&](int k, std::int64_t position, int) {
                                        if (k % 5 != 3) return;
                                        for (std::size_t i = 0; i < params.size(); ++i) {
                                            const double value = k % 2 ? params[i].maxValue : params[i].minValue;
                                            const int instance = int(i) % instances;
                                            kernel->setParam(instance, int(i), value, position + 3); // in this block
                                            kernel->setParam(instance, int(i), params[i].defaultValue, position + 5000); // ahead
                                        }
                                    });
        });
        CHECK(count == 0);
        CHECK(sg::test::allocationsDuring([&] { kernel->reset(); }) == 0);
    }
}
