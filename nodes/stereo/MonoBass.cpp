#include "nodes/stereo/MonoBass.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/filters/BiquadDesign.h"
#include "nodes/stereo/StereoRules.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

namespace sg {

namespace {

struct MonoBassDecl {
    NodeDecl decl{"monobass", "stereo"};
    SmoothedParam freq = decl.param("freq")
                             .frequency(20, 500)
                             .defaultValue(120)
                             .describe("Crossover: the side is high-passed here (Linkwitz-Riley 24 dB/oct, -6.02 dB at "
                                       "freq). Ramps over 20 ms; coefficients follow every 32 frames.")
                             .smoothingMs(20);

    MonoBassDecl() {
        decl.describe("Makes the low end mono: high-passes the side signal (L - R)/2 with a 24 dB/oct "
                      "Linkwitz-Riley filter, leaving the mid untouched.")
            .input("in", "stereo signal, L R")
            .output("out", "stereo signal, L R")
            .channelRule("in has 2 channels; out has 2")
            .batchable()
            .reference("M = (L + R)/2, S = (L - R)/2; L' = M + HP(S), R' = M - HP(S), HP = two RBJ Butterworth "
                       "high-pass sections (Q = 1/sqrt 2) in series (LR4): |HP(f)| = t^4/(1 + t^4), t = tan(pi "
                       "f/fs)/tan(pi f0/fs). Computed in double, rounded to float at the output. Linkwitz, "
                       "'Active crossover networks for noncoincident drivers', JAES 24(1), 1976; Bristow-Johnson, "
                       "Audio EQ Cookbook.");
    }
};

/// The LR4 high-pass section at `freqHz` (both sections are this one).
biquad::Section sideSection(double freqHz, double sampleRate) {
    return biquad::cookbookSection(biquad::Shape::Highpass, freqHz, std::numbers::sqrt2 / 2, 0, sampleRate);
}

class MonoBassKernel final : public DeclaredKernelOf<MonoBassDecl> {
    struct Channel {
        biquad::SectionState first, second;
        biquad::Section section{};
        double designedHz = -1;     ///< the frequency `section` was designed for
        std::int64_t rampStart = 0; ///< frame of the last change of freq
    };

    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        for (int i = 0; i < instanceCount(); ++i)
            if (lanes(i).inputs != 2) return "in: expects 2 channels, got " + std::to_string(lanes(i).inputs);
        channels_.assign(std::size_t(instanceCount()), Channel{});
        return {};
    }

    void clearState() noexcept override {
        for (Channel& c : channels_) {
            c.first.clear();
            c.second.clear();
            c.rampStart = 0;
        }
    }

    void paramChanged(int instance, int, std::int64_t position) noexcept override {
        channels_[std::size_t(instance)].rampStart = position;
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            Channel& c = channels_[std::size_t(i)];
            const LinearRamp& freq = ramp(i, p().freq);
            const float* left = ctx.inputs[0][l.firstInput];
            const float* right = ctx.inputs[0][l.firstInput + 1];
            float* outLeft = ctx.outputs[0][l.firstOutput];
            float* outRight = ctx.outputs[0][l.firstOutput + 1];
            for (int n = start; n < start + frames;) {
                // Frames [n, end) share the coefficients of frame max(rampStart, their 32-frame
                // boundary): a function of absolute positions only.
                const std::int64_t position = ctx.position + n;
                const int end = int(std::min<std::int64_t>(start + frames, n + (nextControlFrame(position) - position)));
                const std::int64_t anchor = std::max(c.rampStart, position - position % kControlFrames);
                const double hz = freq.valueAt(anchor);
                if (hz != c.designedHz) {
                    c.section = sideSection(hz, sampleRate());
                    c.designedHz = hz;
                }
                for (; n < end; ++n) {
                    const double x = left[n], y = right[n];
                    const double mid = 0.5 * (x + y), side = 0.5 * (x - y);
                    const double high = c.second.process(c.section, c.first.process(c.section, side));
                    outLeft[n] = float(mid + high);
                    outRight[n] = float(mid - high);
                }
            }
        }
    }

    std::vector<Channel> channels_; ///< one side filter per instance
};

class MonoBassType final : public DeclaredTypeOf<MonoBassDecl, MonoBassKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        return stereo::requireChannels(inputChannels, 2, 2, 1, outputChannels);
    }
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        // Two sections in series: at most twice one section's 120 dB decay.
        const double hz = paramValue(params, declaration<MonoBassDecl>().freq, 120);
        return 2 * biquad::decayFrames(sideSection(hz, sampleRate)) / sampleRate;
    }
};

} // namespace

void registerMonoBassNodes(Registry& registry) { registry.add(std::make_unique<MonoBassType>()); }

} // namespace sg
