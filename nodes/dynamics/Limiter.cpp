#include "nodes/dynamics/Limiter.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace sg {

namespace {

constexpr double kMinCeilingDbtp = -20, kMaxCeilingDbtp = 0;
constexpr double kMinLookaheadMs = 0.5, kMaxLookaheadMs = 20;
constexpr double kMinReleaseMs = 1, kMaxReleaseMs = 1000;

/// The gain computer aims this far below the stated ceiling, in dB: 0.001 dB for the float
/// rounding of x * g and of a meter's filter sum, plus 0.5 dB / A for the small overs a gain
/// that still moves within the 12-frame span of the interpolation filter can leave when peaks of
/// different heights cluster (measured at most 0.02 dB for A = 12 on +12 dB noise, about 1/A).
double safetyDb(int attackFrames) { return 0.001 + 0.5 / double(attackFrames); }
/// Log gains (ln g <= 0) are summed as integers in units of 2^-36 (exact, no drift; 200 dB over
/// 768 kHz x 20 ms fits in 2^55).
constexpr double kFixedOne = 68719476736.0; // 2^36
/// The deepest gain reduction, as ln g (200 dB): keeps the fixed-point sums in range.
constexpr double kMinLogGain = -23.025850929940457;
/// A released ln g this close to 0 is 0 again (so the output returns to bit-exact).
constexpr double kUnityLogThreshold = -1.0 / 16777216.0; // -2^-24 (5e-7 dB)
/// dB per unit of ln g: 20 / ln 10.
constexpr double kDbPerNeper = 8.685889638065037;
/// A frame counts as limited (limited_percent) from this much gain reduction on, in dB: the
/// exponential release leaves a tail of tiny reductions that would otherwise count.
constexpr double kLimitedThresholdDb = 0.1;

// The delay line doubles as the detector's history: it must hold the FIR's 11 past frames.
static_assert(kLimiterMinLatencyFrames > kTruePeakHistoryFrames);

/// Latency in frames for a lookahead in ms at `sampleRate`.
int lookaheadFrames(double lookaheadMs, double sampleRate) {
    const long long frames = std::llround(lookaheadMs * sampleRate / 1000.0);
    return int(std::max<long long>(kLimiterMinLatencyFrames, frames));
}

/// Per-frame factor of the release on ln g: the gain reduction in dB decays as exp(-t / release).
double releaseFactorFor(double releaseMs, double sampleRate) {
    return std::exp(-1000.0 / (std::max(releaseMs, kMinReleaseMs) * sampleRate));
}

struct LimiterDecl {
    NodeDecl decl{"limiter", "dynamics"};
    SteppedParam ceiling =
        decl.param("ceiling")
            .truePeak(kMinCeilingDbtp, kMaxCeilingDbtp)
            .defaultValue(-1)
            .describe("Highest true peak of the output (BS.1770-5 Annex 2, 4x oversampled). A change applies from its frame on.")
            .stepped();
    FixedParam lookahead = decl.param("lookahead")
                               .time(kMinLookaheadMs, kMaxLookaheadMs)
                               .defaultValue(5)
                               .describe("How far ahead peaks are seen; also the latency (at least 12 frames). The gain "
                                         "falls over lookahead - 10 frames. Fixed when the graph is compiled.")
                               .fixed();
    SteppedParam release = decl.param("release")
                               .time(kMinReleaseMs, kMaxReleaseMs)
                               .defaultValue(50)
                               .describe("Time constant of the recovery once a peak has passed: the gain reduction in dB "
                                         "decays as exp(-t / release).")
                               .stepped();

