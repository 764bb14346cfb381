#include "core/DeclaredKernel.h"

#include <algorithm>
#include <cmath>

namespace sg {

const NodeDecl* DeclaredKernel::declFor(const std::string& type) const {
    return type.empty() || type == decl_.info().name ? &decl_ : nullptr;
}

std::string DeclaredKernel::prepare(const PrepareSpec& spec, std::span<const InstanceSetup> setups) {
    sampleRate_ = spec.sampleRate;
    maxBlockFrames_ = std::max(1, spec.maxBlockFrames);
    elementwise_ = &Elementwise::forArch(spec.simd);
    lanes_.clear();
    stages_.clear();
    stageBegin_.assign(1, 0);
    values_.clear();
    smoothing_.clear();
    queue_.reserve(16 + 8 * setups.size());
    InstanceLanes next;
    for (const InstanceSetup& setup : setups) {
        InstanceLanes lanes;
        lanes.firstInput = next.firstInput;
        lanes.inputs = setup.inputChannels.empty() ? 0 : setup.inputChannels[0];
        lanes.firstOutput = next.firstOutput;
        lanes.outputs = setup.outputChannels.empty() ? 0 : setup.outputChannels[0];
        if (lanes.inputs <= 0 && !decl_.info().inputs.empty())
            return decl_.info().name + ": input '" + decl_.info().inputs[0].name + "' is not connected";
        // A fused chain's instance runs its stages in series; a plain instance is one stage.
        const std::size_t stageCount = setup.stages.empty() ? 1 : setup.stages.size();
        for (std::size_t k = 0; k < stageCount; ++k) {
            const std::string& type = setup.stages.empty() ? setup.type : setup.stages[k].type;
            const ParamValues& params = setup.stages.empty() ? setup.params : setup.stages[k].params;
            const NodeDecl* decl = declFor(type);
            if (decl == nullptr) return "the " + decl_.info().name + " kernel cannot run node type '" + type + "'";
            const std::vector<ParamInfo>& table = decl->info().params;
            if (params.size() != table.size())
                return decl->info().name + ": expected " + std::to_string(table.size()) + " parameters, got " +
                       std::to_string(params.size());
            stages_.push_back({decl, int(lanes_.size()), int(values_.size())});
            for (std::size_t p = 0; p < table.size(); ++p) {
                LinearRamp ramp;
                ramp.jump(std::clamp(params[p], table[p].minValue, table[p].maxValue));
                values_.push_back(ramp);
                smoothing_.push_back(decl->behaviours()[p].motion == ParamMotion::Smoothed
                                         ? std::llround(table[p].smoothingMs * spec.sampleRate / 1000.0)
                                         : 0);
            }
        }
        stageBegin_.push_back(int(stages_.size()));
        lanes_.push_back(lanes);
        next.firstInput += lanes.inputs;
        next.firstOutput += lanes.outputs;
    }
    if (std::string error = prepareKernel(spec, setups); !error.empty()) return error;
    reset();
    return {};
}

void DeclaredKernel::reset() noexcept {
    while (!queue_.empty()) apply(queue_.pop());
    for (LinearRamp& ramp : values_) ramp.finish();
    clearState();
}

void DeclaredKernel::setParam(int instance, int param, double value, std::int64_t position) noexcept {
    if (instance < 0 || instance >= instanceCount() || param < 0) return;
    // The instance's parameter indices run through its stages by offset.
    int stage = firstStage(instance);
    const int end = firstStage(instance + 1);
    std::size_t local = std::size_t(param);
    while (stage < end && local >= stageDecl(stage).info().params.size()) local -= stageDecl(stage++).info().params.size();
    if (stage == end || stageDecl(stage).behaviours()[local].motion == ParamMotion::Fixed) return;
    const ParamQueue::Change change{position, stage, int(local), value};
    if (!queue_.push(change)) apply(change);
}

void DeclaredKernel::apply(const ParamQueue::Change& change) noexcept {
    const NodeDecl& decl = stageDecl(change.instance);
    const ParamInfo& info = decl.info().params[std::size_t(change.param)];
    const ParamBehaviour& behaviour = decl.behaviours()[std::size_t(change.param)];
    const double value =
        std::clamp(behaviour.wholeNumber ? std::round(change.value) : change.value, info.minValue, info.maxValue);
    const std::size_t at = slot(change.instance, ParamRef{change.param});
    if (behaviour.motion == ParamMotion::Smoothed)
        values_[at].rampTo(value, change.position, smoothing_[at]);
    else
        values_[at].jump(value);
    paramChanged(change.instance, change.param, change.position);
}

void DeclaredKernel::process(const ProcessContext& ctx) noexcept {
    queue_.forEachSegment(
        ctx.position, ctx.frames, maxBlockFrames_, [this](const ParamQueue::Change& c) { apply(c); },
        [&](int start, int frames) { processSegment(ctx, start, frames); });
}

} // namespace sg
