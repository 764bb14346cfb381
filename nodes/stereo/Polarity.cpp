#include "nodes/stereo/Polarity.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <string>
#include <vector>

namespace sg {

namespace {

struct PolarityDecl {
    NodeDecl decl{"polarity", "stereo"};
    SmoothedParam left = decl.param("left")
                             .plain(0, 1)
                             .choices({0, 1})
                             .defaultValue(0)
                             .describe("1 inverts channel 1 (left, or the only channel of a mono input). A change "
                                       "ramps the factor 1 - 2 left through 0 over 20 ms.")
                             .smoothingMs(20);
    SmoothedParam right = decl.param("right")
                              .plain(0, 1)
                              .choices({0, 1})
                              .defaultValue(0)
                              .describe("1 inverts channel 2 (right); ignored on a mono input. Ramps like left.")
                              .smoothingMs(20);

    PolarityDecl() {
        decl.describe("Inverts the polarity of the left and/or right channel.")
            .input("in", "mono or stereo signal")
            .output("out", "the input with the chosen channels inverted")
            .channelRule("in has 1 or 2 channels; out has the channels of in")
            .batchable()
            .inPlace()
            .reference("y_c[n] = g_c[n] x_c[n], g_c = 1 - 2 v_c where v_c (left, right) is 0 or 1 and ramps "
                       "linearly over 20 ms when changed; settled, y = x or exactly -x.");
    }
};

class PolarityKernel final : public DeclaredKernelOf<PolarityDecl> {
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        if (std::string why = requireInputLanes(1, 2); !why.empty()) return why;
        curve_.assign(std::size_t(maxBlockFrames()), 0.0f);
        return {};
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const std::int64_t position = ctx.position + start;
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            for (int c = 0; c < l.inputs; ++c) {
                const LinearRamp& flip = ramp(i, c == 0 ? p().left : p().right);
                const float* in = ctx.inputs[0][l.firstInput + c] + start;
                float* out = ctx.outputs[0][l.firstOutput + c] + start;
                if (flip.settledAt(position)) {
                    elementwise().multiplyByConstant(in, out, frames, float(1 - 2 * flip.target()));
                } else {
                    for (int n = 0; n < frames; ++n) curve_[std::size_t(n)] = float(1 - 2 * flip.valueAt(position + n));
                    elementwise().multiplyByCurve(in, curve_.data(), out, frames);
                }
            }
        }
    }

    std::vector<float> curve_; ///< per-frame factors while a flip ramps
};

class PolarityType final : public DeclaredTypeOf<PolarityDecl, PolarityKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        return channelsInRange(inputChannels, 1, 2, 0, 1, outputChannels);
    }
};

} // namespace

void registerPolarityNodes(Registry& registry) { registry.add(std::make_unique<PolarityType>()); }

} // namespace sg