    LimiterDecl() {
        decl.describe("True-peak lookahead limiter: the 4x-oversampled (BS.1770 Annex 2) peak of the output never "
                      "exceeds the ceiling; one gain for all channels.")
            .input("in", "signal, any number of channels (limited together)")
            .output("out", "limited signal, delayed by the lookahead")
            .channelRule("out has the channels of in")
            .batchable()
            .inPlace()
            .reference(
                "Detection: p[n] = max over channels of |x| and of the BS.1770-5 Annex 2 4x polyphase FIR outputs; "
                "r[n] = min(1, C / p[n]), C = the ceiling lowered by 0.001 dB + 0.5 dB / (L - 10) (float rounding, and the "
                "small overs a gain still moving within the filter's span leaves between clustered peaks). Gain, in ln g: "
                "h = min of ln r over the last L + 1 frames (monotonic deque), e[n] = min(h[n], c e[n-1]) with "
                "c = exp(-1 / (release * fs)) (the reduction in dB decays exponentially), g = exp(mean of e over the last "
                "L - 10 frames) (attack; exact fixed-point sum), y[n] = g[n] x[n - L], L = latency = max(12, lookahead * fs) "
                "frames. The mean is below the required gain across the 12-frame span of the interpolation filter around "
                "every peak, so the output's true peak stays under the ceiling; below the ceiling y[n] = x[n - L] exactly. "
                "Reports max_gain_reduction_db, mean_gain_reduction_db (over all frames) and limited_percent (frames with at "
                "least 0.1 dB of gain reduction).");
    }
};

class LimiterKernel final : public DeclaredKernelOf<LimiterDecl> {
    void measurements(int instance, std::vector<Measurement>& out) const override {
        if (instance < 0 || std::size_t(instance) >= instances_.size()) return;
        const Instance& inst = instances_[std::size_t(instance)];
        const double frames = double(std::max<std::int64_t>(1, inst.countedFrames));
        out.push_back({"max_gain_reduction_db", inst.maxReductionDb, "dB"});
        out.push_back({"mean_gain_reduction_db", inst.sumReductionDb / frames, "dB"});
        out.push_back({"limited_percent", 100.0 * double(inst.limitedFrames) / frames, "%"});
    }

private:
    struct Instance {
        int firstLane = 0, lanes = 0;
        int latencyFrames = kLimiterMinLatencyFrames;  ///< L
        int attackFrames = 2;                          ///< A = L - 10
        int holdFrames = kLimiterMinLatencyFrames + 1; ///< H = L + 1
        double ceiling = 1;                            ///< linear, safety margin included
        double releaseFactor = 0;                      ///< c per frame
        // Monotonic deque of (position, required gain) over the last H frames; values rise
        // from head to tail, so the head is the minimum. A ring of H + 1 slots.
        std::vector<std::int64_t> holdPositions;
        std::vector<double> holdValues; ///< ln of the required gains
        std::size_t holdHead = 0, holdCount = 0;
        double logEnvelope = 0;        ///< ln e[n-1]
        std::vector<std::int64_t> box; ///< last A values of ln e, fixed point
        std::size_t boxIndex = 0;
        std::int64_t boxSum = 0;
        // Statistics over output frames from L on.
        double maxReductionDb = 0, sumReductionDb = 0;
        std::int64_t limitedFrames = 0, countedFrames = 0;
    };
    struct Lane {
        std::vector<float> work; ///< [L frames of history | this block]
    };

    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        accumulateTruePeak_ = SG_SIMD_PICK(spec.simd, accumulateTruePeak);
        peak_.assign(std::size_t(maxBlockFrames()), 0.0f);
        gain_.assign(std::size_t(maxBlockFrames()), 1.0f);
        instances_.clear();
        lanes_.clear();
        for (int i = 0; i < instanceCount(); ++i) {
            Instance inst;
            inst.firstLane = lanes(i).firstInput;
            inst.lanes = lanes(i).inputs;
            inst.latencyFrames = lookaheadFrames(value(i, p().lookahead), sampleRate());
            inst.attackFrames = inst.latencyFrames - (kLimiterMinLatencyFrames - 2);
            inst.holdFrames = inst.latencyFrames + 1;
            inst.holdPositions.assign(std::size_t(inst.holdFrames) + 1, 0);
            inst.holdValues.assign(std::size_t(inst.holdFrames) + 1, 0.0);
            inst.box.assign(std::size_t(inst.attackFrames), 0);
            instances_.push_back(std::move(inst));
            updateCeiling(i);
            updateRelease(i);
            for (int c = 0; c < lanes(i).inputs; ++c) {
                Lane lane;
                // History (the delay line, which also covers the detector's 11 frames) + one block.
                lane.work.assign(std::size_t(instances_.back().latencyFrames + maxBlockFrames()), 0.0f);
                lanes_.push_back(std::move(lane));
            }
        }
        return {};
    }

    void clearState() noexcept override {
        for (Instance& inst : instances_) {
            inst.holdHead = inst.holdCount = 0;
            inst.logEnvelope = 0.0;
            std::fill(inst.box.begin(), inst.box.end(), 0);
            inst.boxIndex = 0;
            inst.boxSum = 0;
            inst.maxReductionDb = inst.sumReductionDb = 0;
            inst.limitedFrames = inst.countedFrames = 0;
        }
        for (Lane& lane : lanes_) std::fill(lane.work.begin(), lane.work.end(), 0.0f);
    }

