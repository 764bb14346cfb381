#include "nodes/dynamics/Limiter.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "core/SeriesRecorder.h"
#include "nodes/filters/BiquadDesign.h"
#include "nodes/utility/Oversampler.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace sg {

namespace {

constexpr double kMinCeilingDbtp = -20, kMaxCeilingDbtp = 0;
constexpr double kMinLookaheadMs = 0.5, kMaxLookaheadMs = 20;
constexpr double kMinReleaseMs = 1, kMaxReleaseMs = 1000;
constexpr double kHighPassOffHz = 10, kMaxHighPassHz = 500;
/// Oversampling of the detector.
constexpr int kDetectionFactor = 8;
/// detect() sorts frames in tiles of this many; its chunk maxima span the filter (T = 174),
/// the frame before and the tile itself: 11 chunks of history (176 frames) and the tile's own.
constexpr int kTileFrames = 16;
constexpr int kHistoryChunks = 11;
static_assert(kHistoryChunks * kTileFrames >= kLimiterDetectionSpan + 1, "the chunks cover the filter's span");
/// The estimates of detect()'s second bound, cheapest first: taps [first, first + count) of each
/// phase, around its centre (86, 87). A tile that the first cannot clear tries the second.
struct EstimateTaps {
    int first, count;
};
constexpr EstimateTaps kEstimates[] = {{80, 16}, {63, 48}};
constexpr int kEstimateLevels = int(std::size(kEstimates));
/// The float refinement can exceed its real-number bound b + |a - c| / 8 by float rounding,
/// at most 1e-3 b (when 2b - a - c rounds to a tiny curvature): the bounds are raised by 2e-3.
constexpr double kRefinementFactor = 1.002;
/// The thresholds' margin (tileThresholds).
constexpr double kThresholdSlack = 1.0 - 1e-6;
/// Pairs of adjacent chunks in a tile's window (pairBounds() has 11): every tap reads one pair
/// from every frame the tile detects (17 consecutive frames meet at most two chunks).
constexpr int kChunkPairs = kHistoryChunks;
/// The float rounding of a weighted sum of 11 pairs (weightedBounds), at most 22 roundings of
/// 2^-24 each: 1.3e-6 relative, taken as 1e-5.
constexpr double kWeightedSumFactor = 1 + 1e-5;
/// A tile's state: quiet, or the index + 1 of the next estimate to try, or exact.
constexpr unsigned char kTileQuiet = 0, kTileEstimate = 1, kTileExact = 1 + kEstimateLevels;

/// The part of the safety that covers meters: a gain that moves within the span of a long
/// reconstruction filter (sox's, 4x) lets a dense, bright signal (clipped noise, hats) read up to
/// 0.39 dB above the peak the detector found; the 16-bit dither and float rounding add < 0.01 dB.
/// Measured per meter: docs/nodes/notes/limiter.md.
constexpr double kMeterMarginDb = 0.3;
/// The gain computer aims this far below the stated ceiling, in dB: 0.02 dB for float rounding,
/// the TPDF dither of a 16-bit file (+-2 LSB, 0.0006 dB at -1 dBFS) and the spread between meters'
/// interpolators, plus 1 dB / A for the small overs a gain that still moves within the span of
/// the interpolation filter can leave when peaks of different heights cluster (about 1/A).
/// Measured margins per meter: docs/nodes/notes/limiter.md.
double safetyDb(int attackFrames) { return kMeterMarginDb + 1.0 / double(attackFrames); }
/// Log gains (ln g <= 0) are summed as integers in units of 2^-36 (exact, no drift; 200 dB over
/// 768 kHz x 20 ms fits in 2^55).
constexpr double kFixedOne = 68719476736.0; // 2^36

/// Pushes floor(envelope * 2^36), exactly (|value| < 2^41: the conversions are exact), into the
/// box average's ring at `index` (advanced, wrapping at `size`); returns the ring's new sum.
inline std::int64_t pushBox(double envelope, std::int64_t* box, std::size_t size, std::size_t& index, std::int64_t sum) noexcept {
    const double scaled = envelope * kFixedOne;
    std::int64_t fixed = std::int64_t(scaled);
    if (double(fixed) > scaled) --fixed;
    sum += fixed - box[index];
    box[index] = fixed;
    if (++index == size) index = 0;
    return sum;
}
/// The deepest gain reduction, as ln g (200 dB): keeps the fixed-point sums in range.
constexpr double kMinLogGain = -23.025850929940457;
/// A released ln g this close to 0 is 0 again (so the output returns to bit-exact).
constexpr double kUnityLogThreshold = -1.0 / 16777216.0; // -2^-24 (5e-7 dB)
/// dB per unit of ln g: 20 / ln 10.
constexpr double kDbPerNeper = 8.685889638065037;
/// A frame counts as limited (limited_percent, and the program-dependent release's duty) from
/// this much gain reduction on, in dB.
constexpr double kLimitedThresholdDb = 0.1;
/// Time constant of the duty d[n] of the program-dependent release, seconds.
constexpr double kDutySeconds = 1.0;
/// At full adaptive release, sustained limiting releases this many times slower (1 + 4).
constexpr double kAdaptiveSpan = 4.0;
/// Values per second of the gain_reduction_db series.
constexpr double kSeriesRate = 10.0;

/// setLimiterExhaustiveDetection(): read when a limiter is prepared.
std::atomic<bool> exhaustiveDetection{false};
/// LimiterGainTapeScope: read when a limiter is prepared, on the thread that prepares it.
thread_local LimiterGainTape* scopedTape = nullptr;
thread_local bool scopedReplay = false;
/// LimiterPeakFeedScope: read likewise.
thread_local LimiterPeakFeed* scopedFeed = nullptr;
thread_local bool scopedDetectOnly = false;

/// Latency in frames for a lookahead in ms at `sampleRate`.
int lookaheadFrames(double lookaheadMs, double sampleRate) {
    const long long frames = std::llround(lookaheadMs * sampleRate / 1000.0);
    return int(std::max<long long>(kLimiterMinLatencyFrames, frames));
}

/// Per-frame factor of a release on ln g with time constant `releaseMs`.
double releaseFactorFor(double releaseMs, double sampleRate) {
    return std::exp(-1000.0 / (std::max(releaseMs, kMinReleaseMs) * sampleRate));
}

struct LimiterDecl {
    NodeDecl decl{"limiter", "dynamics"};
    SteppedParam ceiling =
        decl.param("ceiling")
            .truePeak(kMinCeilingDbtp, kMaxCeilingDbtp)
            .defaultValue(-1)
            .describe("Highest true peak of the output, on any honest meter (BS.1770 Annex 2 4x, libebur128, ffmpeg "
                      "ebur128, 8x interpolators; a near-ideal 4x resampler within 0.1 dB). A change applies from its "
                      "frame on.")
            .stepped();
    FixedParam lookahead = decl.param("lookahead")
                               .time(kMinLookaheadMs, kMaxLookaheadMs)
                               .defaultValue(5)
                               .describe("How far ahead peaks are seen; also the latency (at least 220 frames: the "
                                         "detection filter's span of 174 and an attack of 48). The gain falls over "
                                         "lookahead - 172 frames. Fixed when the graph is compiled.")
                               .fixed();
    SteppedParam release = decl.param("release")
                               .time(kMinReleaseMs, kMaxReleaseMs)
                               .defaultValue(50)
                               .describe("Time constant of the recovery once a peak has passed: the gain reduction in dB "
                                         "decays as exp(-t / release) (longer under adaptive_release).")
                               .stepped();
    SteppedParam sidechainHpf = decl.param("sidechain_hpf")
                                    .frequency(kHighPassOffHz, kMaxHighPassHz)
                                    .defaultValue(kHighPassOffHz)
                                    .describe("High-pass (2nd-order Butterworth) on what drives the release, so the low "
                                              "end does not hold the gain down; a full-band guard with the lookahead as "
                                              "release still keeps the ceiling. 10 Hz (the minimum) is off.")
                                    .stepped();
    SteppedParam adaptiveRelease =
        decl.param("adaptive_release")
            .percent(0, 100)
            .defaultValue(0)
            .describe("Program-dependent release: the release time is multiplied by 1 + 4 a d, a = this share, d = the "
                      "share of the last second spent limiting (one-pole, 1 s). 0 % is a fixed release.")
            .stepped();

