// The kernel half of the node authoring kit: a NodeKernel driven by its type's NodeDecl.
//
// It does what every kernel with parameters did by hand: per instance, each parameter's value
// (clamped to the declared range, rounded if declared wholeNumber) as a LinearRamp; setParam
// queued at its absolute frame (ParamQueue); processing cut into segments at every change and at
// most maxBlockFrames long, so output depends on absolute positions only and stays bit-identical
// for every block split; Smoothed parameters ramp over the declared time, Stepped ones jump,
// Fixed ones ignore setParam. A node kernel derives from it and writes only its DSP:
//
//   prepareKernel(spec, setups)   allocate state (values and lanes are ready)      setup time
//   clearState()                  clear signal state (after pending changes)       real-time
//   paramChanged(stage, param, p) derive what follows from a change at frame p     real-time
//   processSegment(ctx, start, n) frames [start, start + n) of every lane          real-time
//
// Stages: an instance that the compiler fused from a chain (InstanceSetup::stages) has one stage
// per node of the chain, each with its own type's parameters; an ordinary instance is one stage
// with the stage index equal to the instance index. Kernels of one family resolve the stages'
// type names through declFor().
#pragma once

#include "core/Elementwise.h"
#include "core/Node.h"
#include "core/ParamDecl.h"
#include "core/Smoother.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace sg {

/// Lanes of one instance on port 0.
struct InstanceLanes {
    int firstInput = 0;  ///< first input lane
    int inputs = 0;      ///< input channels
    int firstOutput = 0; ///< first output lane
    int outputs = 0;     ///< output channels
};

class DeclaredKernel : public NodeKernel {
public:
    /// A kernel of the type `decl` declares; `decl` must outlive it.
    explicit DeclaredKernel(const NodeDecl& decl) : decl_(decl) {}

    std::string prepare(const PrepareSpec& spec, std::span<const InstanceSetup> setups) final;
    void reset() noexcept final;
    void setParam(int instance, int param, double value, std::int64_t position) noexcept final;
    void process(const ProcessContext& ctx) noexcept final;

protected:
    /// The declaration of stage type `type` ("" = this kernel's own); nullptr if this kernel
    /// cannot run it. Family kernels override it.
    virtual const NodeDecl* declFor(const std::string& type) const;
    /// Allocates the kernel's own state once values and lanes are known. Returns "" or an error.
    virtual std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup> setups) {
        (void)spec;
        (void)setups;
        return {};
    }
    /// Clears signal state; pending changes are applied and ramps finished before it.
    virtual void clearState() noexcept {}
    /// Parameter `param` of `stage` has taken a new value from absolute frame `position`.
    virtual void paramChanged(int stage, int param, std::int64_t position) noexcept {
        (void)stage;
        (void)param;
        (void)position;
    }
    /// Processes frames [start, start + frames) of every lane; no change falls inside.
    virtual void processSegment(const ProcessContext& ctx, int start, int frames) noexcept = 0;

    /// Instances prepared.
    int instanceCount() const { return int(lanes_.size()); }
    /// Port-0 lanes of `instance`.
    const InstanceLanes& lanes(int instance) const { return lanes_[std::size_t(instance)]; }
    /// "" when every instance's port-0 input has minChannels..maxChannels lanes, else the
    /// message (for prepareKernel: a kernel prepared directly, not through the compiler).
    std::string requireInputLanes(int minChannels, int maxChannels) const {
        for (const InstanceLanes& l : lanes_)
            if (l.inputs < minChannels || l.inputs > maxChannels) return channelRangeError(l.inputs, minChannels, maxChannels);
        return {};
    }
    /// Stages of every instance (as many as instances unless chains were fused).
    int stageCount() const { return int(stages_.size()); }
    /// Stages of `instance`: [firstStage(instance), firstStage(instance + 1)).
    int firstStage(int instance) const { return stageBegin_[std::size_t(instance)]; }
    /// The instance `stage` belongs to.
    int stageInstance(int stage) const { return stages_[std::size_t(stage)].instance; }
    /// The declaration of `stage`'s type.
    const NodeDecl& stageDecl(int stage) const { return *stages_[std::size_t(stage)].decl; }

    /// Current value of a smoothed parameter of `stage`, as a ramp in absolute frames.
    const LinearRamp& ramp(int stage, SmoothedParam p) const { return values_[slot(stage, p)]; }
    /// The value a parameter of `stage` has (a smoothed one: its target), clamped, base unit.
    double value(int stage, ParamRef p) const { return values_[slot(stage, p)].target(); }
    /// The declared smoothing time of a parameter of `stage`, in frames at the prepared rate.
    std::int64_t smoothingFrames(int stage, int param) const { return smoothing_[slot(stage, ParamRef{param})]; }

    double sampleRate() const { return sampleRate_; }      ///< Hz
    int maxBlockFrames() const { return maxBlockFrames_; } ///< frames
    /// The element-wise SIMD kernels of the prepared architecture.
    const Elementwise& elementwise() const { return *elementwise_; }

private:
    struct Stage {
        const NodeDecl* decl = nullptr;
        int instance = 0;
        int firstSlot = 0; ///< its first parameter in values_
    };
    std::size_t slot(int stage, ParamRef p) const { return std::size_t(stages_[std::size_t(stage)].firstSlot + p.index); }
    /// A queued change takes effect (its `instance` is the stage, `param` the stage's parameter).
    void apply(const ParamQueue::Change& change) noexcept;

    const NodeDecl& decl_;
    double sampleRate_ = 48000;
    int maxBlockFrames_ = 512;
    const Elementwise* elementwise_ = nullptr;
    std::vector<InstanceLanes> lanes_;
    std::vector<Stage> stages_;
    std::vector<int> stageBegin_;         ///< per instance + 1
    std::vector<LinearRamp> values_;      ///< per stage and parameter
    std::vector<std::int64_t> smoothing_; ///< frames, per stage and parameter
    ParamQueue queue_;                    ///< changes waiting for their frame
};

/// A kernel of the node declared by struct D (see declaration<D>()); p() gives D's handles.
template <class D> class DeclaredKernelOf : public DeclaredKernel {
protected:
    DeclaredKernelOf() : DeclaredKernel(declaration<D>().decl) {}
    /// The declaration's parameter handles.
    static const D& p() { return declaration<D>(); }
};

/// The node type declared by struct D whose kernel is K; derive to add latency, channel rules...
template <class D, class K> class DeclaredTypeOf : public DeclaredNodeType {
public:
    DeclaredTypeOf() : DeclaredNodeType(declaration<D>().decl.info()) {}
    std::unique_ptr<NodeKernel> createKernel() const override { return std::make_unique<K>(); }
};

} // namespace sg
