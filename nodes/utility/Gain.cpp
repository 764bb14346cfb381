#include "nodes/utility/Gain.h"

#include "core/Registry.h"
#include "core/Smoother.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sg {

namespace {

constexpr int kGainParam = 0;
constexpr int kInvertParam = 1;
constexpr double kSmoothingMs = 20;

NodeTypeInfo gainInfo() {
    NodeTypeInfo info;
    info.name = "gain";
    info.family = "utility";
    info.description = "Level change in dB with optional polarity inversion, smoothed over 20 ms.";
    info.inputs = {{"in", "signal, any number of channels", true}};
    info.outputs = {{"out", "signal times the gain factor", true}};
    info.params = {
        {"gain",
         UnitKind::Gain,
         -120,
         40,
         0,
         kSmoothingMs,
         "Level change; factor 10^(gain/20) on every channel. Changes ramp linearly in amplitude over 20 ms.",
         {}},
        {"invert",
         UnitKind::Plain,
         0,
         1,
         0,
         kSmoothingMs,
         "Polarity: 1 multiplies by -1. A change ramps the factor through zero over 20 ms (no click).",
         {0, 1}},
    };
    info.channelRule = "out has the channels of in";
    info.batchable = true;
    info.inPlace = true;
    info.reference = "y[n] = g[n] x[n], g = (invert ? -1 : 1) * 10^(gain/20); g ramps linearly in absolute frames "
                     "(block-size independent), then stays constant.";
    return info;
}

/// Signed linear factor for a gain in dB and a polarity switch.
double gainFactor(double gainDb, bool inverted) { return (inverted ? -1.0 : 1.0) * dbToGain(gainDb); }

class GainKernel final : public NodeKernel {
public:
    std::string prepare(const PrepareSpec& spec, std::span<const InstanceSetup> instances) override {
        multiplyConstant_ = SG_SIMD_PICK(spec.simd, multiplyByConstant);
        multiplyCurve_ = SG_SIMD_PICK(spec.simd, multiplyByCurve);
        smoothingFrames_ = std::llround(kSmoothingMs * spec.sampleRate / 1000.0);
        curve_.assign(std::size_t(std::max(1, spec.maxBlockFrames)), 0.0f);
        instances_.clear();
        queue_.reserve(16 + 8 * instances.size());
        int lane = 0;
        for (const InstanceSetup& setup : instances) {
            if (setup.params.size() < 2) return "gain: expected 2 parameters";
            const int channels = setup.inputChannels.empty() ? 0 : setup.inputChannels[0];
            if (channels <= 0) return "gain: input 'in' is not connected";
            Instance inst;
            inst.firstLane = lane;
            inst.lanes = channels;
            inst.gainDb = setup.params[kGainParam];
            inst.inverted = setup.params[kInvertParam] >= 0.5;
            inst.factor.jump(gainFactor(inst.gainDb, inst.inverted));
            instances_.push_back(inst);
            lane += channels;
        }
        return {};
    }

    void reset() noexcept override {
        while (!queue_.empty()) apply(queue_.pop());
        for (Instance& inst : instances_) inst.factor.finish();
    }

    void setParam(int instance, int param, double value, std::int64_t position) noexcept override {
        const ParamQueue::Change change{position, instance, param, value};
        if (!queue_.push(change)) apply(change);
    }

    void process(const ProcessContext& ctx) noexcept override {
        queue_.forEachSegment(
            ctx.position, ctx.frames, int(curve_.size()), [this](const ParamQueue::Change& c) { apply(c); },
            [&](int start, int frames) { run(ctx, start, frames); });
    }

private:
    struct Instance {
        int firstLane = 0, lanes = 0;
        double gainDb = 0;
        bool inverted = false;
        LinearRamp factor; ///< signed linear factor
    };
    /// A queued change takes effect: a new ramp from its frame.
    void apply(const ParamQueue::Change& change) noexcept {
        if (change.instance < 0 || std::size_t(change.instance) >= instances_.size()) return;
        Instance& inst = instances_[std::size_t(change.instance)];
        if (change.param == kGainParam)
            inst.gainDb = std::clamp(change.value, -120.0, 40.0);
        else if (change.param == kInvertParam)
            inst.inverted = change.value >= 0.5;
        else
            return;
        inst.factor.rampTo(gainFactor(inst.gainDb, inst.inverted), change.position, smoothingFrames_);
    }

    /// Frames [start, start + frames) of every lane; frames <= curve_.size().
    void run(const ProcessContext& ctx, int start, int frames) noexcept {
        const std::int64_t position = ctx.position + start;
        for (const Instance& inst : instances_) {
            if (inst.factor.settledAt(position)) {
                const float factor = float(inst.factor.target());
                for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l) {
                    const float* in = ctx.inputs[0][l] + start;
                    float* out = ctx.outputs[0][l] + start;
                    if (factor == 1.0f && in == out) continue;
                    multiplyConstant_(in, out, frames, factor);
                }
            } else {
                // The factor of each frame depends only on its absolute position.
                for (int n = 0; n < frames; ++n) curve_[std::size_t(n)] = float(inst.factor.valueAt(position + n));
                for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l)
                    multiplyCurve_(ctx.inputs[0][l] + start, curve_.data(), ctx.outputs[0][l] + start, frames);
            }
        }
    }

    std::vector<Instance> instances_;
    ParamQueue queue_;         ///< changes waiting for their frame
    std::vector<float> curve_; ///< per-frame factor while ramping, maxBlockFrames long
    std::int64_t smoothingFrames_ = 0;
    void (*multiplyConstant_)(const float*, float*, int, float) noexcept = nullptr;
    void (*multiplyCurve_)(const float*, const float*, float*, int) noexcept = nullptr;
};

class GainType final : public DeclaredNodeType {
public:
    GainType() : DeclaredNodeType(gainInfo()) {}
    std::unique_ptr<NodeKernel> createKernel() const override { return std::make_unique<GainKernel>(); }
};

} // namespace

void registerGainNodes(Registry& registry) { registry.add(std::make_unique<GainType>()); }

} // namespace sg
