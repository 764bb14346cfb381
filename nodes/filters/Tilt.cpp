#include "nodes/filters/Tilt.h"
#include "nodes/filters/BiquadDesign.h"
#include "nodes/filters/SectionBank.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <numbers>

namespace sg {

namespace {

constexpr double kShelfQ = std::numbers::sqrt2 / 2;

struct TiltDecl {
    NodeDecl decl{"tilt", "filters"};
    SmoothedParam gain = decl.param("gain")
                             .decibels(-12, 12)
                             .defaultValue(0)
                             .describe("Total tilt from bottom to top: +gain/2 dB towards Nyquist, -gain/2 dB towards DC, "
                                       "0 dB at freq. Positive brightens, negative darkens. Changes glide over 20 ms.")
                             .smoothingMs(20);
    SmoothedParam freq = decl.param("freq")
                             .frequency(20, 20000)
                             .defaultValue(1000)
                             .describe("Centre of the tilt (the pivot, 0 dB); clamped to 0.49 x sample rate. Changes glide "
                                       "over 20 ms.")
                             .smoothingMs(20);

    TiltDecl() {
        decl.describe("Tilts the spectrum about a centre frequency: one side up by gain/2 dB, the other down by gain/2 dB.")
            .input("in", "signal, any number of channels (each filtered alike)")
            .output("out", "tilted signal")
            .channelRule("out has the channels of in")
            .batchable()
            .inPlace()
            .reference("H = LowShelf(f0, -gain/2) HighShelf(f0, +gain/2), both RBJ Audio-EQ-Cookbook shelves with Q = 1/sqrt 2 "
                       "(bilinear, prewarped at f0): with s = j tan(pi f/fs)/tan(pi f0/fs), L = 10^(-gain/80), U = 10^(gain/80), "
                       "LowShelf(s) = L (s^2 + (sqrt(L)/Q) s + L)/(L s^2 + (sqrt(L)/Q) s + 1), "
                       "HighShelf(s) = U (U s^2 + (sqrt(U)/Q) s + 1)/(s^2 + (sqrt(U)/Q) s + U); "
                       "|H(f0)| = L U = 1, |H(0)| = L^2 = 10^(-gain/40), |H(fs/2)| = U^2 = 10^(gain/40). "
                       "R. Bristow-Johnson, Audio-EQ-Cookbook.");
    }
};

class TiltKernel final : public biquad::SectionCascadeKernel<TiltDecl> {
public:
    TiltKernel() : SectionCascadeKernel(2) {}

private:
    void updateCoefficients(int i, std::int64_t frame) noexcept override {
        const double gainDb = ramp(i, p().gain).valueAt(frame), freqHz = ramp(i, p().freq).valueAt(frame);
        const InstanceLanes& l = lanes(i);
        bank_.set(0, l.firstInput, l.inputs,
                  biquad::cookbookSection(biquad::Shape::LowShelf, freqHz, kShelfQ, -gainDb / 2, sampleRate()));
        bank_.set(1, l.firstInput, l.inputs,
                  biquad::cookbookSection(biquad::Shape::HighShelf, freqHz, kShelfQ, gainDb / 2, sampleRate()));
    }
    bool settledAt(int i, std::int64_t frame) const noexcept override {
        return ramp(i, p().gain).settledAt(frame) && ramp(i, p().freq).settledAt(frame);
    }
};

class TiltType final : public DeclaredTypeOf<TiltDecl, TiltKernel> {
public:
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        if (sampleRate <= 0) return 0;
        const TiltDecl& d = declaration<TiltDecl>();
        const double gainDb = paramValue(params, d.gain), freqHz = paramValue(params, d.freq, 1000);
        return (biquad::decayFrames(biquad::cookbookSection(biquad::Shape::LowShelf, freqHz, kShelfQ, -gainDb / 2, sampleRate)) +
                biquad::decayFrames(biquad::cookbookSection(biquad::Shape::HighShelf, freqHz, kShelfQ, gainDb / 2, sampleRate))) /
               sampleRate;
    }
};

} // namespace

void registerTiltNodes(Registry& registry) { registry.add(std::make_unique<TiltType>()); }

} // namespace sg
