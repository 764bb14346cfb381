#include "nodes/stereo/Balance.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/stereo/StereoRules.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

namespace sg {

namespace {

struct BalanceDecl {
    NodeDecl decl{"balance", "stereo"};
    SmoothedParam balance = decl.param("balance")
                                .percent(-100, 100)
                                .defaultValue(0)
                                .describe("Position: -100 % left only, 0 unchanged, +100 % right only. Ramps over 20 ms.")
                                .smoothingMs(20);
    SteppedParam law = decl.param("law")
                           .plain(0, 1)
                           .choices({0, 1})
                           .defaultValue(0)
                           .describe("0 linear: the far side falls linearly, the near side stays at unity (-6.02 dB at "
                                     "50 %). 1 constant power: gL^2 + gR^2 = 2, +3.01 dB on the near side when hard over.")
                           .stepped();

    BalanceDecl() {
        decl.describe("Balances a stereo signal between left and right with a linear or constant-power law.")
            .input("in", "stereo signal, L R")
            .output("out", "stereo signal, L R")
            .channelRule("in has 2 channels; out has 2")
            .batchable()
            .inPlace()
            .reference("p = balance/100. Linear: gL = min(1, 1 - p), gR = min(1, 1 + p). Constant power: gL = "
                       "sqrt(2) sin((1 - p) pi/4), gR = sqrt(2) sin((1 + p) pi/4), gL^2 + gR^2 = 2 (the stereo "
                       "law of `pan`). L' = gL L, R' = gR R. Gains are computed in double and applied in float.");
    }
};

class BalanceKernel final : public DeclaredKernelOf<BalanceDecl> {
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        for (int i = 0; i < instanceCount(); ++i)
            if (lanes(i).inputs != 2) return "in: expects 2 channels, got " + std::to_string(lanes(i).inputs);
        leftCurve_.assign(std::size_t(maxBlockFrames()), 0.0f);
        rightCurve_.assign(std::size_t(maxBlockFrames()), 0.0f);
        return {};
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const std::int64_t position = ctx.position + start;
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            const LinearRamp& balance = ramp(i, p().balance);
            const int law = value(i, p().law) >= 0.5 ? 1 : 0;
            const float* inLeft = ctx.inputs[0][l.firstInput] + start;
            const float* inRight = ctx.inputs[0][l.firstInput + 1] + start;
            float* outLeft = ctx.outputs[0][l.firstOutput] + start;
            float* outRight = ctx.outputs[0][l.firstOutput + 1] + start;
            elementwise().stereoGains(
                balance, position, frames, [law](double v, double& gainL, double& gainR) { balanceGains(v, law, gainL, gainR); },
                inLeft, inRight, outLeft, outRight, leftCurve_.data(), rightCurve_.data());
        }
    }

    std::vector<float> leftCurve_, rightCurve_; ///< per-frame gains while ramping
};

class BalanceType final : public DeclaredTypeOf<BalanceDecl, BalanceKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        return stereo::requireChannels(inputChannels, 2, 2, 1, outputChannels);
    }
};

} // namespace

void balanceGains(double balancePercent, int law, double& left, double& right) {
    const double p = std::clamp(balancePercent / 100.0, -1.0, 1.0);
    if (law == 0) {
        left = std::min(1.0, 1.0 - p);
        right = std::min(1.0, 1.0 + p);
    } else { // sin((1 -+ p) pi/4) rather than cos, so hard over gives an exact zero (as pan)
        left = std::numbers::sqrt2 * std::sin((1.0 - p) * (std::numbers::pi / 4));
        right = std::numbers::sqrt2 * std::sin((1.0 + p) * (std::numbers::pi / 4));
    }
}

void registerBalanceNodes(Registry& registry) { registry.add(std::make_unique<BalanceType>()); }

} // namespace sg