    LimiterDecl() {
        decl.describe("True-peak lookahead limiter: the 8x-oversampled peak of the output never exceeds the ceiling on "
                      "any honest true-peak meter; one gain for all channels.")
            .input("in", "signal, any number of channels (limited together)")
            .output("out", "limited signal, delayed by the lookahead")
            .channelRule("out has the channels of in")
            .batchable()
            .inPlace()
            .reference(
                "Detection: p[n] = max over channels of |x|, of the BS.1770-5 Annex 2 4x values and of an 8x polyphase "
                "interpolation (Kaiser-windowed sinc, "
                "174 taps per phase, flat to 0.475 fs, images from 0.5 fs rejected by 70 dB; nodes/utility/Oversampler.h), each "
                "local "
                "maximum refined by a parabola through it and its neighbours; r[n] = min(1, C / p[n]), C = the ceiling "
                "lowered by 0.3 dB + 1 dB / A (a gain moving within a long reconstruction filter's span lets dense bright "
                "material read higher on sharp meters; measured). Gain, in ln g: h = min of ln r over the last L + 2 frames "
                "(monotonic "
                "deque), e[n] = min(h[n], c e[n-1]) with c = exp(-1 / (tau fs)), tau = release (1 + 4 a d), d = share "
                "of the last second limited by >= 0.1 dB (program-dependent release, a = adaptive_release), "
                "g = exp(mean of e over the last A = L - 172 frames) (attack; exact fixed-point sum), y[n] = g[n] x[n - L], "
                "L = latency = max(220, lookahead * fs) frames. The mean is below the required gain across the whole "
                "174-frame span of the interpolation filter around every peak. With sidechain_hpf, e is driven by the "
                "Annex 2 true peak of the high-passed signal and a full-band guard (release = lookahead) keeps the "
                "ceiling. Below the ceiling y[n] = x[n - L] exactly. Reports max_gain_reduction_db, "
                "mean_gain_reduction_db (over all frames), limited_percent (frames with at least 0.1 dB of gain "
                "reduction) and the series gain_reduction_db (max per 100 ms). References: ITU-R BS.1770-5 Annex 2; "
                "Kaiser, \"Nonrecursive digital filter design using the I0-sinh window function\" (1974); "
                "G. Signalsmith, \"Lookahead limiter\" (2022).");
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
    void series(int instance, std::vector<MeasurementSeries>& out) const override {
        if (instance < 0 || std::size_t(instance) >= instances_.size()) return;
        out.push_back(instances_[std::size_t(instance)].reductionSeries.snapshot("gain_reduction_db", "dB"));
    }

private:
    /// Sliding minimum over the values of the last `frames` positions (van Herk / Gil-Werman,
    /// streaming): positions are cut into chunks of `frames`; the window ending in chunk c at
    /// offset o is the previous chunk's suffix from o + 1 and chunk c's prefix to o, so a push
    /// costs two minima, plus one per value when a chunk completes (its suffix minima), whatever
    /// the window and without branches on the data. Values are <= 0 (ln r) and 0 stands for
    /// "no value": an empty window and missing positions read as 0, as a deque that expires its
    /// entries by position would give. The minimum of the same values, so the same bits.
    struct HoldMin {
        std::vector<double> chunk;  ///< the current chunk's values, [0, offset)
        std::vector<double> suffix; ///< previous chunk: suffix[j] = min(values j .. frames - 1), suffix[frames] = 0
        double prefix = 0;          ///< min of the current chunk's values
        int offset = 0;             ///< position of the next value in its chunk
        int frames = 1;
        std::int64_t next = 0; ///< the position that continues the stream
        void allocate(int holdFrames) {
            frames = holdFrames;
            chunk.assign(std::size_t(holdFrames), 0.0);
            suffix.assign(std::size_t(holdFrames) + 1, 0.0);
            clear();
        }
        void clear() noexcept {
            std::fill(suffix.begin(), suffix.end(), 0.0);
            prefix = 0;
            offset = 0;
            next = 0;
        }
        double append(double value) noexcept {
            chunk[std::size_t(offset)] = value;
            prefix = offset == 0 ? value : std::min(prefix, value);
            const double held = std::min(suffix[std::size_t(offset) + 1], prefix);
            if (++offset == frames) {
                double most = 0;
                for (int j = frames - 1; j >= 0; --j) suffix[std::size_t(j)] = most = std::min(chunk[std::size_t(j)], most);
                offset = 0;
            }
            return held;
        }
        /// Whether the window ending before `position` holds only zeros and `position` continues
        /// the stream: then appendZeros() may stand for that many pushes of 0 (each returning 0).
        bool zeroAt(std::int64_t position) const noexcept {
            return position == next && (offset == 0 || prefix == 0) && suffix[std::size_t(offset) + 1] == 0;
        }
        /// `count` pushes of 0 from a zero window (zeroAt()): the same state as the pushes leave,
        /// whose results would all be 0. Each chunk it completes holds only 0 (prefix == 0), so
        /// its suffix minima are 0 (suffix[0] == 0 says they all are already: suffix minima are
        /// nondecreasing and <= 0), and its values are never read again; only the chunk it
        /// leaves open needs its zeros written, for the completion that reads them.
        void appendZeros(int count) noexcept {
            next += count;
            const std::int64_t total = std::int64_t(offset) + count;
            if (total >= frames) {
                if (suffix[0] != 0) std::fill_n(suffix.begin(), frames, 0.0);
                offset = 0;
            }
            const int end = int(total % frames);
            std::fill(chunk.begin() + offset, chunk.begin() + end, 0.0);
            offset = end;
            prefix = 0;
        }
        double push(double value, std::int64_t position) noexcept {
            if (position != next) { // a gap reads as 0 (no value); a step back starts afresh
                if (position < next)
                    clear();
                else
                    for (std::int64_t m = std::max(next, position - frames); m < position; ++m) append(0.0);
            }
            next = position + 1;
            return append(value);
        }
    };
    struct Instance {
        int firstLane = 0, lanes = 0;
        int latencyFrames = kLimiterMinLatencyFrames; ///< L
        int attackFrames = 2;                         ///< A = L - T + 2
        double ceiling = 1;                           ///< linear, safety margin included
        double releaseMs = 50;
        double releaseFactor = 0; ///< c per frame at d = 0
        double adaptive = 0;      ///< a, 0 .. 1
        double guardFactor = 0;   ///< c_g per frame (release = lookahead)
        bool highPass = false;    ///< sidechain high-pass on
        biquad::Section highPassSection{};
        HoldMin hold, sideHold;
        double logEnvelope = 0;        ///< ln e[n-1]
        double guardEnvelope = 0;      ///< ln e_g[n-1]
        double duty = 0;               ///< d[n-1]
        std::vector<std::int64_t> box; ///< last A values of ln e, fixed point
        std::size_t boxIndex = 0;
        std::int64_t boxSum = 0;
        SeriesRecorder reductionSeries;
        // Statistics over output frames from L on.
        double maxReductionDb = 0, sumReductionDb = 0;
        std::int64_t limitedFrames = 0, countedFrames = 0;
    };
    struct Lane {
        std::vector<float> work; ///< [L frames of history | this block]: the delay line
        biquad::SectionState highPassState;
        std::vector<float> side; ///< [kSideHistory | this block]: the high-passed signal
    };

    /// The high-passed sidechain is detected with the Annex 2 filter (centred 5.875 frames back)
    /// but read kSideDelay frames later, so it lines up with the 8x detector (centred T/2 back).
    int sideDelay_ = 0;
    int sideHistory_ = 0;

    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        accumulateTruePeak_ = SG_SIMD_PICK(spec.simd, accumulateTruePeak);
        accumulateMagnitude_ = SG_SIMD_PICK(spec.simd, accumulateMagnitude);
        chunkMagnitudes_ = SG_SIMD_PICK(spec.simd, chunkMagnitudes);
        accumulateCrests_ = SG_SIMD_PICK(spec.simd, accumulateCrests);
        crestBound_ = SG_SIMD_PICK(spec.simd, crestBound);
        fir_ = SG_SIMD_PICK(spec.simd, firAlongTime);
        exhaustive_ = exhaustiveDetection.load(std::memory_order_relaxed);
        tape_ = scopedTape;
        replay_ = tape_ && scopedReplay;
        if (tape_ && instanceCount() != 1) return "limiter: a gain tape takes the gains of one limiter";
        feed_ = scopedFeed;
        detectOnly_ = feed_ && scopedDetectOnly;
        if (feed_ && instanceCount() != 1) return "limiter: a peak feed takes the peaks of one limiter";
        if (detectOnly_ && replay_) return "limiter: a detect-only limiter cannot replay a gain tape";
        const OversamplerDesign design = detectionOversampling(kDetectionFactor);
        taps_ = oversamplerTapsPerPhase(design);
        if (taps_ != kLimiterDetectionSpan) return "limiter: detection filter span differs from the declared minimum latency";
        prepareDetection(design);
        sideDelay_ = std::max(0, taps_ / 2 - 6);
        sideHistory_ = kTruePeakHistoryFrames + sideDelay_;
        peak_.assign(std::size_t(maxBlockFrames()), 0.0f);
        sidePeak_.assign(std::size_t(maxBlockFrames()), 0.0f);
        gain_.assign(std::size_t(maxBlockFrames()), 1.0f);
        reductions_.assign(std::size_t(maxBlockFrames()), 0.0f);
        sums_.assign(std::size_t(maxBlockFrames()), 0.0);
        logGains_.assign(std::size_t(maxBlockFrames()), 0.0);
        floored_.assign(std::size_t(maxBlockFrames()), 0.0);
        dutyFactor_ = 1.0 - std::exp(-1.0 / (kDutySeconds * sampleRate()));
        attackGains_ = SG_SIMD_PICK(spec.simd, attackGains);
        firstNonzero_ = SG_SIMD_PICK(spec.simd, firstNonzero);
        endOfNonzero_ = SG_SIMD_PICK(spec.simd, endOfNonzero);
        firstAbove_ = SG_SIMD_PICK(spec.simd, firstAbove);
        allUnity_ = SG_SIMD_PICK(spec.simd, allUnity);
        tileMaxima_ = SG_SIMD_PICK(spec.simd, tileMaxima);
        pairBounds_ = SG_SIMD_PICK(spec.simd, pairBounds);
        instances_.clear();
        lanes_.clear();
        for (int i = 0; i < instanceCount(); ++i) {
            Instance inst;
            inst.firstLane = lanes(i).firstInput;
            inst.lanes = lanes(i).inputs;
            inst.latencyFrames = lookaheadFrames(value(i, p().lookahead), sampleRate());
            inst.attackFrames = inst.latencyFrames - taps_ + 2;
            // H = L + 2: one frame more than the filter's span needs, for a parabola's crest that
            // lies one 8x step back, in the previous frame.
            inst.hold.allocate(inst.latencyFrames + 2);
            inst.sideHold.allocate(inst.latencyFrames + 2);
            inst.box.assign(std::size_t(inst.attackFrames), 0);
            inst.guardFactor = releaseFactorFor(1000.0 * inst.latencyFrames / sampleRate(), sampleRate());
            inst.reductionSeries.prepare(sampleRate(), kSeriesRate, SeriesRecorder::Reduction::Max);
            instances_.push_back(std::move(inst));
            for (int c = 0; c < lanes(i).inputs; ++c) {
                Lane lane;
                // + one tile: the last tile's magnitude may read past the block (conservative).
                lane.work.assign(std::size_t(instances_.back().latencyFrames + maxBlockFrames() + kTileFrames), 0.0f);
                lane.side.assign(std::size_t(sideHistory_ + maxBlockFrames()), 0.0f);
                lanes_.push_back(std::move(lane));
            }
            updateCeiling(i);
            updateRelease(i);
            updateHighPass(i);
        }
        return {};
    }

