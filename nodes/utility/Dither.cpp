#include "nodes/utility/Dither.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/sources/RandomSource.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sg {

namespace {

struct DitherDecl {
    NodeDecl decl{"dither", "utility"};
    FixedParam bits = decl.param("bits")
                          .plain(16, 24)
                          .choices({16, 24})
                          .defaultValue(16)
                          .describe("Word length: the output lies on the grid k / 2^(bits-1), k = -2^(bits-1) .. "
                                    "2^(bits-1) - 1.")
                          .fixed();
    SteppedParam mode = decl.param("mode")
                            .plain(0, 3)
                            .choices({0, 1, 2, 3})
                            .defaultValue(1)
                            .describe("0 rounding only (no dither), 1 TPDF dither (flat error, LSB^2/4), 2 TPDF with "
                                      "first-order noise shaping, NTF = 1 - z^-1 (|NTF|^2 = 4 sin^2(w/2): 0 dB at "
                                      "rate/6, +6 dB at Nyquist, falling 6 dB/octave towards DC), 3 TPDF with "
                                      "second-order shaping, NTF = (1 - z^-1)^2 (|NTF|^2 = 16 sin^4(w/2): +12 dB at "
                                      "Nyquist, 12 dB/octave). Changes apply at their frame.")
                            .stepped();
    FixedParam seed = decl.param("seed")
                          .plain(0, 4294967295.0)
                          .defaultValue(1)
                          .wholeNumber()
                          .describe("Seed of the dither generators (one per channel, seeded from seed and channel): "
                                    "equal seeds give bit-identical output.")
                          .fixed();

    DitherDecl() {
        decl.describe("Quantises to 16 or 24 bits with TPDF dither and optional error-feedback noise shaping; seeded "
                      "and block-size independent.")
            .input("in", "signal, any number of channels, full scale +-1")
            .output("out", "the signal on the bits-bit grid")
            .channelRule("out has the channels of in")
            .batchable()
            .inPlace()
            .reference("S = 2^(bits-1); v = S x + a1 e[n-1] + a2 e[n-2]; r = floor(v + d + 1/2); e = r - v; y = "
                       "clamp(r, -S, S-1) / S. d = u1 + u2 (TPDF, +-1 LSB peak; 0 in mode 0). Total error S(y - x) = "
                       "NTF(z) e with NTF = 1 (modes 0, 1), 1 - z^-1 (mode 2), 1 - 2z^-1 + z^-2 (mode 3); e is white "
                       "with variance LSB^2/4 under TPDF. Lipshitz, Wannamaker & Vanderkooy, JAES 40(5) 1992; "
                       "Lipshitz, Vanderkooy & Wannamaker, JAES 39(11) 1991.");
    }
};

class DitherKernel final : public DeclaredKernelOf<DitherDecl> {
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        int lanes = 0;
        for (int i = 0; i < instanceCount(); ++i) lanes += this->lanes(i).inputs;
        lanes_.assign(std::size_t(lanes), Lane());
        return {};
    }
    void clearState() noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& lanes = this->lanes(i);
            for (int c = 0; c < lanes.inputs; ++c) {
                Lane& lane = lanes_[std::size_t(lanes.firstInput + c)];
                lane = Lane();
                lane.random.reseed(std::uint64_t(value(i, p().seed)), c);
            }
        }
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& lanes = this->lanes(i);
            const double scale = std::ldexp(1.0, int(value(i, p().bits)) - 1);
            const int mode = int(value(i, p().mode));
            const double a1 = mode == 2 ? -1.0 : mode == 3 ? -2.0 : 0.0;
            const double a2 = mode == 3 ? 1.0 : 0.0;
            const double ditherAmount = mode == 0 ? 0.0 : 1.0;
            for (int c = 0; c < lanes.inputs; ++c) {
                Lane& lane = lanes_[std::size_t(lanes.firstInput + c)];
                const float* in = ctx.inputs[0][lanes.firstInput + c] + start;
                float* out = ctx.outputs[0][lanes.firstInput + c] + start;
                for (int n = 0; n < frames; ++n) {
                    // One draw per frame in every mode: the sequence stays tied to the frame.
                    const double d = lane.random.triangular() * ditherAmount;
                    const double v = scale * double(in[n]) + a1 * lane.e1 + a2 * lane.e2;
                    const double r = std::floor(v + d + 0.5);
                    lane.e2 = lane.e1;
                    lane.e1 = std::isfinite(r) ? r - v : 0.0; // a NaN in the input does not stay in the loop
                    out[n] = float(std::clamp(r, -scale, scale - 1) / scale);
                }
            }
        }
    }

    struct Lane {
        RandomSource random;
        double e1 = 0, e2 = 0; ///< e[n-1], e[n-2] in LSB
    };
    std::vector<Lane> lanes_; ///< per lane
};

} // namespace

void registerDitherNodes(Registry& registry) { registry.add(std::make_unique<DeclaredTypeOf<DitherDecl, DitherKernel>>()); }

} // namespace sg
