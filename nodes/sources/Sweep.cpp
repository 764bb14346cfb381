#include "nodes/sources/Sweep.h"

#include "core/Registry.h"
#include "nodes/sources/SourceType.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace sg {

namespace {

struct SweepDecl {
    NodeDecl decl{"sweep", "sources"};
    FixedParam start = decl.param("start")
                           .frequency(1, 48000)
                           .defaultValue(20)
                           .describe("Frequency at t = 0 in Hz (limited to 0.49 times the sample rate).")
                           .fixed();
    FixedParam end = decl.param("end")
                         .frequency(1, 48000)
                         .defaultValue(20000)
                         .describe("Frequency at t = duration in Hz (limited to 0.49 times the sample rate); below "
                                   "start the sweep falls.")
                         .fixed();
    FixedParam duration =
        decl.param("duration").time(10, 600000).defaultValue(10000).describe("Length T of the sweep; silence follows.").fixed();
    SmoothedParam level =
        decl.param("level").decibels(-120, 0).defaultValue(-6).describe("Peak level in dBFS. Ramps over 20 ms.").smoothingMs(20);
    FixedParam channels = decl.param("channels")
                              .plain(1, 64)
                              .defaultValue(1)
                              .wholeNumber()
                              .describe("Output channels, all carrying the same sweep.")
                              .fixed();

    SweepDecl() {
        decl.describe("An exponential (logarithmic) sine sweep from start to end frequency over a duration, then "
                      "silence; a source with no input.")
            .output("out", "the sweep, `channels` channels")
            .channelRule("no input; out has `channels` channels")
            .batchable()
            .reference("Farina 2000: x(t) = A sin(2 pi f1 L (e^(t/L) - 1)), L = T / ln(f2/f1) (f1 = f2: A sin(2 pi f1 "
                       "t)), t = n / rate for 0 <= n < round(T rate), 0 after; instantaneous frequency f1 e^(t/L). "
                       "The phase is computed from the absolute frame in double precision, so the sweep is the same "
                       "for every block split.");
    }
};

class SweepKernel final : public DeclaredKernelOf<SweepDecl> {
    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const std::int64_t position = ctx.position + start;
        const double highest = 0.49 * sampleRate();
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& lanes = this->lanes(i);
            const double f1 = std::min(value(i, p().start), highest), f2 = std::min(value(i, p().end), highest);
            const auto length = std::int64_t(std::llround(value(i, p().duration) * sampleRate() / 1000.0));
            const double rateL = f1 == f2 ? 0.0 : std::log(f2 / f1) / (double(length) / sampleRate()); // 1 / L
            const LinearRamp& level = ramp(i, p().level);
            const bool settled = level.settledAt(position);
            const double amplitude = dbToGain(level.target());
            float* first = ctx.outputs[0][lanes.firstOutput] + start;
            for (int n = 0; n < frames; ++n) {
                const std::int64_t frame = position + n;
                if (frame >= length) {
                    first[n] = 0.0f;
                    continue;
                }
                const double t = double(frame) / sampleRate();
                const double cycles = rateL == 0.0 ? f1 * t : f1 * std::expm1(t * rateL) / rateL;
                const double a = settled ? amplitude : dbToGain(level.valueAt(frame));
                first[n] = float(a * std::sin(2 * std::numbers::pi * (cycles - std::floor(cycles))));
            }
            for (int c = 1; c < lanes.outputs; ++c) std::copy_n(first, frames, ctx.outputs[0][lanes.firstOutput + c] + start);
        }
    }
};

} // namespace

void registerSweepNodes(Registry& registry) { registry.add(std::make_unique<SourceTypeOf<SweepDecl, SweepKernel>>()); }

} // namespace sg