    void clearState() noexcept override {
        for (Instance& inst : instances_) {
            inst.hold.clear();
            inst.sideHold.clear();
            inst.logEnvelope = inst.guardEnvelope = inst.duty = 0.0;
            std::fill(inst.box.begin(), inst.box.end(), 0);
            inst.boxIndex = 0;
            inst.boxSum = 0;
            inst.reductionSeries.reset();
            inst.maxReductionDb = inst.sumReductionDb = 0;
            inst.limitedFrames = inst.countedFrames = 0;
        }
        for (Lane& lane : lanes_) {
            std::fill(lane.work.begin(), lane.work.end(), 0.0f);
            std::fill(lane.side.begin(), lane.side.end(), 0.0f);
            lane.highPassState.clear();
        }
    }

    /// Every parameter but the lookahead applies from its frame on, no glide.
    void paramChanged(int instance, int param, std::int64_t) noexcept override {
        if (param == p().ceiling.index)
            updateCeiling(instance);
        else if (param == p().release.index || param == p().adaptiveRelease.index)
            updateRelease(instance);
        else if (param == p().sidechainHpf.index)
            updateHighPass(instance);
    }
    void updateCeiling(int i) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        inst.ceiling = dbToGain(value(i, p().ceiling) - safetyDb(inst.attackFrames));
    }
    void updateRelease(int i) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        inst.releaseMs = value(i, p().release);
        inst.releaseFactor = releaseFactorFor(inst.releaseMs, sampleRate());
        inst.adaptive = value(i, p().adaptiveRelease) / 100.0;
    }
    void updateHighPass(int i) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        const double hz = value(i, p().sidechainHpf);
        const bool was = inst.highPass;
        inst.highPass = hz > kHighPassOffHz;
        if (inst.highPass)
            inst.highPassSection = biquad::cookbookSection(biquad::Shape::Highpass, hz, 0.7071067811865476, 0, sampleRate());
        if (inst.highPass && !was) { // the side path starts from rest, in step with the main one
            inst.sideHold.clear();
            for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l) lanes_[std::size_t(l)].highPassState.clear();
        }
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (Instance& inst : instances_) run(ctx, inst, start, frames);
    }

    double requiredLogGain(const Instance& inst, float peak) const noexcept {
        return double(peak) > inst.ceiling ? std::max(std::log(inst.ceiling / double(peak)), kMinLogGain) : 0.0;
    }

    /// Advances the gain computer by one frame from its detected peaks (absolute `position`) and
    /// returns the attack's box sum, ln g of the frame times 2^36 A. Works on ln g: the release is
    /// then one multiply, the attack's mean a geometric one (still <= every value it averages,
    /// which is all the guarantee needs) and the gain reduction in dB comes free. The serial part
    /// of the gain; gainCurve() turns the sums into gains and statistics a segment at a time.
    double advance(Instance& inst, float peak, float sidePeak, std::int64_t position) noexcept {
        const double held = inst.hold.push(requiredLogGain(inst, peak), position);
        double factor = inst.releaseFactor;
        if (inst.adaptive > 0) {
            const double tau = inst.releaseMs * (1.0 + kAdaptiveSpan * inst.adaptive * inst.duty);
            factor = releaseFactorFor(tau, sampleRate());
        }
        if (inst.highPass) {
            const double sideHeld = inst.sideHold.push(requiredLogGain(inst, sidePeak), position);
            double released = inst.logEnvelope * factor;
            if (released > kUnityLogThreshold) released = 0.0;
            inst.logEnvelope = std::min(sideHeld, released);
            double guard = inst.guardEnvelope * inst.guardFactor;
            if (guard > kUnityLogThreshold) guard = 0.0;
            inst.guardEnvelope = std::min(held, guard);
        } else {
            double released = inst.logEnvelope * factor;
            if (released > kUnityLogThreshold) released = 0.0;
            inst.logEnvelope = std::min(held, released);
            inst.guardEnvelope = 0.0;
        }
        const double envelope = std::min(inst.logEnvelope, inst.guardEnvelope);
        if (inst.adaptive > 0) {
            const double limited = -envelope * kDbPerNeper >= kLimitedThresholdDb ? 1.0 : 0.0;
            inst.duty += (limited - inst.duty) * dutyFactor_;
        }

        inst.boxSum = pushBox(envelope, inst.box.data(), inst.box.size(), inst.boxIndex, inst.boxSum);
        return double(inst.boxSum);
    }

    /// A run of frames whose held value is +0 (advanceFixedRelease): the release alone, one
    /// multiply per frame, into the box and its sums. Out of line so that the envelope, the
    /// recursion's chain, stays in a register (inlined, it went through the stack: a store and
    /// a load per frame on the chain, about twice the multiply's latency). Returns the envelope.
    [[gnu::noinline]] static double releaseRun(double envelope, double factor, std::int64_t* box, std::size_t boxSize,
                                               std::size_t& index, std::int64_t& sum, double* sums, int count) noexcept {
        std::size_t at = index;
        std::int64_t total = sum;
        for (int j = 0; j < count; ++j) {
            double released = envelope * factor;
            if (released > kUnityLogThreshold) released = 0.0;
            envelope = std::min(0.0, released); // held = +0
            total = pushBox(envelope, box, boxSize, at, total);
            sums[j] = double(total);
        }
        index = at;
        sum = total;
        return envelope;
    }

    /// advance() over the segment for the usual settings (no sidechain high-pass, fixed
    /// release), with the state in locals: the same operations in the same order, so the same
    /// bits, without the reloads the compiler must do when the stores to sums_ may alias the
    /// instance.
    void advanceFixedRelease(Instance& inst, std::int64_t position, int frames) noexcept {
        const double ceiling = inst.ceiling, factor = inst.releaseFactor;
        double envelope = inst.logEnvelope;
        std::int64_t sum = inst.boxSum;
        std::int64_t* box = inst.box.data();
        const std::size_t boxSize = inst.box.size();
        std::size_t index = inst.boxIndex;
        const float* peaks = peak_.data();
        double* sums = sums_.data();
        // double(p) > ceiling for a float p exactly when p > the largest float <= ceiling.
        const float overFloat = floorToFloat(ceiling);
        for (int i = 0; i < frames; ++i) {
            // With the hold's window all 0, frames whose peak is at most the ceiling push 0 and
            // read a held value of exactly +0: the release runs without the hold, which takes
            // the run of zeros in one step. At rest (envelope and box all 0 too) they keep
            // everything at 0 and add sums of 0. The same operations on the same values, so
            // the same state and bits.
            if (inst.hold.zeroAt(position + i)) {
                const int end = i + firstAbove_(peaks + i, frames - i, overFloat);
                if (end > i) {
                    if (envelope == 0.0 && sum == 0) {
                        // Every box entry is <= 0 and they sum to 0: all are 0, as the run leaves them.
                        std::fill(sums + i, sums + end, 0.0);
                        index = (index + std::size_t(end - i)) % boxSize;
                    } else {
                        envelope = releaseRun(envelope, factor, box, boxSize, index, sum, sums + i, end - i);
                    }
                    inst.hold.appendZeros(end - i);
                    i = end - 1;
                    continue;
                }
            }
            const double peak = double(peaks[i]);
            const double required = peak > ceiling ? std::max(std::log(ceiling / peak), kMinLogGain) : 0.0;
            const double held = inst.hold.push(required, position + i);
            double released = envelope * factor;
            if (released > kUnityLogThreshold) released = 0.0;
            envelope = std::min(held, released);
            sum = pushBox(envelope, box, boxSize, index, sum);
            sums[i] = double(sum);
        }
        inst.logEnvelope = envelope;
        inst.guardEnvelope = 0.0;
        inst.boxSum = sum;
        inst.boxIndex = index;
    }

    /// gain_[i] for the segment's box sums sums_[i], i < frames (first frame at absolute
    /// `position`), and the statistics of its counted frames; returns whether every gain is 1.
    ///
    /// g = e^(sum / (2^36 A)) rounded down to a float, exactly as std::exp would give it: the
    /// vector exp's guess v is within 2^-51 of e^x and libm's within 2^-52 (glibc: < 1 ulp), so
    /// both lie in [v (1 - 2^-50), v (1 + 2^-50)]; where the two ends round down to the same
    /// float, that float is the answer, and otherwise (a float boundary within 1e-15 of v,
    /// about one frame in 10^7) std::exp decides. A sum of 0 is a gain of exactly 1.
    bool gainCurve(Instance& inst, std::int64_t position, int frames) noexcept {
        // Only the frames from the first to the last nonzero sum need the exp (none when quiet).
        const int begin = firstNonzero_(sums_.data(), frames);
        const int end = begin + endOfNonzero_(sums_.data() + begin, frames - begin);
        std::fill(gain_.begin(), gain_.begin() + begin, 1.0f);
        std::fill(gain_.begin() + end, gain_.begin() + frames, 1.0f);
        bool unity = begin == end;
        if (!unity) {
            attackGains_(sums_.data() + begin, end - begin, kFixedOne * double(inst.attackFrames), logGains_.data() + begin,
                         floored_.data() + begin);
            for (int i = begin; i < end; ++i) gain_[std::size_t(i)] = float(floored_[std::size_t(i)]); // exact
            for (int i = begin; i < end; ++i)
                if (floored_[std::size_t(i)] < 0) gain_[std::size_t(i)] = floorToFloat(std::exp(logGains_[std::size_t(i)]));
            unity = allUnity_(gain_.data() + begin, end - begin);
        }
        // Statistics over the output frames that carry input (absolute position >= L), in frame
        // order (the sum's rounding then does not depend on the block split).
        const int first = int(std::clamp<std::int64_t>(inst.latencyFrames - position, 0, frames));
        double most = inst.maxReductionDb, sum = inst.sumReductionDb;
        std::int64_t limited = 0;
        // A frame at gain 1 has ln g = 0: it adds -0 to the sum (no change), to the maximum (>= +0)
        // nothing, and 0 (+0) to the series; those before `begin` and from `end` on are skipped.
        std::fill(reductions_.begin(), reductions_.begin() + (frames - first), 0.0f);
        for (int i = std::max(first, begin); i < end; ++i) {
            const double reductionDb = -logGains_[std::size_t(i)] * kDbPerNeper;
            most = std::max(most, reductionDb);
            sum += reductionDb;
            limited += reductionDb >= kLimitedThresholdDb ? 1 : 0;
            reductions_[std::size_t(i - first)] = float(reductionDb) + 0.0f;
        }
        inst.maxReductionDb = most;
        inst.sumReductionDb = sum;
        inst.limitedFrames += limited;
        inst.countedFrames += frames - first;
        reductionCount_ = std::size_t(frames - first);
        return unity;
    }

    /// The largest float <= `value` (value positive and normal as a float: e^-23 <= value <= 1).
    static float floorToFloat(double value) noexcept {
        float rounded = float(value);
        if (double(rounded) > value) rounded = std::bit_cast<float>(std::bit_cast<std::uint32_t>(rounded) - 1u);
        return rounded;
    }

    /// The detection filter's phases as float, [8][T], and the bounds that let detect() skip it.
    void prepareDetection(const OversamplerDesign& design) {
        const std::vector<double> h = oversamplerPrototype(design);
        coefficients_.assign(std::size_t(kDetectionFactor * taps_), 0.0f);
        double sumMagnitude = 0;
        for (int k = 0; k < kDetectionFactor; ++k) {
            double phaseSum = 0;
            for (int j = 0; j < taps_; ++j) {
                const float c = float(h[std::size_t(j * kDetectionFactor + k)]);
                coefficients_[std::size_t(k * taps_ + j)] = c;
                phaseSum += std::fabs(double(c));
            }
            sumMagnitude = std::max(sumMagnitude, phaseSum);
        }
        // A quiet tile skips the Annex 2 values too (run()): each is a float sum of 12 products,
        // |v| <= (1 + 13 2^-24) sum_j |a_k[j]| M (+ 12 subnormal steps, far below any ceiling),
        // and |x| <= M (M: the window's largest chunk).
        double annexMagnitude = 1;
        for (const auto& annexPhase : kAnnex2Phases) {
            double phaseSum = 0;
            for (const float c : annexPhase) phaseSum += std::fabs(double(c));
            annexMagnitude = std::max(annexMagnitude, phaseSum);
        }
        annexFactor_ = annexMagnitude * (1 + 1e-5);
        // The 8x filter's bounds (detect()), chunk by chunk: tap j of frame 16 t + o (o = -1 .. 15,
        // the frames a tile detects) reads chunk t + 11 + floor((o - j) / 16) of the window, one of the pair
        // p(j) = 11 + floor((-1 - j) / 16) and p(j) + 1. Per phase, the sum of |h_k| over the taps
        // of each pair (all of them, and those outside each estimate) times the pair's maximum
        // bounds |z| (and |z - estimate|) without taking the window's loudest chunk for every tap.
        // Each float weight is rounded up.
        std::array<std::array<double, kChunkPairs>, kDetectionFactor> all{};
        std::array<std::array<std::array<double, kChunkPairs>, kDetectionFactor>, kEstimateLevels> outside{};
        for (int k = 0; k < kDetectionFactor; ++k)
            for (int j = 0; j < taps_; ++j) {
                const auto p = std::size_t(kHistoryChunks - (j + kTileFrames) / kTileFrames); // 11 + floor((-1 - j) / 16)
                const double magnitude = std::fabs(double(coefficients_[std::size_t(k * taps_ + j)]));
                all[std::size_t(k)][p] += magnitude;
                for (int e = 0; e < kEstimateLevels; ++e)
                    if (j < kEstimates[e].first || j >= kEstimates[e].first + kEstimates[e].count)
                        outside[std::size_t(e)][std::size_t(k)][p] += magnitude;
            }
        const auto roundUp = [](double w) {
            return w > 0 ? std::nextafter(float(w), std::numeric_limits<float>::infinity()) : 0.0f;
        };
        for (int k = 0; k < kDetectionFactor; ++k)
            for (int p = 0; p < kChunkPairs; ++p) {
                pairWeights_[0][std::size_t(k)][std::size_t(p)] = roundUp(all[std::size_t(k)][std::size_t(p)]);
                for (int e = 0; e < kEstimateLevels; ++e)
                    pairWeights_[std::size_t(1 + e)][std::size_t(k)][std::size_t(p)] =
                        roundUp(outside[std::size_t(e)][std::size_t(k)][std::size_t(p)]);
            }
        weightSums_ = 0; // max over k of sum_p pairWeights_[0][k][p], each sum rounded up
        for (const auto& phaseWeights : pairWeights_[0]) {
            double sum = 0;
            for (const float w : phaseWeights) sum += double(w);
            weightSums_ = std::max(weightSums_, sum * (1 + 1e-12));
        }
        // The float rounding of a sum over the 174 taps is < 1e-4 of sum |h_k| |x| (detect()).
        roundingFactor_ = 1e-4 * sumMagnitude;
        const std::size_t padded = std::size_t(maxBlockFrames()) + 1 + kTileFrames;
        for (auto& phase : phases_) phase.assign(padded, 0.0f);
        bound_.assign(padded, 0.0f);
        chunks_.assign(std::size_t(maxBlockFrames() / kTileFrames + 2 + kHistoryChunks), 0.0f);
        windowMaxima_.assign(std::size_t(maxBlockFrames() / kTileFrames + 2), 0.0f);
        // pairBounds() works in whole batches (at most 16 tiles): room for one more past the end.
        chunks_.resize(chunks_.size() + kTileFrames, 0.0f);
        for (auto& bound : weightedBound_) bound.assign(windowMaxima_.size() + kTileFrames, 0.0f);
        tileState_.assign(std::size_t(maxBlockFrames() / kTileFrames + 2), 0);
        threshold_.assign(std::size_t(maxBlockFrames() / kTileFrames + 2), 0.0);
        released_.assign(threshold_.size(), 0.0);
    }

    /// Phase k of the 8x signal (or its estimate) at frame i of the segment: phase(k)[i], i >= -1.
    float* phase(int k) noexcept { return phases_[std::size_t(k)].data() + 1; }

    /// Runs `fir` over frames [first, end) of the phases from the segment's input `x`, with
    /// `taps` coefficients of each phase starting at tap `firstTap`.
    void interpolate(const float* x, int first, int end, int firstTap, int taps) noexcept {
        for (int k = 0; k < kDetectionFactor; ++k)
            fir_(x + first - firstTap, end - first, coefficients_.data() + std::size_t(k * taps_ + firstTap), taps,
                 phase(k) + first, false);
    }

    /// peak_[i] = max(peak_[i], |x[i - T/2]|, the refined 8x peaks of frame i) for one lane, where
    /// `input` = x[0 ..] of the segment with T + 1 frames of history before it.
    ///
    /// Only the frames whose 8x peak can exceed the ceiling C matter (nextGain() ignores a peak
    /// at or below C), so tiles of 16 frames are sorted by two rigorous upper bounds first:
    ///   1. |z| <= sum_j |h_k[j]| |x[i - j]| <= W = max_k sum_p w_k[p] M_p, where M_p is the
    ///      larger of two adjacent 16-frame chunk maxima of the window and w_k[p] the sum of
    ///      |h_k| over the taps that read that pair, and a refined crest is at most 9/8 of its
    ///      middle point: 1.125 W <= C means nothing to detect (quiet material never runs the
    ///      filter). Against ||h_k||_1 times the window's largest chunk (3.0 M on the default
    ///      filter), the pairs follow the signal's envelope: on a limited master, 31 % fewer
    ///      lane-frames reach the estimates and 29 % fewer the second one;
    ///   2. an estimate from the 16 (then 48) central taps of each phase is within e of the
    ///      exact value, e the same weighted sum over the taps outside them (plus the float
    ///      rounding of both sums), and a crest through a, b, c exceeds b by at most
    ///      |a - c| / 8: crestBound + 1.25 e <= C means nothing to detect either.
    /// The remaining tiles run the full 174-tap phases and the refinement. A skipped tile's
    /// peaks would all have been <= C, so the gains, and the output, are bit-identical to
    /// detecting every frame; the bounds only decide how fast.
    void detect(const float* input, const float* delayed, int frames) noexcept {
        accumulateMagnitude_(delayed, frames, peak_.data());
        const int tiles = (frames + kTileFrames - 1) / kTileFrames;
        if (exhaustive_) {
            std::fill_n(tileState_.begin(), tiles, kTileExact);
            forRuns(tiles, frames, kTileExact, [&](int first, int end) {
                interpolate(input, first - 1, end, 0, taps_);
                const float* z[kDetectionFactor];
                for (int k = 0; k < kDetectionFactor; ++k) z[k] = phase(k) + first;
                accumulateCrests_(z, end - first, peak_.data() + first);
            });
            return;
        }
        chunkMagnitudes_(input - kHistoryChunks * kTileFrames, tiles + kHistoryChunks, chunks_.data());
        // Level 1: tiles whose window (the filter's span, the frame before, one tile) is quiet.
        // The windows' maxima chunk by chunk over all tiles at once, std::max's answer (a NaN
        // chunk is passed over) in loops the compiler vectorises; one window at a time, the
        // running maximum went through memory on every chunk.
        float* windows = windowMaxima_.data();
        std::fill_n(windows, tiles, 0.0f);
        for (int c = 0; c <= kHistoryChunks; ++c) {
            const float* chunk = chunks_.data() + c;
            for (int t = 0; t < tiles; ++t) windows[t] = windows[t] < chunk[t] ? chunk[t] : windows[t];
        }
        // First by the window's loudest chunk for every tap (sum_p w_k[p] M_p <= (sum_p w_k[p])
        // max M_p), which settles most tiles of most material without the pair sums; then the
        // pair sums for the runs of tiles that are left.
        constexpr double quietFactor = 1.125 * (1 + 1e-4) * kRefinementFactor * kWeightedSumFactor;
        const double wholeWindowFactor = std::max(quietFactor * weightSums_, annexFactor_);
        for (int t = 0; t < tiles; ++t) {
            // (a window with an infinite chunk is never quiet: its Annex 2 term is infinite)
            const double quietAt = wholeWindowFactor * double(windows[t]);
            tileState_[std::size_t(t)] =
                quietAt <= thresholdCeiling_ || quietAt <= thresholdOf(t) ? kTileQuiet : kTileEstimate; // inf: not quiet
        }
        forRuns(tiles, frames, kTileEstimate, [&](int first, int end) {
            const int firstTile = first / kTileFrames, endTile = (end + kTileFrames - 1) / kTileFrames;
            weightedBounds(0, firstTile, endTile);
            for (int t = firstTile; t < endTile; ++t) {
                const double quietAt =
                    std::max(quietFactor * double(weightedBound_[0][std::size_t(t)]), annexFactor_ * double(windows[t]));
                if (quietAt <= thresholdCeiling_ || quietAt <= thresholdOf(t)) tileState_[std::size_t(t)] = kTileQuiet;
            }
        });
        // Level 2: runs of loud tiles get the estimates, cheapest first, until one rules an over
        // out. (`!(x <= C)`: a NaN bound runs the filter.)
        for (int e = 0; e < kEstimateLevels; ++e) {
            const auto level = static_cast<unsigned char>(kTileEstimate + e);
            forRuns(tiles, frames, level, [&](int first, int end) {
                weightedBounds(1 + e, first / kTileFrames, (end + kTileFrames - 1) / kTileFrames);
                interpolate(input, first - 1, end, kEstimates[e].first, kEstimates[e].count);
                const float* z[kDetectionFactor];
                for (int k = 0; k < kDetectionFactor; ++k) z[k] = phase(k) + first;
                crestBound_(z, end - first, bound_.data() + first);
                // b * 1.002 + slack rises with b (each rounding is monotone), so a tile has a
                // frame over its threshold exactly when its largest bound is (a NaN: its maximum
                // is NaN, and !(NaN <= x)).
                tileMaxima_(bound_.data() + first, end - first, bound_.data() + first);
                for (int t = first / kTileFrames; t * kTileFrames < end; ++t) {
                    // (an infinite chunk makes the slack infinite or NaN: the tile is not cleared)
                    const double slack = 1.25 * kRefinementFactor *
                                         (kWeightedSumFactor * double(weightedBound_[std::size_t(1 + e)][std::size_t(t)]) +
                                          roundingFactor_ * double(windowMaxima_[std::size_t(t)]));
                    const float most = bound_[std::size_t(first + t - first / kTileFrames)];
                    if (!(double(most) * kRefinementFactor + slack <= threshold_[std::size_t(t)]))
                        tileState_[std::size_t(t)] = static_cast<unsigned char>(level + 1);
                }
            });
        }
        // Level 3: the exact detection where the bounds could not rule an over out.
        forRuns(tiles, frames, kTileExact, [&](int first, int end) {
            interpolate(input, first - 1, end, 0, taps_);
            const float* z[kDetectionFactor];
            for (int k = 0; k < kDetectionFactor; ++k) z[k] = phase(k) + first;
            accumulateCrests_(z, end - first, peak_.data() + first);
        });
    }

    /// weightedBound_[level][t] for tiles [firstTile, endTile) (and up to a whole batch past
    /// it): the largest over phases k of sum_p pairWeights_[level][k][p] times the larger of
    /// chunks t + p and t + p + 1, level 0 for all taps and 1 + e for those outside estimate e,
    /// in float (kWeightedSumFactor covers the rounding).
    void weightedBounds(int level, int firstTile, int endTile) noexcept {
        pairBounds_(chunks_.data() + firstTile, endTile - firstTile, pairWeights_[std::size_t(level)][0].data(),
                    weightedBound_[std::size_t(level)].data() + firstTile);
    }

    /// threshold_[t]: the level at or below which the 8x peaks of tile t of the next `frames`
    /// cannot change the gain, so detect() may leave them at their lower bounds (|x| and the
    /// Annex 2 values, which it always takes).
    ///
    /// A peak at or below the ceiling C never matters (r = 1). While the limiter is releasing
    /// from e = ln g (the envelope before the segment), a peak matters less and less: without
    /// the sidechain high-pass, e[n] = min(h[n], c' e[n-1]) with c' >= c (the release factor at
    /// d = 0; the adaptive one is closer to 1) and no snap to 0 while c' e[n-1] < -2^-24, so
    /// e[n - 1] <= c^(n - s) e (s = the segment's first frame) and the released value at frame n
    /// is at most B_n = c^(n - s + 1) e. A frame i stays in the hold up to n = i + H - 1; if its
    /// ln r >= B_(i + H - 1) >= every released value it meets, then e[n] = min(h[n], released)
    /// is the same whatever its exact peak (ln r only enters that minimum, below a smaller
    /// value), and ln r >= B holds for every peak <= C e^-B. So the threshold of tile t is
    /// max(C, C e^-B), B taken for its last frame, both reduced by 1e-6 (far more than the
    /// float rounding of the release chain, of pow, exp and the log of the gain computer):
    /// the output is bit-identical to detecting every frame exactly. The bound needs c for
    /// every n up to i + H - 1, and the release may change at the next segment, so only tiles
    /// whose frames leave the hold within this segment (i + H <= frames) get it.
    ///
    /// c^n for consecutive tiles is a running product (pow once, then c^16 a tile: within
    /// 1e-13 of pow for a segment's 512 tiles, far inside the 1e-6), and the exp is taken only
    /// for a tile that is not quiet at C already (thresholdOf(), from detect()): a tile quiet at
    /// C is quiet at any threshold >= C, so the tiles' states are those of every threshold known.
    void tileThresholds(const Instance& inst, int frames) noexcept {
        const int tiles = (frames + kTileFrames - 1) / kTileFrames;
        const int holdFrames = inst.hold.frames;
        thresholdCeiling_ = inst.ceiling;
        std::fill_n(threshold_.begin(), tiles, inst.ceiling);
        if (inst.highPass || !(inst.logEnvelope < 0)) return;
        const double c = inst.releaseFactor, c16 = std::pow(c, double(kTileFrames));
        double power = 0; // c^(last + H) of the previous tile
        int previousLast = -1;
        for (int t = 0; t < tiles; ++t) {
            const int last = std::min(frames, (t + 1) * kTileFrames) - 1;
            if (last + holdFrames > frames) break; // (so are the later tiles)
            power =
                previousLast >= 0 && last - previousLast == kTileFrames ? power * c16 : std::pow(c, double(last + holdFrames));
            previousLast = last;
            const double released = power * inst.logEnvelope * kThresholdSlack;
            if (!(released < 2 * kUnityLogThreshold)) break; // released only shrinks from here
            released_[std::size_t(t)] = released;
            threshold_[std::size_t(t)] = -1; // known on demand (thresholdOf)
        }
    }

    /// Tile t's threshold (tileThresholds), its exp taken the first time it is asked for.
    double thresholdOf(int t) noexcept {
        double& threshold = threshold_[std::size_t(t)];
        if (threshold < 0)
            threshold = std::max(thresholdCeiling_, thresholdCeiling_ * std::exp(-released_[std::size_t(t)]) * kThresholdSlack);
        return threshold;
    }

    /// Calls f(first, end) for each maximal run of tiles with tileState_ >= `level`, in frames.
    template <class F> void forRuns(int tiles, int frames, unsigned char level, F&& f) noexcept {
        for (int t = 0; t < tiles;) {
            if (tileState_[std::size_t(t)] < level) {
                ++t;
                continue;
            }
            const int first = t;
            while (t < tiles && tileState_[std::size_t(t)] >= level) ++t;
            f(first * kTileFrames, std::min(frames, t * kTileFrames));
        }
    }

    /// Frames [start, start + frames) of `inst`; frames <= maxBlockFrames().
    void run(const ProcessContext& ctx, Instance& inst, int start, int frames) noexcept {
        if (frames <= 0) return;
        if (replay_) {
            replayRun(ctx, inst, start, frames);
            return;
        }
        const int history = inst.latencyFrames;
        const std::int64_t position = ctx.position + start;
        // The peaks of the first lanes detected ahead (LimiterPeakFeed), the others' detected
        // here; without the feed's peaks, every lane's. A detect-only limiter detects only the
        // first lanes; it never limits, so its envelope stays at 0 and every tile's threshold is
        // the ceiling. (The peak is the maximum over lanes, and each lane's peaks are exact or
        // at most its tile's threshold, so which thread found them changes no gain.)
        int ahead = 0;
        bool fed = false;
        if (feed_ && detectOnly_)
            ahead = feed_->nextLanes();
        else if (feed_)
            fed = feed_->take(position, peak_.data(), frames, ahead);
        ahead = std::min(inst.lanes, ahead);
        if (!fed) std::fill(peak_.begin(), peak_.begin() + frames, 0.0f);
        const int firstDetected = fed ? ahead : 0, endDetected = detectOnly_ ? ahead : inst.lanes;
        if (firstDetected < endDetected) tileThresholds(inst, frames);
        const bool withSide = inst.highPass && !detectOnly_;
        if (withSide) std::fill(sidePeak_.begin(), sidePeak_.begin() + frames, 0.0f);
        for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l) {
            Lane& lane = lanes_[std::size_t(l)];
            float* work = lane.work.data();
            const float* in = ctx.inputs[0][l] + start;
            std::memcpy(work + history, in, sizeof(float) * std::size_t(frames));
            if (l - inst.firstLane >= firstDetected && l - inst.firstLane < endDetected) {
                detect(work + history, work + history - taps_ / 2, frames);
                // The Annex 2 4x values of the same instants (its centre is 5.875 frames back),
                // where detect() found the tile not quiet: its 12 taps lie within the tile's
                // window, so annexFactor_ bounds them by the tile's threshold too
                // (prepareDetection()).
                const float* annexInput = work + history - sideDelay_;
                forRuns((frames + kTileFrames - 1) / kTileFrames, frames, kTileEstimate,
                        [&](int first, int end) { accumulateTruePeak_(annexInput + first, end - first, peak_.data() + first); });
            }
            if (withSide) {
                float* side = lane.side.data() + sideHistory_;
                for (int i = 0; i < frames; ++i)
                    side[i] = float(lane.highPassState.process(inst.highPassSection, double(work[history + i])));
                accumulateTruePeak_(side - sideDelay_, frames, sidePeak_.data());
                std::memmove(lane.side.data(), lane.side.data() + frames, sizeof(float) * std::size_t(sideHistory_));
            }
        }
        if (detectOnly_) {
            feed_->put(position, peak_.data(), frames, ahead);
            for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l) {
                float* work = lanes_[std::size_t(l)].work.data();
                std::fill_n(ctx.outputs[0][l] + start, frames, 0.0f);
                std::memmove(work, work + frames, sizeof(float) * std::size_t(history));
            }
            return;
        }
        if (!inst.highPass && inst.adaptive <= 0)
            advanceFixedRelease(inst, position, frames);
        else
            for (int i = 0; i < frames; ++i)
                sums_[std::size_t(i)] = advance(inst, peak_[std::size_t(i)], sidePeak_[std::size_t(i)], position + i);
        const bool unity = gainCurve(inst, position, frames);
        inst.reductionSeries.add(reductions_.data(), reductionCount_); // the counted frames' reductions, in order
        if (tape_) tape_->record(unity ? nullptr : gain_.data(), frames);
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

    /// run() played back from the tape: the delay line as run() keeps it, each recorded stretch
    /// copied or multiplied by its gains, so the output has the recorded run's bits. Output frame
    /// i is input frame i - L: from the history below L, else straight from this block's input
    /// (no detection needs the block in the delay line), unless the output overwrites the input.
    void replayRun(const ProcessContext& ctx, Instance& inst, int start, int frames) noexcept {
        const int history = inst.latencyFrames;
        bool aliased = false;
        for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l)
            aliased = aliased || ctx.inputs[0][l] == ctx.outputs[0][l];
        if (aliased)
            for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l)
                std::memcpy(lanes_[std::size_t(l)].work.data() + history, ctx.inputs[0][l] + start,
                            sizeof(float) * std::size_t(frames));
        // `count` output frames from `source`, copied or multiplied by `gains`.
        const auto put = [&](const float* source, const float* gains, float* out, int count, bool copied) {
            if (count <= 0) return;
            if (copied)
                std::memcpy(out, source, sizeof(float) * std::size_t(count));
            else
                elementwise().multiplyByCurve(source, gains, out, count);
        };
        for (int done = 0; done < frames;) {
            bool copied = true;
            int count = tape_->replay(gain_.data() + done, frames - done, copied);
            if (count <= 0) count = frames - done, copied = true; // the tape ran out (the host reports it)
            for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l) {
                const float* work = lanes_[std::size_t(l)].work.data();
                float* out = ctx.outputs[0][l] + start;
                if (aliased) {
                    put(work + done, gain_.data() + done, out + done, count, copied);
                    continue;
                }
                const int split = std::clamp(history, done, done + count); // output frames below it come from the history
                put(work + done, gain_.data() + done, out + done, split - done, copied);
                if (split < done + count)
                    put(ctx.inputs[0][l] + start + (split - history), gain_.data() + split, out + split, done + count - split,
                        copied);
            }
            done += count;
        }
        for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l) {
            float* work = lanes_[std::size_t(l)].work.data();
            if (aliased) {
                std::memmove(work, work + frames, sizeof(float) * std::size_t(history));
            } else if (frames >= history) {
                std::memcpy(work, ctx.inputs[0][l] + start + frames - history, sizeof(float) * std::size_t(history));
            } else {
                std::memmove(work, work + frames, sizeof(float) * std::size_t(history - frames));
                std::memcpy(work + history - frames, ctx.inputs[0][l] + start, sizeof(float) * std::size_t(frames));
            }
        }
    }

    std::vector<Instance> instances_;
    std::vector<Lane> lanes_;
    LimiterGainTape* tape_ = nullptr; ///< LimiterGainTapeScope's when prepared
    bool replay_ = false;             ///< play tape_ back instead of detecting
    LimiterPeakFeed* feed_ = nullptr; ///< LimiterPeakFeedScope's when prepared
    bool detectOnly_ = false;         ///< put the peaks into feed_, output silence
    int taps_ = kLimiterDetectionSpan;
    std::vector<float> coefficients_;                         ///< [8][T]: h[8 j + k], as float
    std::array<std::vector<float>, kDetectionFactor> phases_; ///< per phase: [frame -1 | segment]
    std::vector<float> bound_;                                ///< crestBound of the estimate, per frame
    std::vector<float> chunks_;                               ///< max |x| per 16 frames
    std::vector<float> windowMaxima_;                         ///< per tile: max |x| over its window (chunks t .. t + 11)
    std::vector<unsigned char> tileState_;                    ///< kTileQuiet, kTileEstimate + e or kTileExact
    std::vector<double> threshold_; ///< per tile: peaks up to here cannot change the gain (-1: ask thresholdOf)
    std::vector<double> released_;  ///< per tile: B of tileThresholds, where threshold_ is -1
    double thresholdCeiling_ = 0;   ///< the instance's ceiling C, the least threshold
    bool exhaustive_ = false;       ///< setLimiterExhaustiveDetection() when prepared
    double annexFactor_ = 0;        ///< the Annex 2 values' bound: |v| <= annexFactor_ max|x| over the window
    double weightSums_ = 0;         ///< the largest phase's sum of pairWeights_[0]: |z| <= weightSums_ max|x|
    double roundingFactor_ = 0;     ///< the float rounding of the estimates and the filter, times max|x|
    /// [level][k][pair]: sum |h_k[j]| over the taps j that read the pair (level 0: all taps,
    /// 1 + e: those outside estimate e), rounded up to float.
    std::array<std::array<std::array<float, kChunkPairs>, kDetectionFactor>, 1 + kEstimateLevels> pairWeights_{};
    std::array<std::vector<float>, 1 + kEstimateLevels> weightedBound_; ///< [level][tile]
    void (*accumulateMagnitude_)(const float*, int, float*) noexcept = nullptr;
    void (*chunkMagnitudes_)(const float*, int, float*) noexcept = nullptr;
    void (*accumulateCrests_)(const float* const*, int, float*) noexcept = nullptr;
    void (*crestBound_)(const float* const*, int, float*) noexcept = nullptr;
    void (*fir_)(const float*, int, const float*, int, float*, bool) noexcept = nullptr;
    std::vector<float> peak_;       ///< detected peak per frame of the current segment
    std::vector<float> sidePeak_;   ///< detected peak of the high-passed sidechain
    std::vector<float> gain_;       ///< gain per frame of the current segment
    std::vector<float> reductions_; ///< gain reduction (dB) of the segment's counted frames, for the series
    std::vector<double> sums_;      ///< the attack's box sum per frame of the current segment
    std::vector<double> logGains_;  ///< ln g per frame of the current segment
    std::vector<double> floored_;   ///< g per frame as attackGains gives it (-1: undecided)
    double dutyFactor_ = 0;         ///< 1 - exp(-1 / (1 s fs)): the duty's one-pole coefficient
    void (*attackGains_)(const double*, int, double, double*, double*) noexcept = nullptr;
    int (*firstNonzero_)(const double*, int) noexcept = nullptr;
    int (*endOfNonzero_)(const double*, int) noexcept = nullptr;
    int (*firstAbove_)(const float*, int, float) noexcept = nullptr;
    bool (*allUnity_)(const float*, int) noexcept = nullptr;
    void (*tileMaxima_)(const float*, int, float*) noexcept = nullptr;
    void (*pairBounds_)(const float*, int, const float*, float*) noexcept = nullptr;
    std::size_t reductionCount_ = 0;
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

