#include "nodes/mixing/Pan.h"

#include "core/Registry.h"
#include "core/Smoother.h"
#include "nodes/utility/Gain.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace sg {

namespace {

constexpr int kPanParam = 0;
constexpr double kSmoothingMs = 20;

NodeTypeInfo panInfo() {
    NodeTypeInfo info;
    info.name = "pan";
    info.family = "mixing";
    info.description = "Places a mono or stereo signal in the stereo field with a constant-power law.";
    info.inputs = {{"in", "mono (panned) or stereo (balanced) signal", true}};
    info.outputs = {{"out", "stereo signal", true}};
    info.params = {
        {"pan",
         UnitKind::Percent,
         -100,
         100,
         0,
         kSmoothingMs,
         "Position: -100 % hard left, 0 centre, +100 % hard right. Mono: sin/cos law, -3.01 dB per side at centre. "
         "Stereo: balance, unity at centre, +3.01 dB on the kept side when hard-panned. Ramps over 20 ms.",
         {}},
    };
    info.channelRule = "in has 1 or 2 channels; out has 2";
    info.batchable = true; // mono and stereo instances share one call: lanes map per instance
    info.inPlace = false;
    info.reference = "theta = (pan/100 + 1) pi/4. Mono: L = cos(theta), R = sin(theta) (L^2 + R^2 = 1). "
                     "Stereo balance: L' = sqrt(2) cos(theta) L, R' = sqrt(2) sin(theta) R (unity at centre, "
                     "gL^2 + gR^2 = 2). Constant-power pan law.";
    return info;
}

/// Left and right gains at pan position `panPercent` for a mono (1) or stereo (2) input.
/// cos(theta) is computed as sin(pi/2 - theta) so that hard left / right give exact zeros and
/// the law is exactly mirror-symmetric.
void panGains(double panPercent, int inputChannels, double& left, double& right) {
    const double p = std::clamp(panPercent / 100.0, -1.0, 1.0);
    const double scale = inputChannels == 2 ? std::numbers::sqrt2 : 1.0;
    left = scale * std::sin((1.0 - p) * (std::numbers::pi / 4));
    right = scale * std::sin((1.0 + p) * (std::numbers::pi / 4));
}

class PanKernel final : public NodeKernel {
public:
    std::string prepare(const PrepareSpec& spec, std::span<const InstanceSetup> instances) override {
        multiplyConstant_ = SG_SIMD_PICK(spec.simd, multiplyByConstant);
        multiplyCurve_ = SG_SIMD_PICK(spec.simd, multiplyByCurve);
        smoothingFrames_ = std::llround(kSmoothingMs * spec.sampleRate / 1000.0);
        const std::size_t block = std::size_t(std::max(1, spec.maxBlockFrames));
        leftCurve_.assign(block, 0.0f);
        rightCurve_.assign(block, 0.0f);
        instances_.clear();
        queue_.reserve(16 + 8 * instances.size());
        int inLane = 0;
        for (const InstanceSetup& setup : instances) {
            if (setup.params.empty()) return "pan: expected 1 parameter";
            const int channels = setup.inputChannels.empty() ? 0 : setup.inputChannels[0];
            if (channels != 1 && channels != 2) return "in: expects 1 or 2 channels, got " + std::to_string(channels);
            Instance inst;
            inst.firstInLane = inLane;
            inst.inputChannels = channels;
            inst.pan.jump(setup.params[kPanParam]);
            instances_.push_back(inst);
            inLane += channels;
        }
        return {};
    }

    void reset() noexcept override {
        while (!queue_.empty()) apply(queue_.pop());
        for (Instance& inst : instances_) inst.pan.finish();
    }

    void setParam(int instance, int param, double value, std::int64_t position) noexcept override {
        const ParamQueue::Change change{position, instance, param, value};
        if (!queue_.push(change)) apply(change);
    }

    void process(const ProcessContext& ctx) noexcept override {
        queue_.forEachSegment(
            ctx.position, ctx.frames, int(leftCurve_.size()), [this](const ParamQueue::Change& c) { apply(c); },
            [&](int start, int frames) { run(ctx, start, frames); });
    }

private:
    struct Instance {
        int firstInLane = 0;
        int inputChannels = 1;
        LinearRamp pan; ///< position in %
    };
    /// A queued change takes effect: a new ramp from its frame.
    void apply(const ParamQueue::Change& change) noexcept {
        if (change.instance < 0 || std::size_t(change.instance) >= instances_.size() || change.param != kPanParam) return;
        instances_[std::size_t(change.instance)].pan.rampTo(std::clamp(change.value, -100.0, 100.0), change.position,
                                                            smoothingFrames_);
    }

    /// Frames [start, start + frames) of every instance; frames <= leftCurve_.size().
    void run(const ProcessContext& ctx, int start, int frames) noexcept {
        const std::int64_t position = ctx.position + start;
        for (std::size_t i = 0; i < instances_.size(); ++i) {
            const Instance& inst = instances_[i];
            const float* inLeft = ctx.inputs[0][inst.firstInLane] + start;
            const float* inRight = ctx.inputs[0][inst.firstInLane + inst.inputChannels - 1] + start;
            float* outLeft = ctx.outputs[0][2 * i] + start;
            float* outRight = ctx.outputs[0][2 * i + 1] + start;
            if (inst.pan.settledAt(position)) {
                double left = 0, right = 0;
                panGains(inst.pan.target(), inst.inputChannels, left, right);
                multiplyConstant_(inLeft, outLeft, frames, float(left));
                multiplyConstant_(inRight, outRight, frames, float(right));
            } else {
                for (int n = 0; n < frames; ++n) { // each frame's gains depend only on its position
                    double left = 0, right = 0;
                    panGains(inst.pan.valueAt(position + n), inst.inputChannels, left, right);
                    leftCurve_[std::size_t(n)] = float(left);
                    rightCurve_[std::size_t(n)] = float(right);
                }
                multiplyCurve_(inLeft, leftCurve_.data(), outLeft, frames);
                multiplyCurve_(inRight, rightCurve_.data(), outRight, frames);
            }
        }
    }

    std::vector<Instance> instances_;
    ParamQueue queue_;                          ///< changes waiting for their frame
    std::vector<float> leftCurve_, rightCurve_; ///< per-frame gains while ramping
    std::int64_t smoothingFrames_ = 0;
    void (*multiplyConstant_)(const float*, float*, int, float) noexcept = nullptr;
    void (*multiplyCurve_)(const float*, const float*, float*, int) noexcept = nullptr;
};

class PanType final : public DeclaredNodeType {
public:
    PanType() : DeclaredNodeType(panInfo()) {}
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        const int channels = inputChannels.empty() ? 0 : inputChannels[0];
        if (channels == 0) return "input 'in' is not connected";
        if (channels != 1 && channels != 2)
            return "in: expects 1 (mono, panned) or 2 (stereo, balanced) channels, got " + std::to_string(channels);
        outputChannels.assign(1, 2);
        return {};
    }
    std::unique_ptr<NodeKernel> createKernel() const override { return std::make_unique<PanKernel>(); }
};

} // namespace

void registerPanNodes(Registry& registry) { registry.add(std::make_unique<PanType>()); }

} // namespace sg
