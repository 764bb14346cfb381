#include "nodes/space/Echo.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/filters/BiquadDesign.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

namespace sg {

namespace {

constexpr double kMaxTimeMs = 2000;

struct EchoDecl {
    NodeDecl decl{"echo", "space"};
    SteppedParam time = decl.param("time")
                            .time(1, kMaxTimeMs)
                            .defaultValue(300)
                            .describe("Delay D between echoes, rounded to whole frames. Changes jump at their frame.")
                            .stepped();
    SmoothedParam feedback = decl.param("feedback")
                                 .percent(0, 95)
                                 .defaultValue(35)
                                 .describe("Part of each echo fed back into the delay: echo k has amplitude fb^(k-1) "
                                           "(times the loop filter's response k-1 times). Ramps over 20 ms.")
                                 .smoothingMs(20);
    SteppedParam filter = decl.param("filter")
                              .plain(0, 2)
                              .choices({0, 1, 2})
                              .defaultValue(1)
                              .describe("Filter in the feedback loop: 0 off, 1 low-pass (each echo darker), 2 "
                                        "high-pass (each echo thinner); second order, Q = 1/sqrt(2).")
                              .stepped();
    SteppedParam cutoff = decl.param("cutoff")
                              .frequency(20, 20000)
                              .defaultValue(4000)
                              .describe("Cut-off of the loop filter in Hz (limited to 0.49 times the sample rate).")
                              .stepped();
    SmoothedParam mix = decl.param("mix")
                            .percent(0, 100)
                            .defaultValue(100)
                            .describe("Echoes in the output: 100 % echoes only (for a send), 0 % the dry signal "
                                      "only; y = (1 - mix) x + mix w. Ramps over 20 ms.")
                            .smoothingMs(20);

    EchoDecl() {
        decl.describe("Delay with feedback and a low- or high-pass filter in the loop; echoes only or mixed with the "
                      "dry signal.")
            .input("in", "signal, any number of channels")
            .output("out", "echoes (and the dry signal by mix), the channels of in")
            .channelRule("out has the channels of in")
            .batchable()
            .inPlace()
            .reference("s[n] = x[n] + fb F(s[n-D]), w[n] = s[n-D], y = (1-mix) x + mix w; D = round(time rate/1000) "
                       "frames. Echo k (at k D) = fb^(k-1) F^(k-1) delta. F: RBJ cookbook low-/high-pass, Q = "
                       "0.7071. Tail = D (1 + ceil(ln 0.001 / ln fb)) + the filter's 120 dB decay.");
    }
};

biquad::Section loopSection(int filter, double cutoffHz, double sampleRate) {
    if (filter == 0) return {1, 0, 0, 0, 0};
    return biquad::cookbookSection(filter == 1 ? biquad::Shape::Lowpass : biquad::Shape::Highpass, cutoffHz,
                                   std::numbers::sqrt2 / 2, 0, sampleRate);
}

class EchoKernel final : public DeclaredKernelOf<EchoDecl> {
    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        capacity_ = int(std::llround(kMaxTimeMs * sampleRate() / 1000.0)) + 1;
        int lanes = 0;
        for (int i = 0; i < instanceCount(); ++i) lanes += this->lanes(i).inputs;
        lines_.assign(std::size_t(lanes), std::vector<float>(std::size_t(capacity_), 0.0f));
        filters_.assign(std::size_t(lanes), biquad::SectionState());
        instances_.assign(std::size_t(instanceCount()), Instance());
        for (int i = 0; i < instanceCount(); ++i) update(i);
        return {};
    }
    void update(int i) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        inst.delayFrames = int(std::clamp<long long>(std::llround(value(i, p().time) * sampleRate() / 1000.0), 1, capacity_ - 1));
        inst.section = loopSection(int(value(i, p().filter)), std::min(value(i, p().cutoff), 0.49 * sampleRate()), sampleRate());
    }
    void clearState() noexcept override {
        for (auto& line : lines_) std::fill(line.begin(), line.end(), 0.0f);
        for (auto& f : filters_) f.clear();
        writeIndex_ = 0;
        for (int i = 0; i < instanceCount(); ++i) update(i);
    }
    void paramChanged(int instance, int, std::int64_t) noexcept override { update(instance); }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const std::int64_t position = ctx.position + start;
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& lanes = this->lanes(i);
            const Instance& inst = instances_[std::size_t(i)];
            const LinearRamp& feedback = ramp(i, p().feedback);
            const LinearRamp& mix = ramp(i, p().mix);
            const bool settled = feedback.settledAt(position) && mix.settledAt(position);
            const bool filtered = value(i, p().filter) >= 0.5;
            for (int c = 0; c < lanes.inputs; ++c) {
                const auto lane = std::size_t(lanes.firstInput + c);
                float* line = lines_[lane].data();
                biquad::SectionState& state = filters_[lane];
                const float* in = ctx.inputs[0][lanes.firstInput + c] + start;
                float* out = ctx.outputs[0][lanes.firstOutput + c] + start;
                int write = writeIndex_;
                int read = write - inst.delayFrames;
                if (read < 0) read += capacity_;
                for (int n = 0; n < frames; ++n) {
                    const double fb = (settled ? feedback.target() : feedback.valueAt(position + n)) / 100.0;
                    const double m = (settled ? mix.target() : mix.valueAt(position + n)) / 100.0;
                    const double x = in[n];
                    const double w = line[read];
                    const double looped = filtered ? state.process(inst.section, w) : w;
                    line[write] = float(x + fb * looped);
                    out[n] = float((1.0 - m) * x + m * w);
                    if (++write == capacity_) write = 0;
                    if (++read == capacity_) read = 0;
                }
            }
        }
        writeIndex_ = int((writeIndex_ + frames) % capacity_);
    }

    struct Instance {
        int delayFrames = 1;
        biquad::Section section{1, 0, 0, 0, 0};
    };
    int capacity_ = 1;                          ///< frames per line: the longest D + 1
    int writeIndex_ = 0;                        ///< shared by every line: all advance one frame per frame
    std::vector<std::vector<float>> lines_;     ///< per lane
    std::vector<biquad::SectionState> filters_; ///< per lane
    std::vector<Instance> instances_;
};

class EchoType final : public DeclaredTypeOf<EchoDecl, EchoKernel> {
public:
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        const EchoDecl& d = declaration<EchoDecl>();
        const double delay =
            double(std::max<long long>(1, std::llround(paramValue(params, d.time) * sampleRate / 1000.0))) / sampleRate;
        const double fb = paramValue(params, d.feedback) / 100.0;
        const double trips = fb > 0 ? std::ceil(std::log(1e-3) / std::log(fb)) : 0.0;
        const int filter = int(paramValue(params, d.filter));
        const double filterDecay =
            filter == 0 ? 0.0
                        : biquad::decayFrames(
                              loopSection(filter, std::min(paramValue(params, d.cutoff), 0.49 * sampleRate), sampleRate)) /
                              sampleRate;
        return delay * (1.0 + trips) + filterDecay;
    }
};

} // namespace

void registerEchoNodes(Registry& registry) { registry.add(std::make_unique<EchoType>()); }

} // namespace sg
