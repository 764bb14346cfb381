#include "nodes/filters/Crossover.h"
#include "nodes/filters/BiquadDesign.h"
#include "nodes/filters/SectionBank.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <array>
#include <cstdio>
#include <cstring>
#include <string>

namespace sg {

namespace {

using biquad::LinkwitzRiley4;
using biquad::linkwitzRiley4;

constexpr int kMaxBands = 6;
constexpr int kMaxSplits = kMaxBands - 1;
constexpr double kSmoothingMs = 20;
constexpr double kDefaultHz[kMaxSplits] = {200, 2000, 6000, 10000, 14000};

struct CrossoverDecl {
    NodeDecl decl{"crossover", "filters"};
    FixedParam bands = decl.param("bands")
                           .plain(2, kMaxBands)
                           .choices({2, 3, 4, 5, 6})
                           .wholeNumber()
                           .defaultValue(3)
                           .describe("Number of bands N; outputs band1..bandN carry them, the others silence. Fixed when "
                                     "the graph is compiled.")
                           .fixed();
    std::array<SmoothedParam, kMaxSplits> freq;

    CrossoverDecl() {
        for (int k = 0; k < kMaxSplits; ++k) {
            const std::string id = "freq" + std::to_string(k + 1);
            freq[std::size_t(k)] =
                decl.param(id)
                    .frequency(20, 20000)
                    .defaultValue(kDefaultHz[k])
                    .describe("Crossover " + std::to_string(k + 1) + " (between band" + std::to_string(k + 1) + " and band" +
                              std::to_string(k + 2) + "): both are -6.02 dB there. Used when bands > " + std::to_string(k + 1) +
                              (k == 0 ? std::string() : "; must be above freq" + std::to_string(k)) +
                              ". Clamped to 0.49 x sample rate. Changes glide over 20 ms.")
                    .smoothingMs(kSmoothingMs);
        }
        decl.describe("Splits a signal into 2 to 6 bands with Linkwitz-Riley 24 dB/oct filters; the bands sum to an "
                      "all-pass (flat magnitude).")
            .input("in", "signal, any number of channels (each split alike)")
            .channelRule("every band has the channels of in")
            .batchable()
            .reference("Linkwitz-Riley 4th order: LP = B^2, HP = H^2 with B, H the RBJ cookbook Butterworth low/high-pass "
                       "(Q = 1/sqrt 2, bilinear, prewarped at f); |LP|^2 = 1/(1 + W^4)^2 in the analog prototype, -6.02 dB "
                       "at f, 24 dB/oct skirts; LP + HP = AP = (s^2 - sqrt2 s + 1)/(s^2 + sqrt2 s + 1). "
                       "band_b = LP_b HP_(b-1)..HP_1 AP_(b+1)..AP_(N-1), band_N = HP_(N-1)..HP_1: the bands sum to "
                       "AP_1..AP_(N-1). S. Linkwitz, 'Active crossover networks for noncoincident drivers', JAES 24(1), "
                       "1976; D. Bohn, 'Linkwitz-Riley crossovers: a primer', Rane note 160, 2005; R. Bristow-Johnson, "
                       "Audio-EQ-Cookbook.");
        for (int b = 1; b <= kMaxBands; ++b)
            decl.output("band" + std::to_string(b), b == 1
                                                        ? "lowest band (below freq1)"
                                                        : "band " + std::to_string(b) + " (above freq" + std::to_string(b - 1) +
                                                              "); silence if bands < " + std::to_string(b));
    }
};

const CrossoverDecl& crossoverDecl() { return declaration<CrossoverDecl>(); }

int bandCount(double value) { return std::clamp(int(std::lround(value)), 2, kMaxBands); }

// ---- kernel ---------------------------------------------------------------------------------

class CrossoverKernel final : public DeclaredKernelOf<CrossoverDecl> {
    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        bands_ = instanceCount() > 0 ? bandCount(value(0, p().bands)) : 2;
        for (int i = 1; i < instanceCount(); ++i)
            if (bandCount(value(i, p().bands)) != bands_)
                return "crossover instances with " + std::to_string(bands_) + " and " +
                       std::to_string(bandCount(value(i, p().bands))) + " bands cannot share one kernel";
        const int laneCount =
            instanceCount() == 0 ? 0 : lanes(instanceCount() - 1).firstInput + lanes(instanceCount() - 1).inputs;
        scratch_.prepare();
        const int splits = bands_ - 1;
        for (int k = 0; k < splits; ++k) {
            // band k+1: its two low-pass sections, then the all-passes of the later splits
            low_[std::size_t(k)].prepare(laneCount, 2 + (splits - 1 - k), scratch_, spec.simd);
            high_[std::size_t(k)].prepare(laneCount, 2, scratch_, spec.simd);
        }
        control_.prepare(instanceCount());
        return {};
    }

