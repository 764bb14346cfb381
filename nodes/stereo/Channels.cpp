#include "nodes/stereo/Channels.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/stereo/StereoRules.h"

#include <cstring>
#include <string>
#include <vector>

namespace sg {

namespace {

void copyFrames(const float* in, float* out, int frames) noexcept {
    if (in != out) std::memcpy(out, in, sizeof(float) * std::size_t(frames));
}

// ---- swap --------------------------------------------------------------------------------------

struct SwapDecl {
    NodeDecl decl{"swap", "stereo"};
    SwapDecl() {
        decl.describe("Swaps the left and right channels.")
            .input("in", "stereo signal, L R")
            .output("out", "stereo signal, R L")
            .channelRule("in has 2 channels; out has 2")
            .batchable()
            .reference("L' = R, R' = L, sample for sample (a copy: bit-exact).");
    }
};

class SwapKernel final : public DeclaredKernelOf<SwapDecl> {
    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            copyFrames(ctx.inputs[0][l.firstInput + 1] + start, ctx.outputs[0][l.firstOutput] + start, frames);
            copyFrames(ctx.inputs[0][l.firstInput] + start, ctx.outputs[0][l.firstOutput + 1] + start, frames);
        }
    }
};

class SwapType final : public DeclaredTypeOf<SwapDecl, SwapKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        return stereo::requireChannels(inputChannels, 2, 2, 1, outputChannels);
    }
};

// ---- split -------------------------------------------------------------------------------------

struct SplitDecl {
    NodeDecl decl{"split", "stereo"};
    SplitDecl() {
        decl.describe("Splits a stereo signal into two mono outputs, left and right.")
            .input("in", "stereo signal, L R")
            .output("left", "mono: channel 1 of in")
            .output("right", "mono: channel 2 of in")
            .channelRule("in has 2 channels; left and right have 1 each")
            .batchable()
            .reference("left = L, right = R, sample for sample (a copy: bit-exact). merge is the inverse.");
    }
};

class SplitKernel final : public DeclaredKernelOf<SplitDecl> {
    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        // Output ports carry one lane per instance, in instance order.
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            copyFrames(ctx.inputs[0][l.firstInput] + start, ctx.outputs[0][i] + start, frames);
            copyFrames(ctx.inputs[0][l.firstInput + 1] + start, ctx.outputs[1][i] + start, frames);
        }
    }
};

class SplitType final : public DeclaredTypeOf<SplitDecl, SplitKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        return stereo::requireChannels(inputChannels, 2, 1, 2, outputChannels);
    }
};

// ---- merge -------------------------------------------------------------------------------------

struct MergeDecl {
    NodeDecl decl{"merge", "stereo"};
    MergeDecl() {
        decl.describe("Merges two mono inputs, left and right, into one stereo signal.")
            .input("left", "mono: becomes channel 1")
            .input("right", "mono: becomes channel 2")
            .output("out", "stereo signal, L R")
            .channelRule("left and right have 1 channel each; out has 2")
            .batchable()
            .reference("L = left, R = right, sample for sample (a copy: bit-exact). split is the inverse.");
    }
};

class MergeKernel final : public DeclaredKernelOf<MergeDecl> {
    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        // Input ports carry one lane per instance, in instance order.
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            copyFrames(ctx.inputs[0][i] + start, ctx.outputs[0][l.firstOutput] + start, frames);
            copyFrames(ctx.inputs[1][i] + start, ctx.outputs[0][l.firstOutput + 1] + start, frames);
        }
    }
};

class MergeType final : public DeclaredTypeOf<MergeDecl, MergeKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        static const char* const names[] = {"left", "right"};
        for (std::size_t k = 0; k < 2; ++k) {
            const int channels = k < inputChannels.size() ? inputChannels[k] : 0;
            if (channels == 0) return std::string("input '") + names[k] + "' is not connected";
            if (channels != 1) return std::string(names[k]) + ": expects 1 channel, got " + std::to_string(channels);
        }
        outputChannels.assign(1, 2);
        return {};
    }
};

// ---- monosum -----------------------------------------------------------------------------------

struct MonoSumDecl {
    NodeDecl decl{"monosum", "stereo"};
    MonoSumDecl() {
        decl.describe("Folds a stereo signal to mono, (L + R)/2: the mono-compatibility check inside a graph.")
            .input("in", "mono or stereo signal")
            .output("out", "mono signal")
            .channelRule("in has 1 or 2 channels; out has 1")
            .batchable()
            .inPlace()
            .reference("y = (L + R)/2 in float (one sum, an exact halving); a mono input is copied. A centred source "
                       "(L = R) keeps its level, uncorrelated L and R of equal power lose 3.01 dB, anti-phase "
                       "content (R = -L) cancels exactly. Put a loudness or correlation tap after it to check how a "
                       "mix survives mono playback.");
    }
};

class MonoSumKernel final : public DeclaredKernelOf<MonoSumDecl> {
    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            const float* left = ctx.inputs[0][l.firstInput] + start;
            float* out = ctx.outputs[0][l.firstOutput] + start;
            if (l.inputs == 1)
                copyFrames(left, out, frames);
            else
                elementwise().mix(left, 0.5f, ctx.inputs[0][l.firstInput + 1] + start, 0.5f, out, frames);
        }
    }
};

class MonoSumType final : public DeclaredTypeOf<MonoSumDecl, MonoSumKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        return channelsInRange(inputChannels, 1, 2, 1, 1, outputChannels);
    }
};

} // namespace

void registerChannelNodes(Registry& registry) {
    registry.add(std::make_unique<SwapType>());
    registry.add(std::make_unique<SplitType>());
    registry.add(std::make_unique<MergeType>());
    registry.add(std::make_unique<MonoSumType>());
}

} // namespace sg
