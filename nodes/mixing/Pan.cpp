#include "nodes/mixing/Pan.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace sg {

namespace {

struct PanDecl {
    NodeDecl decl{"pan", "mixing"};
    SmoothedParam pan =
        decl.param("pan")
            .percent(-100, 100)
            .defaultValue(0)
            .describe("Position: -100 % hard left, 0 centre, +100 % hard right. Mono: sin/cos law, -3.01 dB per side at "
                      "centre. Stereo: balance, unity at centre, +3.01 dB on the kept side when hard-panned. Ramps over "
                      "20 ms.")
            .smoothingMs(20);

    PanDecl() {
        decl.describe("Places a mono or stereo signal in the stereo field with a constant-power law.")
            .input("in", "mono (panned) or stereo (balanced) signal")
            .output("out", "stereo signal")
            .channelRule("in has 1 or 2 channels; out has 2")
            .batchable() // mono and stereo instances share one call: lanes map per instance
            .reference("theta = (pan/100 + 1) pi/4. Mono: L = cos(theta), R = sin(theta) (L^2 + R^2 = 1). "
                       "Stereo balance: L' = sqrt(2) cos(theta) L, R' = sqrt(2) sin(theta) R (unity at centre, "
                       "gL^2 + gR^2 = 2). Constant-power pan law.");
    }
};

/// Left and right gains at pan position `panPercent` for a mono (1) or stereo (2) input.
/// cos(theta) is computed as sin(pi/2 - theta) so that hard left / right give exact zeros and
/// the law is exactly mirror-symmetric.
void panGains(double panPercent, int inputChannels, double& left, double& right) {
    const double p = std::clamp(panPercent / 100.0, -1.0, 1.0);
    const double scale = inputChannels == 2 ? std::numbers::sqrt2 : 1.0;
    left = scale * std::sin((1.0 - p) * (std::numbers::pi / 4));
    right = scale * std::sin((1.0 + p) * (std::numbers::pi / 4));
}

class PanKernel final : public DeclaredKernelOf<PanDecl> {
private:
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        if (std::string why = requireInputLanes(1, 2); !why.empty()) return why;
        leftCurve_.assign(std::size_t(maxBlockFrames()), 0.0f);
        rightCurve_.assign(std::size_t(maxBlockFrames()), 0.0f);
        return {};
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const std::int64_t position = ctx.position + start;
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& lanes = this->lanes(i);
            const LinearRamp& pan = ramp(i, p().pan);
            const float* inLeft = ctx.inputs[0][lanes.firstInput] + start;
            const float* inRight = ctx.inputs[0][lanes.firstInput + lanes.inputs - 1] + start;
            float* outLeft = ctx.outputs[0][lanes.firstOutput] + start;
            float* outRight = ctx.outputs[0][lanes.firstOutput + 1] + start;
            const int channels = lanes.inputs;
            elementwise().stereoGains(
                pan, position, frames, [channels](double v, double& l, double& r) { panGains(v, channels, l, r); }, inLeft,
                inRight, outLeft, outRight, leftCurve_.data(), rightCurve_.data());
        }
    }

    std::vector<float> leftCurve_, rightCurve_; ///< per-frame gains while ramping
};

class PanType final : public DeclaredTypeOf<PanDecl, PanKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        const int channels = inputChannels.empty() ? 0 : inputChannels[0];
        if (channels == 0) return "input 'in' is not connected";
        if (channels != 1 && channels != 2)
            return "in: expects 1 (mono, panned) or 2 (stereo, balanced) channels, got " + std::to_string(channels);
        outputChannels.assign(1, 2);
        return {};
    }
};

} // namespace

void registerPanNodes(Registry& registry) { registry.add(std::make_unique<PanType>()); }

} // namespace sg