void setLimiterExhaustiveDetection(bool exhaustive) noexcept { exhaustiveDetection.store(exhaustive, std::memory_order_relaxed); }

LimiterGainTapeScope::LimiterGainTapeScope(LimiterGainTape* tape, bool replay) noexcept
    : previousTape_(scopedTape), previousReplay_(scopedReplay) {
    scopedTape = tape;
    scopedReplay = replay;
}

LimiterGainTapeScope::~LimiterGainTapeScope() {
    scopedTape = previousTape_;
    scopedReplay = previousReplay_;
}

LimiterPeakFeed::LimiterPeakFeed(int capacityFrames, double lanesAhead)
    : ring_(std::size_t(std::max(1, capacityFrames)), 0.0f), lanes_(ring_.size(), 0) {
    const double lanes = std::clamp(lanesAhead, 0.0, 255.0); // (a frame's count is a byte)
    wholeLanes_ = int(std::floor(lanes));
    extraShare_ = lanes - std::floor(lanes);
}

int LimiterPeakFeed::nextLanes() noexcept {
    const std::int64_t k = blocks_++;
    const bool extra = std::floor(double(k + 1) * extraShare_) > std::floor(double(k) * extraShare_);
    return wholeLanes_ + (extra ? 1 : 0);
}

bool LimiterPeakFeed::put(std::int64_t position, const float* peaks, int frames, int lanes) noexcept {
    if (stopped_.load(std::memory_order_relaxed)) return false;
    const auto capacity = std::int64_t(ring_.size());
    // taken_ acquired: the consumer has read every frame before it, so those slots are free.
    if (position != written_.load(std::memory_order_relaxed) || frames < 0 ||
        position + frames - taken_.load(std::memory_order_acquire) > capacity) {
        stopped_.store(true, std::memory_order_relaxed);
        return false;
    }
    for (int done = 0; done < frames;) {
        const auto at = std::size_t((position + done) % capacity);
        const int count = int(std::min<std::int64_t>(frames - done, capacity - std::int64_t(at)));
        std::memcpy(ring_.data() + at, peaks + done, sizeof(float) * std::size_t(count));
        std::fill_n(lanes_.data() + at, count, (unsigned char)std::clamp(lanes, 0, 255));
        done += count;
    }
    written_.store(position + frames, std::memory_order_release);
    return true;
}