    void clearState() noexcept override {
        for (int k = 0; k < bands_ - 1; ++k) {
            low_[std::size_t(k)].clear();
            high_[std::size_t(k)].clear();
        }
        for (int i = 0; i < instanceCount(); ++i) updateCoefficients(i, 0);
        control_.settleAll();
    }

    void paramChanged(int instance, int, std::int64_t) noexcept override { control_.changed(instance); }

    void updateCoefficients(int i, std::int64_t frame) noexcept {
        const int splits = bands_ - 1;
        const InstanceLanes& l = lanes(i);
        std::array<LinkwitzRiley4, kMaxSplits> lr;
        for (int k = 0; k < splits; ++k)
            lr[std::size_t(k)] = linkwitzRiley4(ramp(i, p().freq[std::size_t(k)]).valueAt(frame), sampleRate());
        for (int k = 0; k < splits; ++k) {
            biquad::SectionBank& low = low_[std::size_t(k)];
            biquad::SectionBank& high = high_[std::size_t(k)];
            low.set(0, l.firstInput, l.inputs, lr[std::size_t(k)].lowpass);
            low.set(1, l.firstInput, l.inputs, lr[std::size_t(k)].lowpass);
            for (int j = k + 1; j < splits; ++j) low.set(2 + (j - k - 1), l.firstInput, l.inputs, lr[std::size_t(j)].allpass);
            high.set(0, l.firstInput, l.inputs, lr[std::size_t(k)].highpass);
            high.set(1, l.firstInput, l.inputs, lr[std::size_t(k)].highpass);
        }
    }

    bool settledAt(int i, std::int64_t frame) const noexcept {
        for (int k = 0; k < bands_ - 1; ++k)
            if (!ramp(i, p().freq[std::size_t(k)]).settledAt(frame)) return false;
        return true;
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const int laneCount =
            instanceCount() == 0 ? 0 : lanes(instanceCount() - 1).firstInput + lanes(instanceCount() - 1).inputs;
        control_.forEachSpan(
            ctx.position, start, frames, [this](int i, std::int64_t frame) { updateCoefficients(i, frame); },
            [this](int i, std::int64_t frame) { return settledAt(i, frame); },
            [&](int spanStart, int spanFrames) {
                // The rest of the signal after each split travels in the last band's buffers.
                const float* const* in = ctx.inputs[0];
                float* const* rest = ctx.outputs[bands_ - 1];
                for (int k = 0; k < bands_ - 1; ++k) {
                    const float* const* from = k == 0 ? in : rest;
                    low_[std::size_t(k)].run(from, ctx.outputs[k], spanStart, spanFrames);
                    high_[std::size_t(k)].run(from, rest, spanStart, spanFrames);
                }
            });
        for (int b = bands_; b < kMaxBands; ++b)
            for (int l = 0; l < laneCount; ++l) std::memset(ctx.outputs[b][l] + start, 0, sizeof(float) * std::size_t(frames));
    }

    int bands_ = 2;
    biquad::BankScratch scratch_;
    std::array<biquad::SectionBank, kMaxSplits> low_, high_;
    biquad::ControlRateCoefficients control_;
};

// ---- type ---------------------------------------------------------------------------------------

std::string formatHz(double hz) {
    char text[32];
    std::snprintf(text, sizeof text, "%g Hz", hz);
    return text;
}

class CrossoverType final : public DeclaredTypeOf<CrossoverDecl, CrossoverKernel> {
public:
    std::string validate(const ParamValues& params) const override {
        const CrossoverDecl& d = crossoverDecl();
        const int bands = bandCount(paramValue(params, d.bands, 3));
        for (int k = 1; k < bands - 1; ++k) {
            const double below = paramValue(params, d.freq[std::size_t(k - 1)]);
            const double here = paramValue(params, d.freq[std::size_t(k)]);
            if (!(here > below))
                return "freq" + std::to_string(k + 1) + ": must be above freq" + std::to_string(k) + " (" + formatHz(below) +
                       "), got " + formatHz(here) + "; crossover frequencies go from low to high";
        }
        return {};
    }
    std::string batchKey(const ParamValues& params) const override {
        return "crossover" + std::to_string(bandCount(paramValue(params, crossoverDecl().bands, 3)));
    }
    /// The longest path, band N: two sections per split, each decaying like its poles (the
    /// low-pass, high-pass and all-pass of one split share their poles).
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        if (sampleRate <= 0) return 0;
        const CrossoverDecl& d = crossoverDecl();
        double frames = 0;
        for (int k = 0; k < bandCount(paramValue(params, d.bands, 3)) - 1; ++k)
            frames +=
                2 * biquad::decayFrames(linkwitzRiley4(paramValue(params, d.freq[std::size_t(k)], 1000), sampleRate).lowpass);
        return frames / sampleRate;
    }
};

} // namespace

void registerCrossoverNodes(Registry& registry) { registry.add(std::make_unique<CrossoverType>()); }

} // namespace sg
