#include "nodes/sources/Sine.h"

#include "core/Registry.h"
#include "nodes/sources/SourceType.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace sg {

namespace {

struct SineDecl {
    NodeDecl decl{"sine", "sources"};
    SmoothedParam freq = decl.param("freq")
                             .frequency(1, 48000)
                             .defaultValue(1000)
                             .describe("Frequency in Hz, limited to 0.49 times the sample rate. Ramps over 20 ms (the "
                                       "phase stays continuous).")
                             .smoothingMs(20);
    SmoothedParam level = decl.param("level")
                              .decibels(-120, 0)
                              .defaultValue(-20)
                              .describe("Peak level in dBFS (the RMS is 3.01 dB lower). Ramps over 20 ms.")
                              .smoothingMs(20);
    FixedParam channels = decl.param("channels")
                              .plain(1, 64)
                              .defaultValue(1)
                              .wholeNumber()
                              .describe("Output channels, all carrying the same tone.")
                              .fixed();

    SineDecl() {
        decl.describe("A sine tone at a frequency and peak level; a source with no input.")
            .output("out", "the tone, `channels` channels")
            .channelRule("no input; out has `channels` channels")
            .batchable()
            .reference("y[n] = A sin(2 pi phi[n]), phi[0] = 0, phi[n+1] = phi[n] + f[n]/rate (mod 1, double precision), "
                       "A = 10^(level/20). The phase advances once per frame from frame 0, so the tone is the same "
                       "for every block split.");
    }
};

class SineKernel final : public DeclaredKernelOf<SineDecl> {
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        phases_.assign(std::size_t(instanceCount()), 0.0);
        return {};
    }
    void clearState() noexcept override { std::fill(phases_.begin(), phases_.end(), 0.0); }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const std::int64_t position = ctx.position + start;
        const double highest = 0.49 * sampleRate();
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& lanes = this->lanes(i);
            const LinearRamp& freq = ramp(i, p().freq);
            const LinearRamp& level = ramp(i, p().level);
            const bool freqSettled = freq.settledAt(position), levelSettled = level.settledAt(position);
            const double step = std::min(freq.target(), highest) / sampleRate();
            const double amplitude = dbToGain(level.target());
            double phase = phases_[std::size_t(i)];
            float* first = ctx.outputs[0][lanes.firstOutput] + start;
            for (int n = 0; n < frames; ++n) {
                const double a = levelSettled ? amplitude : dbToGain(level.valueAt(position + n));
                first[n] = float(a * std::sin(2 * std::numbers::pi * phase));
                phase += freqSettled ? step : std::min(freq.valueAt(position + n), highest) / sampleRate();
                phase -= std::floor(phase);
            }
            phases_[std::size_t(i)] = phase;
            for (int c = 1; c < lanes.outputs; ++c) std::copy_n(first, frames, ctx.outputs[0][lanes.firstOutput + c] + start);
        }
    }

    std::vector<double> phases_; ///< per instance, in cycles [0, 1)
};

} // namespace

void registerSineNodes(Registry& registry) { registry.add(std::make_unique<SourceTypeOf<SineDecl, SineKernel>>()); }

} // namespace sg