bool LimiterPeakFeed::take(std::int64_t position, float* peaks, int frames, int& lanes) noexcept {
    const auto capacity = std::int64_t(ring_.size());
    // Frames from taken_ on are never overwritten (put() keeps within taken_ + capacity), and
    // positions only increase, so [position, position + frames) is intact once written.
    const bool ready = !stopped_.load(std::memory_order_relaxed) && position >= taken_.load(std::memory_order_relaxed) &&
                       position + frames <= written_.load(std::memory_order_acquire) && frames <= capacity;
    lanes = 0;
    if (ready) {
        int fewest = 255;
        for (int done = 0; done < frames;) {
            const auto at = std::size_t((position + done) % capacity);
            const int count = int(std::min<std::int64_t>(frames - done, capacity - std::int64_t(at)));
            std::memcpy(peaks + done, ring_.data() + at, sizeof(float) * std::size_t(count));
            for (int i = 0; i < count; ++i) fewest = std::min(fewest, int(lanes_[at + std::size_t(i)]));
            done += count;
        }
        lanes = frames > 0 ? fewest : 0;
        framesTaken_ += frames;
    }
    if (position + frames > taken_.load(std::memory_order_relaxed)) taken_.store(position + frames, std::memory_order_release);
    return ready;
}

LimiterPeakFeedScope::LimiterPeakFeedScope(LimiterPeakFeed* feed, bool detectOnly) noexcept
    : previousFeed_(scopedFeed), previousDetectOnly_(scopedDetectOnly) {
    scopedFeed = feed;
    scopedDetectOnly = detectOnly;
}

LimiterPeakFeedScope::~LimiterPeakFeedScope() {
    scopedFeed = previousFeed_;
    scopedDetectOnly = previousDetectOnly_;
}

} // namespace sg
