// A cascade of second-order sections run on every lane of a kernel call, for filter nodes that
// are not biquad-family nodes (crossover, tilt, dcblock) but reuse the biquad bank kernel
// (nodes/filters/Biquad.simd.cpp): double coefficients and state, transposed direct form II,
// vectorised across lanes, the same bits on every architecture and for any batching (a lane's
// numbers never depend on its neighbours). A first-order section is a biquad with b2 = a2 = 0.
//
// ControlRateCoefficients does what the biquad kernel does while a smoothed parameter ramps:
// coefficients of frame p come from the parameters at floor(p / kControlFrames) *
// kControlFrames, so renders do not depend on where blocks start.
#pragma once

#include "core/Buffer.h"
#include "core/DeclaredKernel.h"
#include "core/Node.h"
#include "core/Smoother.h"
#include "nodes/filters/Biquad.h"
#include "nodes/filters/BiquadDesign.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace sg::biquad {

/// Scratch shared by the banks of one kernel (they run one after another).
class BankScratch {
public:
    /// Allocates it. Setup time.
    void prepare() { scratch_.assign(std::size_t(kChunkFrames) * kMaxPassLanes); }
    double* data() const noexcept { return scratch_.data(); }

private:
    AlignedArray<double> scratch_;
};

/// `sections` second-order sections in series on `lanes` lanes.
class SectionBank {
public:
    /// Allocates coefficients (all pass-through) and state. Setup time.
    void prepare(int lanes, int sections, const BankScratch& scratch, SimdArch simd);
    /// Sets section `section` of lanes [firstLane, firstLane + count) to `c`. Real-time safe.
    void set(int section, int firstLane, int count, const Section& c) noexcept;
    /// Clears the state of every lane. Real-time safe.
    void clear() noexcept { state_.clear(); }
    /// Frames [start, start + frames) of in[lane] through the cascade into out[lane] (may alias).
    void run(const float* const* in, float* const* out, int start, int frames) const noexcept {
        if (bank_.lanes > 0) process_(bank_, in, out, start, frames);
    }
    int sections() const noexcept { return bank_.sections; }

private:
    Bank bank_;
    AlignedArray<double> coefficients_, state_, roundAfter_;
    std::vector<unsigned char> sectionRounds_;
    void (*process_)(const Bank&, const float* const*, float* const*, int, int) noexcept = nullptr;
};

/// Per-instance bookkeeping of coefficients that follow smoothed parameters at control rate.
class ControlRateCoefficients {
public:
    /// `instances` instances, all settled. Setup time.
    void prepare(int instances) {
        coefficientFrame_.assign(std::size_t(instances), 0);
        settled_.assign(std::size_t(instances), 1);
        ramping_ = false;
    }
    /// Every instance's coefficients are final (after reset).
    void settleAll() noexcept {
        std::fill(settled_.begin(), settled_.end(), 1);
        ramping_ = false;
    }
    /// A parameter of `instance` started a ramp.
    void changed(int instance) noexcept {
        settled_[std::size_t(instance)] = 0;
        ramping_ = true;
    }
    /// Runs frames [start, start + frames) of the call as spans within which coefficients are
    /// constant: before each span of a control period, update(instance, controlFrame) recomputes
    /// an unsettled instance's coefficients and settledAt(instance, controlFrame) says whether
    /// they are final; run(start, frames) processes the span.
    template <class Update, class SettledAt, class Run>
    void forEachSpan(std::int64_t position, int start, int frames, Update&& update, SettledAt&& settledAt, Run&& run) noexcept {
        for (int end = start + frames; start < end;) {
            const std::int64_t at = position + start;
            int stop = end;
            if (ramping_) {
                const std::int64_t controlFrame = at - ((at % kControlFrames) + kControlFrames) % kControlFrames;
                stop = int(std::min<std::int64_t>(stop, controlFrame + kControlFrames - position));
                bool any = false;
                for (std::size_t i = 0; i < settled_.size(); ++i) {
                    if (settled_[i]) continue;
                    if (coefficientFrame_[i] != controlFrame) {
                        update(int(i), controlFrame);
                        coefficientFrame_[i] = controlFrame;
                        settled_[i] = settledAt(int(i), controlFrame) ? 1 : 0;
                    }
                    any |= !settled_[i];
                }
                ramping_ = any;
            }
            run(start, stop - start);
            start = stop;
        }
    }

private:
    std::vector<std::int64_t> coefficientFrame_; ///< control frame the coefficients were computed at
    std::vector<unsigned char> settled_;         ///< coefficients final (no ramp running or pending)
    bool ramping_ = false;
};

/// A kit kernel whose every instance is the same series of `sections` sections over all its
/// lanes, their coefficients following its smoothed parameters at control rate (tilt, DC
/// blocker). A node supplies the coefficients and when its parameters have settled.
template <class D> class SectionCascadeKernel : public DeclaredKernelOf<D> {
public:
    explicit SectionCascadeKernel(int sections) : sections_(sections) {}

protected:
    /// Instance `instance`'s sections from its parameters at absolute `frame`, into bank_.
    virtual void updateCoefficients(int instance, std::int64_t frame) noexcept = 0;
    /// True when no parameter of `instance` moves any more from `frame` on.
    virtual bool settledAt(int instance, std::int64_t frame) const noexcept = 0;

    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        const int count = this->instanceCount();
        const int laneCount = count == 0 ? 0 : this->lanes(count - 1).firstInput + this->lanes(count - 1).inputs;
        scratch_.prepare();
        bank_.prepare(laneCount, sections_, scratch_, spec.simd);
        control_.prepare(count);
        return {};
    }
    void clearState() noexcept override {
        bank_.clear();
        for (int i = 0; i < this->instanceCount(); ++i) updateCoefficients(i, 0);
        control_.settleAll();
    }
    void paramChanged(int instance, int, std::int64_t) noexcept override { control_.changed(instance); }
    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        control_.forEachSpan(
            ctx.position, start, frames, [this](int i, std::int64_t frame) { updateCoefficients(i, frame); },
            [this](int i, std::int64_t frame) { return settledAt(i, frame); },
            [&](int spanStart, int spanFrames) { bank_.run(ctx.inputs[0], ctx.outputs[0], spanStart, spanFrames); });
    }

    SectionBank bank_;

private:
    int sections_;
    BankScratch scratch_;
    ControlRateCoefficients control_;
};

} // namespace sg::biquad
