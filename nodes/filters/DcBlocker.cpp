#include "nodes/filters/DcBlocker.h"
#include "nodes/filters/BiquadDesign.h"
#include "nodes/filters/SectionBank.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sg {

double dcblock::pole(double freqHz, double sampleRate) {
    const double f = std::clamp(freqHz, 1e-3, biquad::kNyquistClamp * sampleRate);
    const double t = std::tan(std::numbers::pi * f / sampleRate);
    return (1 - t) / (1 + t);
}

namespace {

/// The first-order section as a biquad: b0 = g, b1 = -g, a1 = -R.
biquad::Section dcSection(double freqHz, double sampleRate) {
    const double r = dcblock::pole(freqHz, sampleRate), g = (1 + r) / 2;
    return {g, -g, 0, -r, 0};
}

struct DcBlockerDecl {
    NodeDecl decl{"dcblock", "filters"};
    SmoothedParam freq = decl.param("freq")
                             .frequency(1, 200)
                             .defaultValue(5)
                             .describe("Cutoff (-3.01 dB); 5 Hz leaves 20 Hz 0.26 dB down and 100 Hz 0.011 dB. Changes glide "
                                       "over 20 ms.")
                             .smoothingMs(20);

    DcBlockerDecl() {
        decl.describe("Removes DC and subsonic drift: one-pole, one-zero high-pass (6 dB/oct) with unity gain at Nyquist.")
            .input("in", "signal, any number of channels (each filtered alike)")
            .output("out", "signal without DC")
            .channelRule("out has the channels of in")
            .batchable()
            .inPlace()
            .reference(
                "y[n] = g (x[n] - x[n-1]) + R y[n-1], R = (1 - tan(pi fc/fs))/(1 + tan(pi fc/fs)), g = (1 + R)/2: the "
                "bilinear transform of H(s) = s/(s + wc) prewarped at fc. |H(f)|^2 = 1/(1 + (tan(pi fc/fs)/tan(pi f/fs))^2): "
                "0 at DC, 1/2 at fc, 1 at fs/2. J. O. Smith, 'Introduction to Digital Filters', DC blocker; "
                "R. Yates, B. Lyons, 'DC blocker algorithms', IEEE Signal Processing Magazine 25(2), 2008.");
    }
};

class DcBlockerKernel final : public biquad::SectionCascadeKernel<DcBlockerDecl> {
public:
    DcBlockerKernel() : SectionCascadeKernel(1) {}

private:
    void updateCoefficients(int i, std::int64_t frame) noexcept override {
        const InstanceLanes& l = lanes(i);
        bank_.set(0, l.firstInput, l.inputs, dcSection(ramp(i, p().freq).valueAt(frame), sampleRate()));
    }
    bool settledAt(int i, std::int64_t frame) const noexcept override { return ramp(i, p().freq).settledAt(frame); }
};

class DcBlockerType final : public DeclaredTypeOf<DcBlockerDecl, DcBlockerKernel> {
public:
    /// 120 dB of decay of the pole R: ln(1e-6) / ln(R) frames.
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        if (sampleRate <= 0) return 0;
        return biquad::decayFrames(dcSection(paramValue(params, declaration<DcBlockerDecl>().freq, 5), sampleRate)) / sampleRate;
    }
};

} // namespace

void registerDcBlockerNodes(Registry& registry) { registry.add(std::make_unique<DcBlockerType>()); }

} // namespace sg
