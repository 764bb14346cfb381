#include "nodes/stereo/MidSide.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/stereo/StereoRules.h"

#include <string>
#include <vector>

namespace sg {

namespace {

struct EncodeDecl {
    NodeDecl decl{"msencode", "stereo"};
    EncodeDecl() {
        decl.describe("Encodes a stereo pair to mid/side: M = (L + R)/2, S = (L - R)/2.")
            .input("in", "stereo signal, L R")
            .output("out", "2 channels: M (mid), S (side)")
            .channelRule("in has 2 channels; out has 2 (M, S)")
            .batchable()
            .reference("M = (L + R)/2, S = (L - R)/2; msdecode inverts it (L = M + S, R = M - S). A centred "
                       "source (L = R) gives M = L, S = 0; an inverted pair (R = -L) gives M = 0, S = L. In float "
                       "the round trip is exact when L + R and L - R are (16-bit input), else within "
                       "2^-23 max(|L|, |R|) per sample. Blumlein, GB patent 394325 (1931); Eargle, The Microphone "
                       "Book, ch. 13.");
    }
};

struct DecodeDecl {
    NodeDecl decl{"msdecode", "stereo"};
    DecodeDecl() {
        decl.describe("Decodes mid/side to a stereo pair: L = M + S, R = M - S (inverse of msencode).")
            .input("in", "2 channels: M (mid), S (side)")
            .output("out", "stereo signal, L R")
            .channelRule("in has 2 channels (M, S); out has 2 (L, R)")
            .batchable()
            .reference("L = M + S, R = M - S, the inverse of msencode's M = (L + R)/2, S = (L - R)/2. See "
                       "msencode for the round-trip bound in float.");
    }
};

/// Sum and difference of each instance's two lanes: out0 = a x0 + a x1, out1 = a x0 - a x1
/// (encode a = 1/2, decode a = 1). Not in place: out0 is written before x0 is read again.
template <class D, int Halve> class SumDifferenceKernel final : public DeclaredKernelOf<D> {
    using Base = DeclaredKernelOf<D>;
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        for (int i = 0; i < Base::instanceCount(); ++i)
            if (Base::lanes(i).inputs != 2) return "in: expects 2 channels, got " + std::to_string(Base::lanes(i).inputs);
        return {};
    }
    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const float a = Halve ? 0.5f : 1.0f;
        for (int i = 0; i < Base::instanceCount(); ++i) {
            const InstanceLanes& l = Base::lanes(i);
            const float* x0 = ctx.inputs[0][l.firstInput] + start;
            const float* x1 = ctx.inputs[0][l.firstInput + 1] + start;
            Base::elementwise().mix(x0, a, x1, a, ctx.outputs[0][l.firstOutput] + start, frames);
            Base::elementwise().mix(x0, a, x1, -a, ctx.outputs[0][l.firstOutput + 1] + start, frames);
        }
    }
};

/// Exactly two channels in, two out.
template <class D, class K> class StereoPairType final : public DeclaredTypeOf<D, K> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        return stereo::requireChannels(inputChannels, 2, 2, 1, outputChannels);
    }
};

} // namespace

void registerMidSideNodes(Registry& registry) {
    registry.add(std::make_unique<StereoPairType<EncodeDecl, SumDifferenceKernel<EncodeDecl, 1>>>());
    registry.add(std::make_unique<StereoPairType<DecodeDecl, SumDifferenceKernel<DecodeDecl, 0>>>());
}

} // namespace sg
