#include "nodes/sources/Noise.h"

#include "core/Registry.h"
#include "nodes/sources/RandomSource.h"
#include "nodes/sources/SourceType.h"

#include <array>
#include <cmath>
#include <vector>

namespace sg {

namespace {

/// Kellet's refined pink filter: one-pole sections (pole, input weight) plus two direct taps.
constexpr std::array<double, 6> kPinkPoles{0.99886, 0.99332, 0.96900, 0.86650, 0.55000, -0.7616};
constexpr std::array<double, 6> kPinkWeights{0.0555179, 0.0750759, 0.1538520, 0.3104856, 0.5329522, -0.0168980};
constexpr double kPinkDirect = 0.5362;    ///< weight of w[n]
constexpr double kPinkDelayed = 0.115926; ///< weight of w[n - 1]

/// Sum of h[n]^2 of the pink filter, in closed form: h = g + d0 delta[n] + d1 delta[n - 1] with
/// g[n] = sum_k c_k p_k^n, so sum g^2 = sum_jk c_j c_k / (1 - p_j p_k).
double pinkPowerGain() {
    double energy = 0, g0 = 0, g1 = 0;
    for (std::size_t j = 0; j < kPinkPoles.size(); ++j) {
        g0 += kPinkWeights[j];
        g1 += kPinkWeights[j] * kPinkPoles[j];
        for (std::size_t k = 0; k < kPinkPoles.size(); ++k)
            energy += kPinkWeights[j] * kPinkWeights[k] / (1.0 - kPinkPoles[j] * kPinkPoles[k]);
    }
    return energy + 2 * kPinkDirect * g0 + 2 * kPinkDelayed * g1 + kPinkDirect * kPinkDirect + kPinkDelayed * kPinkDelayed;
}

struct NoiseDecl {
    NodeDecl decl{"noise", "sources"};
    FixedParam color = decl.param("color")
                           .plain(0, 1)
                           .choices({0, 1})
                           .defaultValue(1)
                           .describe("0 white (flat spectrum), 1 pink (-3.01 dB per octave, equal energy per octave).")
                           .fixed();
    SmoothedParam level = decl.param("level")
                              .decibels(-120, 0)
                              .defaultValue(-20)
                              .describe("RMS level in dBFS. White noise peaks at sqrt(3) times the RMS (+4.77 dB). Ramps "
                                        "over 20 ms.")
                              .smoothingMs(20);
    FixedParam seed = decl.param("seed")
                          .plain(0, 4294967295.0)
                          .defaultValue(1)
                          .wholeNumber()
                          .describe("Seed of the generators: equal seeds give bit-identical noise; each channel's "
                                    "generator is seeded from (seed, channel), so channels are uncorrelated.")
                          .fixed();
    FixedParam channels = decl.param("channels")
                              .plain(1, 64)
                              .defaultValue(1)
                              .wholeNumber()
                              .describe("Output channels, each with its own uncorrelated noise.")
                              .fixed();

    NoiseDecl() {
        decl.describe("Seeded white or pink noise at an RMS level; a source with no input.")
            .output("out", "noise, `channels` channels")
            .channelRule("no input; out has `channels` channels")
            .batchable()
            .reference("w[n] uniform on [-1/2, 1/2) (xorshift128+, 24-bit, seeded by splitmix64 from seed and channel). "
                       "White: y = sqrt(12) g w. Pink: Kellet's refined filter, b_k[n] = p_k b_k[n-1] + c_k w[n] (p = "
                       "0.99886, 0.99332, 0.969, 0.8665, 0.55, -0.7616), y = g (sum_k b_k + 0.5362 w[n] + 0.115926 "
                       "w[n-1]) / sqrt(E/12), E = sum h^2 in closed form; g = 10^(level/20) is the RMS.");
    }
};

class NoiseKernel final : public DeclaredKernelOf<NoiseDecl> {
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        int lanes = 0;
        for (int i = 0; i < instanceCount(); ++i) lanes += this->lanes(i).outputs;
        generators_.assign(std::size_t(lanes), RandomSource());
        pink_.assign(std::size_t(lanes), PinkState());
        gains_.assign(std::size_t(maxBlockFrames()), 0.0);
        return {};
    }
    void clearState() noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& lanes = this->lanes(i);
            const auto seed = std::uint64_t(value(i, p().seed));
            for (int c = 0; c < lanes.outputs; ++c) {
                generators_[std::size_t(lanes.firstOutput + c)].reseed(seed, c);
                pink_[std::size_t(lanes.firstOutput + c)] = PinkState();
            }
        }
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        static const double pinkScale = 1.0 / std::sqrt(pinkPowerGain() / 12.0);
        static const double whiteScale = std::sqrt(12.0);
        const std::int64_t position = ctx.position + start;
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& lanes = this->lanes(i);
            const bool pink = value(i, p().color) >= 0.5;
            const double scale = pink ? pinkScale : whiteScale;
            const LinearRamp& level = ramp(i, p().level);
            const bool settled = level.settledAt(position);
            const double constantGain = dbToGain(level.target()) * scale;
            if (!settled)
                for (int n = 0; n < frames; ++n) gains_[std::size_t(n)] = dbToGain(level.valueAt(position + n)) * scale;
            for (int c = 0; c < lanes.outputs; ++c) {
                const auto lane = std::size_t(lanes.firstOutput + c);
                RandomSource& random = generators_[lane];
                PinkState& state = pink_[lane];
                float* out = ctx.outputs[0][lanes.firstOutput + c] + start;
                for (int n = 0; n < frames; ++n) {
                    const double w = random.uniform();
                    double y = w;
                    if (pink) y = state.process(w);
                    out[n] = float(y * (settled ? constantGain : gains_[std::size_t(n)]));
                }
            }
        }
    }

    struct PinkState {
        std::array<double, 6> b{};
        double previous = 0; ///< w[n - 1]
        double process(double w) noexcept {
            double sum = kPinkDirect * w + kPinkDelayed * previous;
            for (std::size_t k = 0; k < b.size(); ++k) {
                b[k] = kPinkPoles[k] * b[k] + kPinkWeights[k] * w;
                sum += b[k];
            }
            previous = w;
            return sum;
        }
    };
    std::vector<RandomSource> generators_; ///< per lane
    std::vector<PinkState> pink_;          ///< per lane
    std::vector<double> gains_;            ///< per-frame linear gain while the level ramps
};

} // namespace

void registerNoiseNodes(Registry& registry) { registry.add(std::make_unique<SourceTypeOf<NoiseDecl, NoiseKernel>>()); }

} // namespace sg
