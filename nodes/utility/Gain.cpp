#include "nodes/utility/Gain.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <vector>

namespace sg {

namespace {

/// The declaration: the type's NodeTypeInfo and the handles its kernel reads parameters by.
struct GainDecl {
    NodeDecl decl{"gain", "utility"};
    SmoothedParam gain =
        decl.param("gain")
            .decibels(-120, 40)
            .defaultValue(0)
            .describe("Level change; factor 10^(gain/20) on every channel. Changes ramp linearly in amplitude over 20 ms.")
            .smoothingMs(20);
    SmoothedParam invert =
        decl.param("invert")
            .plain(0, 1)
            .choices({0, 1})
            .defaultValue(0)
            .describe("Polarity: 1 multiplies by -1. A change ramps the factor through zero over 20 ms (no click).")
            .smoothingMs(20);

    GainDecl() {
        decl.describe("Level change in dB with optional polarity inversion, smoothed over 20 ms.")
            .input("in", "signal, any number of channels")
            .output("out", "signal times the gain factor")
            .channelRule("out has the channels of in")
            .batchable()
            .inPlace()
            .reference("y[n] = g[n] x[n], g = (invert ? -1 : 1) * 10^(gain/20); g ramps linearly in absolute frames "
                       "(block-size independent), then stays constant.");
    }
};

class GainKernel final : public DeclaredKernelOf<GainDecl> {
private:
    /// The signed linear factor of `instance`'s current parameter values.
    double factorOf(int instance) const {
        return (value(instance, p().invert) >= 0.5 ? -1.0 : 1.0) * dbToGain(value(instance, p().gain));
    }

    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        curve_.assign(std::size_t(maxBlockFrames()), 0.0f);
        factors_.resize(std::size_t(instanceCount()));
        for (int i = 0; i < instanceCount(); ++i) factors_[std::size_t(i)].jump(factorOf(i));
        return {};
    }
    void clearState() noexcept override {
        for (LinearRamp& factor : factors_) factor.finish();
    }
    // The factor ramps, not the dB value: a polarity flip passes through zero.
    void paramChanged(int instance, int param, std::int64_t position) noexcept override {
        factors_[std::size_t(instance)].rampTo(factorOf(instance), position, smoothingFrames(instance, param));
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const std::int64_t position = ctx.position + start;
        for (int i = 0; i < instanceCount(); ++i) {
            const LinearRamp& factor = factors_[std::size_t(i)];
            const InstanceLanes& lanes = this->lanes(i);
            if (factor.settledAt(position)) {
                const float k = float(factor.target());
                for (int l = lanes.firstInput; l < lanes.firstInput + lanes.inputs; ++l) {
                    const float* in = ctx.inputs[0][l] + start;
                    float* out = ctx.outputs[0][l] + start;
                    if (k == 1.0f && in == out) continue;
                    elementwise().multiplyByConstant(in, out, frames, k);
                }
            } else {
                // The factor of each frame depends only on its absolute position.
                for (int n = 0; n < frames; ++n) curve_[std::size_t(n)] = float(factor.valueAt(position + n));
                for (int l = lanes.firstInput; l < lanes.firstInput + lanes.inputs; ++l)
                    elementwise().multiplyByCurve(ctx.inputs[0][l] + start, curve_.data(), ctx.outputs[0][l] + start, frames);
            }
        }
    }

    std::vector<LinearRamp> factors_; ///< signed linear factor per instance
    std::vector<float> curve_;        ///< per-frame factor while ramping, maxBlockFrames long
};

} // namespace

void registerGainNodes(Registry& registry) { registry.add(std::make_unique<DeclaredTypeOf<GainDecl, GainKernel>>()); }

} // namespace sg