    /// The ceiling and the release apply from their frame on, no glide.
    void paramChanged(int instance, int param, std::int64_t) noexcept override {
        if (param == p().ceiling.index)
            updateCeiling(instance);
        else if (param == p().release.index)
            updateRelease(instance);
    }
    void updateCeiling(int i) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        inst.ceiling = dbToGain(value(i, p().ceiling) - safetyDb(inst.attackFrames));
    }
    void updateRelease(int i) noexcept {
        instances_[std::size_t(i)].releaseFactor = releaseFactorFor(value(i, p().release), sampleRate());
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (Instance& inst : instances_) run(ctx, inst, start, frames);
    }

    /// The gain of the next frame (absolute `position`) from its detected peak. Works on ln g:
    /// the release is then one multiply, the attack's mean a geometric one (still <= every value
    /// it averages, which is all the guarantee needs) and the gain reduction in dB comes free.
    float nextGain(Instance& inst, float peak, std::int64_t position) noexcept {
        const double required = double(peak) > inst.ceiling ? std::max(std::log(inst.ceiling / double(peak)), kMinLogGain) : 0.0;
        const std::size_t slots = inst.holdPositions.size();
        while (inst.holdCount > 0) { // drop tail values that can never be the minimum again
            const std::size_t tail = (inst.holdHead + inst.holdCount - 1) % slots;
            if (inst.holdValues[tail] < required) break;
            --inst.holdCount;
        }
        const std::size_t at = (inst.holdHead + inst.holdCount) % slots;
        inst.holdPositions[at] = position;
        inst.holdValues[at] = required;
        ++inst.holdCount;
        while (inst.holdPositions[inst.holdHead] <= position - inst.holdFrames) {
            inst.holdHead = (inst.holdHead + 1) % slots;
            --inst.holdCount;
        }
        const double held = inst.holdValues[inst.holdHead];

        double released = inst.logEnvelope * inst.releaseFactor;
        if (released > kUnityLogThreshold) released = 0.0;
        inst.logEnvelope = std::min(held, released);

        const auto fixed = std::int64_t(std::floor(inst.logEnvelope * kFixedOne));
        inst.boxSum += fixed - inst.box[inst.boxIndex];
        inst.box[inst.boxIndex] = fixed;
        if (++inst.boxIndex == inst.box.size()) inst.boxIndex = 0;
        if (inst.boxSum == 0) {
            if (position >= inst.latencyFrames) ++inst.countedFrames;
            return 1.0f;
        }
        const double logGain = double(inst.boxSum) / (kFixedOne * double(inst.attackFrames));
        const double gain = std::exp(logGain);
        float rounded = float(gain);
        if (double(rounded) > gain) rounded = std::nextafter(rounded, 0.0f);

        if (position >= inst.latencyFrames) {
            ++inst.countedFrames;
            const double reductionDb = -logGain * kDbPerNeper;
            inst.maxReductionDb = std::max(inst.maxReductionDb, reductionDb);
            inst.sumReductionDb += reductionDb;
            if (reductionDb >= kLimitedThresholdDb) ++inst.limitedFrames;
        }
        return rounded;
    }

    /// Frames [start, start + frames) of `inst`; frames <= maxBlockFrames().
    void run(const ProcessContext& ctx, Instance& inst, int start, int frames) noexcept {
        if (frames <= 0) return;
        const int history = inst.latencyFrames;
        std::fill(peak_.begin(), peak_.begin() + frames, 0.0f);
        for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l) {
            float* work = lanes_[std::size_t(l)].work.data();
            std::memcpy(work + history, ctx.inputs[0][l] + start, sizeof(float) * std::size_t(frames));
            accumulateTruePeak_(work + history, frames, peak_.data());
        }
        const std::int64_t position = ctx.position + start;
        bool unity = true;
        for (int i = 0; i < frames; ++i) {
            const float g = nextGain(inst, peak_[std::size_t(i)], position + i);
            gain_[std::size_t(i)] = g;
            unity = unity && g == 1.0f;
        }
        for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l) {
            float* work = lanes_[std::size_t(l)].work.data();
            float* out = ctx.outputs[0][l] + start;
            // Output frame i is input frame i - L: work[history + i - L] = work[i].
            if (unity)
                std::memcpy(out, work, sizeof(float) * std::size_t(frames));
            else
                elementwise().multiplyByCurve(work, gain_.data(), out, frames);
            std::memmove(work, work + frames, sizeof(float) * std::size_t(history));
        }
    }

    std::vector<Instance> instances_;
    std::vector<Lane> lanes_;
    std::vector<float> peak_; ///< detected peak per frame of the current segment
    std::vector<float> gain_; ///< gain per frame of the current segment
    void (*accumulateTruePeak_)(const float*, int, float*) noexcept = nullptr;
};

class LimiterType final : public DeclaredTypeOf<LimiterDecl, LimiterKernel> {
public:
    int latencyFrames(const ParamValues& params, double sampleRate) const override {
        const ParamRef lookahead = declaration<LimiterDecl>().lookahead;
        if (params.size() <= std::size_t(lookahead.index)) return kLimiterMinLatencyFrames;
        return lookaheadFrames(params[std::size_t(lookahead.index)], sampleRate);
    }
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        return sampleRate > 0 ? double(latencyFrames(params, sampleRate)) / sampleRate : 0.0;
    }
    std::string batchKey(const ParamValues&) const override { return "limiter"; }
};

} // namespace

void registerLimiterNodes(Registry& registry) { registry.add(std::make_unique<LimiterType>()); }

} // namespace sg
