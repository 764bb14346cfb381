// The kernel of compressor, gate, deesser and dynamic_eq (maths: DynamicsCore.h).
//
// Per segment, in four passes:
//   1. detection per detector lane: filter (double biquad), sliding maximum of |d| (van Herk /
//      Gil-Werman: a prefix maximum inside the current window-long chunk and the suffix maxima
//      of the previous one, O(1) per frame, no branches on the data) or box mean of d^2 (running
//      sum, re-summed exactly once per window), then dB through the shared vector log
//      (Elementwise::gainToDecibels);
//   2. per lane: link, then the target change T from the static curve, vectorised along time
//      (staticTargets, float; the gate's hold / hysteresis state machine is scalar);
//   3. the attack / release recursion in double, vectorised across lanes: any 16 lanes of any
//      instances together (smoothChanges), each with its own coefficients;
//   4. per instance: statistics, makeup, back to linear through the shared vector exp
//      (Elementwise::decibelsToGain), applied along time.
// Everything depends on the frames processed since reset only, so output is bit-identical for
// every block split; a lane's arithmetic never reads another instance's lanes, so batched =
// unbatched; all vector kernels avoid FMA and do the same operations in their scalar tails, so
// every SIMD architecture gives the same bits.
#include "nodes/dynamics/DynamicsKernel.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "core/SeriesRecorder.h"
#include "nodes/filters/Biquad.h"
#include "nodes/filters/BiquadDesign.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace sg::dynamics {

namespace {

/// Q of the sidechain high-pass and of the shelf / de-esser bands (2nd-order Butterworth).
constexpr double kButterworthQ = 0.7071067811865476;
/// Auto release: the slow path charges with this many release times, and decays with this many.
constexpr double kSlowAttackReleases = 5, kSlowReleaseReleases = 10;

int windowFramesFor(double windowMs, double sampleRate) {
    return int(std::max<long long>(1, std::llround(windowMs * sampleRate / 1000.0)));
}

bool isSplit(Kind kind) { return kind == Kind::DeEsser || kind == Kind::DynamicEq; }

class DynamicsKernel final : public DeclaredKernel {
public:
    explicit DynamicsKernel(const DynamicsDecl& declaration) : DeclaredKernel(declaration.decl), d_(declaration) {}

    void measurements(int instance, std::vector<Measurement>& out) const override {
        if (instance < 0 || std::size_t(instance) >= instances_.size()) return;
        const Instance& inst = instances_[std::size_t(instance)];
        const std::string what = d_.kind == Kind::DynamicEq ? "gain_change" : "gain_reduction";
        out.push_back({"max_" + what + "_db", inst.maxChangeDb, "dB"});
        const auto& sums = inst.sumChangeDb;
        const double sum = ((sums[0] + sums[1]) + (sums[2] + sums[3])) + ((sums[4] + sums[5]) + (sums[6] + sums[7]));
        out.push_back({"mean_" + what + "_db", sum / double(std::max<std::int64_t>(1, inst.frames)), "dB"});
    }
    void series(int instance, std::vector<MeasurementSeries>& out) const override {
        if (instance < 0 || std::size_t(instance) >= instances_.size()) return;
        out.push_back(instances_[std::size_t(instance)].recorder.snapshot(
            d_.kind == Kind::DynamicEq ? "gain_change_db" : "gain_reduction_db", "dB"));
    }

private:
    struct Lane {
        biquad::SectionState audioFilter;   ///< band filter of the audio (split types with a sidechain)
        std::vector<float> ring;            ///< rms: the last W values of d^2
        SlidingMaximum peak;                ///< peak: max |d| over the last W frames (unless batched)
        const float* batchedPeak = nullptr; ///< peak: max |d| of this segment from a MaxGroup, or null
        int at = 0;                         ///< rms: position in the ring
        double sum = 0;                     ///< rms: sum of the ring
        bool open = false;                  ///< gate
        std::int64_t holdLeft = 0;
    };
    struct Instance {
        int firstLane = 0, channels = 0, firstSidechain = 0, sidechainChannels = 0;
        int windowFrames = 1;
        bool rms = false;
        double thresholdDb = 0, ratio = 1, kneeDb = 0, rangeDb = 0, hysteresisDb = 0, link = 0;
        double riseFactor = 0, fallFactor = 0, slowRiseFactor = 0, slowFallFactor = 0;
        std::int64_t holdFrames = 0;
        bool autoRelease = false, listen = false, below = false, boost = false;
        bool detectorFiltered = false;
        /// Peak detector, link 100 %, several detectors (not the gate): every channel's linked
        /// level is the loudest channel's, max_c 20 log10 max_W |d_c| = 20 log10 max_W max_c |d_c|,
        /// so one sliding maximum of max_c |d_c| (in the first lane) serves them all, and so do
        /// one target, one recursion result and one gain curve.
        bool sharedLevel = false;
        float quietLevel = -1;             ///< levels at most this are below the knee (quietLevel), or -1
        biquad::Section detectorSection{}; ///< also the audio band of split types
        double maxChangeDb = 0;
        std::array<double, 8> sumChangeDb{}; ///< by frame count modulo 8 (changeStatistics)
        std::int64_t frames = 0;
        bool statisticsDone = false; ///< this segment's statistics already taken (statisticsInPairs)
        SeriesRecorder recorder;
    };

    double get(int i, ParamRef p, double fallback) const { return p.valid() ? value(i, p) : fallback; }

    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup> setups) override {
        instances_.clear();
        lanes_.clear();
        instances_.resize(std::size_t(instanceCount()));
        int sidechainLane = 0, widest = 1;
        for (int i = 0; i < instanceCount(); ++i) {
            Instance& inst = instances_[std::size_t(i)];
            inst.firstLane = lanes(i).firstInput;
            inst.channels = lanes(i).inputs;
            const auto& ins = setups[std::size_t(i)].inputChannels;
            inst.sidechainChannels = ins.size() > 1 ? ins[1] : 0;
            inst.firstSidechain = sidechainLane;
            sidechainLane += inst.sidechainChannels;
            inst.rms = get(i, d_.detector, kDetectorPeak) == kDetectorRms;
            inst.windowFrames = windowFramesFor(get(i, d_.window, 0), sampleRate());
            inst.recorder.prepare(sampleRate(), kSeriesPerSecond, SeriesRecorder::Reduction::Max);
            widest = std::max(widest, inst.channels);
            for (int c = 0; c < inst.channels; ++c) {
                Lane lane;
                if (inst.rms)
                    lane.ring.assign(std::size_t(inst.windowFrames), 0.0f);
                else
                    lane.peak.prepare(inst.windowFrames, spec.simd);
                lanes_.push_back(std::move(lane));
            }
        }
        prepareMaxGroups(spec.simd);
        // The recursion's lanes in groups of kSmoothLanes (the last one padded with idle lanes).
        groups_.assign((lanes_.size() + kSmoothLanes - 1) / kSmoothLanes, SmoothGroup{});
        copyLane_.assign(lanes_.size(), 0);
        // The detector filters of all lanes as one biquad bank (vectorised across lanes).
        const int stride = (int(lanes_.size()) + biquad::kLanePad - 1) / biquad::kLanePad * biquad::kLanePad;
        bankCoefficients_.assign(std::size_t(5 * stride), 0.0);
        bankState_.assign(std::size_t(2 * stride), 0.0);
        bankRoundAfter_.assign(std::size_t(stride), 0.0);
        bankScratch_.assign(std::size_t(biquad::kChunkFrames * biquad::kMaxPassLanes + 8), 0.0);
        auto* scratch = bankScratch_.data();
        while (reinterpret_cast<std::uintptr_t>(scratch) % 64 != 0) ++scratch;
        bank_ = {int(lanes_.size()), stride, 1, bankCoefficients_.data(), bankState_.data(), scratch, bankRoundAfter_.data(),
                 &bankSectionRounds_};
        bankIn_.assign(lanes_.size(), nullptr);
        bankOut_.assign(lanes_.size(), nullptr);
        processBank_ = SG_SIMD_PICK(spec.simd, processBiquadBank);
        for (int i = 0; i < instanceCount(); ++i) update(i);
        const std::size_t padded = std::size_t(maxBlockFrames()) + 16;
        levelDb_.assign(std::size_t(widest), std::vector<float>(padded, 0.0f));
        band_.assign(lanes_.size(), std::vector<float>(padded, 0.0f));
        gainDb_.assign(lanes_.size(), std::vector<float>(padded, 0.0f));
        smoothChanges_ = SG_SIMD_PICK(spec.simd, smoothChanges);
        staticTargets_ = SG_SIMD_PICK(spec.simd, staticTargets);
        changeStatistics_ = SG_SIMD_PICK(spec.simd, changeStatistics);
        changeStatisticsPair_ = SG_SIMD_PICK(spec.simd, changeStatisticsPair);
        levelTargets_ = SG_SIMD_PICK(spec.simd, levelTargets);
        applyDecibelGain_ = SG_SIMD_PICK(spec.simd, applyDecibelGain);
        applyDecibelGainMeasured_ = SG_SIMD_PICK(spec.simd, applyDecibelGainMeasured);
        compressOneLane_ = SG_SIMD_PICK(spec.simd, compressOneLane);
        idleTargets_.assign(padded, 0.0f);
        idleChanges_.assign(padded, 0.0f);
        curve_.assign(padded, 0.0f);
        zeros_.assign(padded, 0.0f);
        audioBand_.assign(padded, 0.0f);
        linked_.assign(padded, 0.0f);
        makeup_.assign(padded, 0.0f);
        frameChange_.assign(padded, 0.0f);
        return {};
    }

    /// Peak detectors of mono instances (one detector, never a shared level) with equal windows
    /// run their sliding maxima kMaxLanes lanes at a time (slidingMaximumLanes): max is exact and
    /// the lane's operations are the scalar ones, so the values are the same bit for bit.
    void prepareMaxGroups(SimdArch simd) {
        maxGroups_.clear();
        std::vector<std::pair<int, int>> byWindow; // (window, instance)
        for (int i = 0; i < instanceCount(); ++i) {
            const Instance& inst = instances_[std::size_t(i)];
            if (!inst.rms && inst.channels == 1) byWindow.emplace_back(inst.windowFrames, i);
        }
        std::stable_sort(byWindow.begin(), byWindow.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
        for (std::size_t at = 0; at < byWindow.size();) {
            std::size_t end = at;
            while (end < byWindow.size() && byWindow[end].first == byWindow[at].first && end - at < std::size_t(kMaxLanes)) ++end;
            if (end - at >= 2) { // a single lane stays scalar
                MaxGroup group;
                group.count = int(end - at);
                for (std::size_t k = at; k < end; ++k) group.instances[k - at] = byWindow[k].second;
                const int w = byWindow[at].first;
                group.chunk.assign(std::size_t(w * kMaxLanes) + 16, 0.0f);
                group.suffix.assign(std::size_t((w + 1) * kMaxLanes) + 16, 0.0f);
                group.prefix.assign(std::size_t(kMaxLanes) + 16, 0.0f);
                group.state.window = w;
                maxGroups_.push_back(std::move(group));
            }
            at = end;
        }
        const std::size_t padded = std::size_t(maxBlockFrames()) + 16;
        maxOut_.assign(lanes_.size(), {});
        maxScratch_.assign(padded, 0.0f);
        maxZeros_.assign(padded, 0.0f);
        for (MaxGroup& group : maxGroups_) {
            group.state.chunk = group.chunk.data();
            group.state.suffix = group.suffix.data();
            group.state.prefix = group.prefix.data();
            for (int l = 0; l < group.count; ++l) {
                const int lane = instances_[std::size_t(group.instances[l])].firstLane;
                maxOut_[std::size_t(lane)].assign(padded, 0.0f);
                lanes_[std::size_t(lane)].batchedPeak = maxOut_[std::size_t(lane)].data();
            }
        }
        slidingMaximumLanes_ = SG_SIMD_PICK(simd, slidingMaximumLanes);
    }

    /// The batched sliding maxima of this segment into maxOut_ (pass 1, before targetsOf).
    void batchedMaxima(const ProcessContext& ctx, int start, int frames) noexcept {
        for (MaxGroup& group : maxGroups_) {
            const float* in[kMaxLanes];
            float* out[kMaxLanes];
            for (int l = 0; l < kMaxLanes; ++l) {
                if (l >= group.count) {
                    in[l] = maxZeros_.data();
                    out[l] = maxScratch_.data();
                    continue;
                }
                const Instance& inst = instances_[std::size_t(group.instances[l])];
                in[l] = inst.detectorFiltered        ? band_[std::size_t(inst.firstLane)].data()
                        : inst.sidechainChannels > 0 ? ctx.inputs[1][inst.firstSidechain] + start
                                                     : ctx.inputs[0][inst.firstLane] + start;
                out[l] = maxOut_[std::size_t(inst.firstLane)].data();
            }
            slidingMaximumLanes_(group.state, in, frames, out);
        }
    }

    void clearState() noexcept override {
        for (MaxGroup& group : maxGroups_) {
            std::fill(group.suffix.begin(), group.suffix.end(), 0.0f);
            std::fill(group.prefix.begin(), group.prefix.end(), 0.0f);
            group.state.at = 0;
        }
        for (Lane& lane : lanes_) {
            lane.audioFilter.clear();
            std::fill(lane.ring.begin(), lane.ring.end(), 0.0f);
            lane.peak.reset();
            lane.at = 0;
            lane.sum = 0;
            lane.open = false;
            lane.holdLeft = 0;
        }
        std::fill(bankState_.begin(), bankState_.end(), 0.0);
        for (SmoothGroup& group : groups_) {
            std::fill(std::begin(group.change), std::end(group.change), 0.0);
            std::fill(std::begin(group.slow), std::end(group.slow), 0.0);
        }
        for (Instance& inst : instances_) {
            inst.maxChangeDb = 0;
            inst.sumChangeDb = {};
            inst.frames = 0;
            inst.recorder.reset();
        }
    }

    void paramChanged(int stage, int, std::int64_t) noexcept override { update(stage); }

    /// Derives the instance's running values from its parameters (real-time safe).
    void update(int i) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        const double fs = sampleRate();
        inst.thresholdDb = get(i, d_.threshold, 0);
        inst.ratio = get(i, d_.ratio, 1);
        inst.kneeDb = get(i, d_.knee, 0);
        inst.rangeDb = get(i, d_.range, 1000);
        inst.hysteresisDb = get(i, d_.hysteresis, 0);
        inst.link = get(i, d_.link, 0) / 100.0;
        inst.holdFrames = std::llround(get(i, d_.hold, 0) * fs / 1000.0);
        inst.autoRelease = get(i, d_.autoRelease, 0) >= 0.5;
        inst.listen = get(i, d_.listen, 0) >= 0.5;
        inst.below = get(i, d_.mode, kModeAbove) == kModeBelow;
        inst.boost = d_.kind == Kind::DynamicEq && inst.rangeDb > 0;
        inst.rangeDb = std::fabs(inst.rangeDb);
        const int detectors = inst.sidechainChannels == 1 ? 1 : inst.channels;
        const bool shared = !inst.rms && inst.link >= 1.0 && detectors > 1 && d_.kind != Kind::Gate;
        if (shared != inst.sharedLevel) {
            Lane* first = &lanes_[std::size_t(inst.firstLane)];
            // Into sharing: the first lane's maximum becomes that of all channels (exact). Out of
            // it: each lane restarts from the shared maximum, which holds the loudest channel's
            // peaks for up to one window (the level link 100 % gave until then).
            for (int k = 1; k < detectors; ++k) {
                Lane& lane = first[k];
                if (shared) {
                    first->peak.mergeFrom(lane.peak);
                } else {
                    lane.peak.reset();
                    lane.peak.mergeFrom(first->peak);
                }
            }
            inst.sharedLevel = shared;
            // Shared, channels 1.. are copies of channel 0 (the same level and coefficients): their
            // targets are not written and their changes not read (apply reads channel 0's), and
            // their recursion rests where they end a group (smooth()). Out of sharing, they go on
            // from channel 0's state, the gain every channel had until then.
            for (int c = 1; c < inst.channels; ++c) {
                const int lane = inst.firstLane + c;
                copyLane_[std::size_t(lane)] = shared ? 1 : 0;
                if (shared) continue;
                const SmoothGroup& from = groups_[std::size_t(inst.firstLane / kSmoothLanes)];
                SmoothGroup& to = groups_[std::size_t(lane / kSmoothLanes)];
                to.change[lane % kSmoothLanes] = from.change[inst.firstLane % kSmoothLanes];
                to.slow[lane % kSmoothLanes] = from.slow[inst.firstLane % kSmoothLanes];
            }
        }
        inst.quietLevel = -1;
        if (d_.kind != Kind::Gate && !inst.below) {
            const Curve curve = curveOf(inst);
            inst.quietLevel = quietLevel(double(curve.threshold), double(curve.knee), double(levelScale(inst)), kFloorDb);
        }
        const double attack = timeConstantFactor(get(i, d_.attack, 0), fs);
        const double releaseMs = get(i, d_.release, 0);
        const double release = timeConstantFactor(releaseMs, fs);
        // The gate's change is an attenuation: it rises when the gate closes (release).
        inst.riseFactor = d_.kind == Kind::Gate ? release : attack;
        inst.fallFactor = d_.kind == Kind::Gate ? attack : release;
        inst.slowRiseFactor = timeConstantFactor(kSlowAttackReleases * releaseMs, fs);
        inst.slowFallFactor = timeConstantFactor(kSlowReleaseReleases * releaseMs, fs);
        for (int c = 0; c < inst.channels; ++c) {
            const int lane = inst.firstLane + c;
            SmoothCoefficients& k = groups_[std::size_t(lane / kSmoothLanes)].coefficients;
            const int l = lane % kSmoothLanes;
            k.rise[l] = inst.riseFactor;
            k.fall[l] = inst.fallFactor;
            k.riseRest[l] = 1.0 - inst.riseFactor;
            k.fallRest[l] = 1.0 - inst.fallFactor;
            k.slowRise[l] = inst.slowRiseFactor;
            k.slowFall[l] = inst.slowFallFactor;
            k.slowRiseRest[l] = 1.0 - inst.slowRiseFactor;
            k.slowFallRest[l] = 1.0 - inst.slowFallFactor;
            // The slow path only runs while some lane of the group has auto release (its state
            // rests otherwise): switched on, it starts from the change as it is, so the output
            // max(C', S') goes on without a step, whatever ran before.
            if (inst.autoRelease && !(k.autoRelease[l] > 0)) {
                SmoothGroup& group = groups_[std::size_t(lane / kSmoothLanes)];
                group.slow[l] = group.change[l];
            }
            k.autoRelease[l] = inst.autoRelease ? 1.0 : 0.0;
        }
        switch (d_.kind) {
        case Kind::Compressor:
        case Kind::Gate: {
            const double hz = get(i, d_.sidechainHighpass, 0);
            inst.detectorFiltered = hz > 0;
            if (inst.detectorFiltered)
                inst.detectorSection = biquad::cookbookSection(biquad::Shape::Highpass, hz, kButterworthQ, 0, fs);
            break;
        }
        case Kind::DeEsser:
            inst.detectorFiltered = true;
            inst.detectorSection = biquad::cookbookSection(biquad::Shape::Highpass, get(i, d_.freq, 6000), kButterworthQ, 0, fs);
            break;
        case Kind::DynamicEq: {
            const double shape = get(i, d_.shape, kShapePeak);
            const double hz = get(i, d_.freq, 1000);
            inst.detectorFiltered = true;
            inst.detectorSection =
                shape == kShapeLowShelf    ? biquad::cookbookSection(biquad::Shape::Lowpass, hz, kButterworthQ, 0, fs)
                : shape == kShapeHighShelf ? biquad::cookbookSection(biquad::Shape::Highpass, hz, kButterworthQ, 0, fs)
                                           : biquad::cookbookSection(biquad::Shape::Bandpass, hz, get(i, d_.q, 1), 0, fs);
            break;
        }
        }
        // The bank's coefficients of this instance's lanes: its filter, or y = x when it has none.
        const int stride = bank_.stride;
        for (int c = 0; c < inst.channels; ++c)
            for (int k = 0; k < 5; ++k)
                bankCoefficients_[std::size_t(k * stride + inst.firstLane + c)] =
                    inst.detectorFiltered ? inst.detectorSection[std::size_t(k)] : (k == 0 ? 1.0 : 0.0);
        anyFiltered_ = false;
        for (const Instance& other : instances_) anyFiltered_ = anyFiltered_ || other.detectorFiltered;
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        if (anyFiltered_) { // pass 0: every detector filter at once, into band_
            for (int i = 0; i < instanceCount(); ++i) {
                const Instance& inst = instances_[std::size_t(i)];
                const int detectors = inst.sidechainChannels == 1 ? 1 : inst.channels;
                for (int k = 0; k < inst.channels; ++k) {
                    const std::size_t lane = std::size_t(inst.firstLane + k);
                    bankIn_[lane] = k >= detectors               ? zeros_.data()
                                    : inst.sidechainChannels > 0 ? ctx.inputs[1][inst.firstSidechain + k] + start
                                                                 : ctx.inputs[0][inst.firstLane + k] + start;
                    bankOut_[lane] = band_[lane].data();
                }
            }
            processBank_(bank_, bankIn_.data(), bankOut_.data(), 0, frames);
        }
        batchedMaxima(ctx, start, frames);
        if (compressShared(ctx, start, frames)) return;
        for (int i = 0; i < instanceCount(); ++i) targetsOf(ctx, i, start, frames);
        smooth(frames);
        statisticsInPairs(frames);
        for (int i = 0; i < instanceCount(); ++i) apply(ctx, i, start, frames);
    }

    /// Instance inst's detector signal k: filtered by the bank (processSegment), the sidechain's
    /// or the input's channel.
    const float* detectorSignal(const ProcessContext& ctx, const Instance& inst, int k, int start) const noexcept {
        return inst.detectorFiltered        ? band_[std::size_t(inst.firstLane + k)].data()
               : inst.sidechainChannels > 0 ? ctx.inputs[1][inst.firstSidechain + k] + start
                                            : ctx.inputs[0][inst.firstLane + k] + start;
    }

    /// max_c |d_c| of instance inst's detector signals, in linked_.
    const float* loudestOf(const ProcessContext& ctx, const Instance& inst, int start, int frames) noexcept {
        const int detectors = inst.sidechainChannels == 1 ? 1 : inst.channels;
        float* loudest = linked_.data();
        const float* d0 = detectorSignal(ctx, inst, 0, start);
        for (int n = 0; n < frames; ++n) loudest[n] = std::fabs(d0[n]);
        for (int k = 1; k < detectors; ++k) {
            const float* d = detectorSignal(ctx, inst, k, start);
            for (int n = 0; n < frames; ++n) loudest[n] = std::max(loudest[n], std::fabs(d[n]));
        }
        return loudest;
    }

    /// Passes 1 to 4 of a compressor alone whose channels share one level (W1's stereo
    /// compressor) and so one recursion lane, without auto release and with its makeup settled:
    /// the targets, the recursion and the gain in one interleaved pass (compressOneLane: the
    /// recursion's latency chain leaves room for the others), then the statistics as apply()
    /// takes them (recordChange). The same values as the passes. False (nothing done) in any
    /// other case.
    bool compressShared(const ProcessContext& ctx, int start, int frames) noexcept {
        if (d_.kind != Kind::Compressor || instanceCount() != 1 || groups_.size() != 1) return false;
        Instance& inst = instances_[0];
        constexpr int kMostChannels = 8;
        if (!inst.sharedLevel || inst.channels > kMostChannels) return false;
        for (int l = 1; l < inst.channels && l < kSmoothLanes; ++l)
            if (!copyLane_[std::size_t(inst.firstLane + l)]) return false; // (smooth() would run more than one lane)
        const SmoothGroup& group = groups_[0];
        for (double a : group.coefficients.autoRelease)
            if (a > 0) return false;
        float makeupDb = 0.0f;
        if (d_.makeup.valid()) {
            const LinearRamp& makeup = ramp(0, d_.makeup);
            if (!makeup.settledAt(ctx.position + start)) return false;
            makeupDb = float(makeup.target());
        }
        const float* raw =
            detectRaw(inst, lanes_[std::size_t(inst.firstLane)], loudestOf(ctx, inst, start, frames), levelDb_[0].data(), frames);
        const Curve curve = curveOf(inst);
        const OneLaneCurve oneLane{levelScale(inst), float(kFloorDb), curve.threshold, curve.slope,
                                   curve.knee,       curve.range,     inst.quietLevel};
        const float* x[kMostChannels];
        float* y[kMostChannels];
        for (int c = 0; c < inst.channels; ++c) {
            x[c] = ctx.inputs[0][inst.firstLane + c] + start;
            y[c] = ctx.outputs[0][inst.firstLane + c] + start;
        }
        float* changes = gainDb_[std::size_t(inst.firstLane)].data();
        compressOneLane_(raw, frames, oneLane, group.coefficients, groups_[0].change, changes, inst.boost ? 1.0f : -1.0f,
                         makeupDb, x, y, inst.channels);
        recordChange(inst, changes, frames, true);
        return true;
    }

    /// A segment's frame change of instance i into its series, and into its statistics when
    /// `statistics` (else they are taken elsewhere: statisticsInPairs, the measured apply); its
    /// frame count advances.
    void recordChange(Instance& inst, const float* change, int frames, bool statistics) noexcept {
        if (statistics) {
            float most = float(inst.maxChangeDb);
            changeStatistics_(change, frames, inst.frames, inst.sumChangeDb.data(), &most);
            inst.maxChangeDb = double(most);
        }
        inst.recorder.add(change, std::size_t(frames));
        inst.frames += frames;
    }

    /// The detector's level before the dB (peak: max |d| over W; rms: the mean of d^2 over W) of
    /// `frames` detector samples `source` (the filtered band when the instance filters its
    /// detector), in levelDb or, for a batched peak detector, where its group put it.
    const float* detectRaw(const Instance& inst, Lane& lane, const float* source, float* levelDb, int frames) noexcept {
        const int w = inst.windowFrames;
        float* ring = lane.ring.data();
        if (inst.rms) {
            for (int n = 0; n < frames; ++n) {
                const float square = source[n] * source[n];
                lane.sum += double(square) - double(ring[lane.at]);
                ring[lane.at] = square;
                if (++lane.at == w) { // once per window: the exact sum again, so rounding never drifts
                    lane.at = 0;
                    double exact = 0;
                    for (int k = 0; k < w; ++k) exact += double(ring[k]);
                    lane.sum = exact;
                }
                levelDb[n] = float(std::max(lane.sum, 0.0) / double(w));
            }
        } else if (!lane.batchedPeak) {
            lane.peak.process(source, frames, levelDb);
        }
        return lane.batchedPeak && !inst.rms ? lane.batchedPeak : levelDb;
    }

    /// The factor of the level's 20 log10: 20 log10(mean square) / 2 = 10 log10(mean square).
    static float levelScale(const Instance& inst) noexcept { return inst.rms ? 0.5f : 1.0f; }

    /// Level in dB of `frames` detector samples `source` into levelDb.
    void detect(const Instance& inst, Lane& lane, const float* source, float* levelDb, int frames) noexcept {
        elementwise().gainToDecibelsFloored(detectRaw(inst, lane, source, levelDb, frames), levelDb, frames, levelScale(inst),
                                            float(kFloorDb));
    }

    /// The static curve of a non-gate instance, as staticTargets takes it.
    struct Curve {
        float threshold, slope, knee, range;
        bool expand;
    };
    Curve curveOf(const Instance& inst) const noexcept {
        if (d_.kind == Kind::Compressor)
            return {float(inst.thresholdDb), float(1.0 / inst.ratio - 1.0), float(inst.kneeDb), 1e30f, false};
        return {float(inst.thresholdDb), float(inst.below ? inst.ratio - 1.0 : 1.0 / inst.ratio - 1.0), float(inst.kneeDb),
                float(inst.rangeDb), inst.below};
    }

    /// The gate's target change T in dB (>= 0) for linked level x; its state advances.
    double gateTarget(const Instance& inst, Lane& lane, double x) const noexcept {
        if (x >= inst.thresholdDb) {
            lane.open = true;
            lane.holdLeft = inst.holdFrames;
        } else if (lane.open) {
            if (x >= inst.thresholdDb - inst.hysteresisDb)
                lane.holdLeft = inst.holdFrames;
            else if (lane.holdLeft > 0)
                --lane.holdLeft;
            else
                lane.open = false;
        }
        return lane.open ? 0.0 : std::min(inst.rangeDb, -staticExpandDb(x, inst.thresholdDb, inst.ratio, 0.0));
    }

    /// Passes 1 and 2: the target change T of each lane of instance i into gainDb_[lane].
    void targetsOf(const ProcessContext& ctx, int i, int start, int frames) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        const int detectors = inst.sidechainChannels == 1 ? 1 : inst.channels;
        if (d_.kind != Kind::Gate && !(inst.link > 0 && detectors > 1 && !inst.sharedLevel)) {
            // No link between the levels and no gate state: each level goes from the detector to
            // its target in one pass (levelTargets), the operations of the passes below.
            const Curve curve = curveOf(inst);
            const bool one = detectors == 1 || inst.sharedLevel; // every channel keys on level 0
            for (int c = 0; c < inst.channels; ++c) {
                float* target = gainDb_[std::size_t(inst.firstLane + c)].data();
                if (one && c > 0) { // the same level, the same static curve
                    if (!inst.sharedLevel) std::copy_n(gainDb_[std::size_t(inst.firstLane)].data(), frames, target);
                    continue; // (a shared level's copies are not read: smooth(), apply())
                }
                const float* raw = inst.sharedLevel
                                       ? detectRaw(inst, lanes_[std::size_t(inst.firstLane)], loudestOf(ctx, inst, start, frames),
                                                   levelDb_[0].data(), frames)
                                       : detectRaw(inst, lanes_[std::size_t(inst.firstLane + c)],
                                                   detectorSignal(ctx, inst, c, start), levelDb_[std::size_t(c)].data(), frames);
                levelTargets_(raw, frames, levelScale(inst), float(kFloorDb), curve.threshold, curve.slope, curve.knee,
                              curve.range, curve.expand, inst.quietLevel, target);
            }
            return;
        }
        if (inst.sharedLevel) { // one level: that of max_c |d_c| (only the linked cases come here)
            detect(inst, lanes_[std::size_t(inst.firstLane)], loudestOf(ctx, inst, start, frames), levelDb_[0].data(), frames);
        } else {
            for (int k = 0; k < detectors; ++k)
                detect(inst, lanes_[std::size_t(inst.firstLane + k)], detectorSignal(ctx, inst, k, start),
                       levelDb_[std::size_t(k)].data(), frames);
        }
        // Stereo link: X_c = L_c + k (max_j L_j - L_c), in double as the level's own arithmetic.
        if (inst.link > 0 && detectors > 1 && !inst.sharedLevel) {
            std::copy_n(levelDb_[0].data(), frames, linked_.data());
            for (int k = 1; k < detectors; ++k)
                for (int n = 0; n < frames; ++n)
                    linked_[std::size_t(n)] = std::max(linked_[std::size_t(n)], levelDb_[std::size_t(k)][std::size_t(n)]);
            for (int k = 0; k < detectors; ++k) {
                float* level = levelDb_[std::size_t(k)].data();
                for (int n = 0; n < frames; ++n) {
                    const double x = double(level[n]);
                    level[n] = float(x + inst.link * (double(linked_[std::size_t(n)]) - x));
                }
            }
        }
        for (int c = 0; c < inst.channels; ++c) {
            const float* level = levelDb_[std::size_t(detectors == 1 || inst.sharedLevel ? 0 : c)].data();
            float* target = gainDb_[std::size_t(inst.firstLane + c)].data();
            if (inst.sharedLevel && c > 0) continue; // a copy of the first lane's: not read (smooth(), apply())
            switch (d_.kind) {
            case Kind::Gate: {
                Lane& lane = lanes_[std::size_t(inst.firstLane + c)];
                for (int n = 0; n < frames; ++n) target[n] = float(gateTarget(inst, lane, double(level[n])));
                break;
            }
            case Kind::Compressor:
            case Kind::DeEsser:
            case Kind::DynamicEq: {
                const Curve curve = curveOf(inst);
                staticTargets_(level, frames, curve.threshold, curve.slope, curve.knee, curve.range, curve.expand, target);
                break;
            }
            }
        }
    }

    /// Pass 3: the attack / release recursion of every lane, kSmoothLanes lanes at a time:
    /// gainDb_[lane] goes from T to the smoothed change magnitude (dB, >= 0).
    void smooth(int frames) noexcept {
        const int laneCount = int(lanes_.size());
        for (std::size_t g = 0; g < groups_.size(); ++g) {
            const int first = int(g) * kSmoothLanes;
            int count = std::min(kSmoothLanes, laneCount - first);
            // Copies of a shared level's first lane at the group's end rest (a stereo
            // compressor alone: one lane).
            while (count > 1 && copyLane_[std::size_t(first + count - 1)]) --count;
            const float* targets[kSmoothLanes];
            float* changes[kSmoothLanes];
            for (int l = 0; l < kSmoothLanes; ++l) { // idle lanes read zeros and write a scratch
                targets[l] = l < count ? gainDb_[std::size_t(first + l)].data() : idleTargets_.data();
                changes[l] = l < count ? gainDb_[std::size_t(first + l)].data() : idleChanges_.data();
            }
            SmoothGroup& group = groups_[g];
            smoothChanges_(targets, count, frames, group.coefficients, group.change, group.slow, changes);
        }
    }

    /// The frame's change of instance i read in place (one lane, or a shared level: the first's),
    /// or null when it is the largest of several lanes' (apply computes it).
    const float* changeInPlace(const Instance& inst) const noexcept {
        return inst.sharedLevel || inst.channels <= 1 ? gainDb_[std::size_t(inst.firstLane)].data() : nullptr;
    }

    /// Whether apply takes instance i's statistics in its gain pass (applyDecibelGainMeasured):
    /// one full-band lane, whose change is the frame's change and goes straight to the apply.
    bool measuredInApply(const Instance& inst) const noexcept { return inst.channels == 1 && !isSplit(d_.kind); }

    /// The statistics of the instances whose change is read in place, two at a time (their sums'
    /// latency chains overlap); the same per instance as apply's own call. Marks them done.
    void statisticsInPairs(int frames) noexcept {
        int waiting = -1; // an instance without a partner yet
        for (int i = 0; i < instanceCount(); ++i) {
            Instance& inst = instances_[std::size_t(i)];
            inst.statisticsDone = false;
            if (changeInPlace(inst) == nullptr || measuredInApply(inst)) continue;
            if (waiting < 0 || instances_[std::size_t(waiting)].frames != inst.frames) {
                waiting = i;
                continue;
            }
            Instance& other = instances_[std::size_t(waiting)];
            float most0 = float(other.maxChangeDb), most1 = float(inst.maxChangeDb);
            changeStatisticsPair_(changeInPlace(other), changeInPlace(inst), frames, inst.frames, other.sumChangeDb.data(),
                                  inst.sumChangeDb.data(), &most0, &most1);
            other.maxChangeDb = double(most0);
            inst.maxChangeDb = double(most1);
            other.statisticsDone = inst.statisticsDone = true;
            waiting = -1;
        }
    }

    /// Pass 4 for instance i: statistics, makeup, the gain applied.
    void apply(const ProcessContext& ctx, int i, int start, int frames) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        const bool keyed = inst.sidechainChannels > 0;
        const int detectors = inst.sidechainChannels == 1 ? 1 : inst.channels;
        // The frame's change: the largest of the lanes' (one lane, or a shared level: the first's,
        // read in place).
        const float* frameChange = gainDb_[std::size_t(inst.firstLane)].data();
        if (!inst.sharedLevel && inst.channels > 1) {
            std::copy_n(frameChange, frames, frameChange_.data());
            for (int c = 1; c < inst.channels; ++c) {
                const float* change = gainDb_[std::size_t(inst.firstLane + c)].data();
                for (int n = 0; n < frames; ++n) frameChange_[std::size_t(n)] = std::max(frameChange_[std::size_t(n)], change[n]);
            }
            frameChange = frameChange_.data();
        }
        // Statistics: the maximum is exact in any order; the sum runs in four accumulators by
        // absolute frame modulo 4 (each in frame order), so it does not depend on the split either.
        const std::int64_t framesBefore = inst.frames;
        const bool measureInApply = !inst.statisticsDone && measuredInApply(inst);
        // (else statisticsInPairs did it, or the apply does)
        recordChange(inst, frameChange, frames, !inst.statisticsDone && !measureInApply);

        // Makeup (compressor): a smoothed parameter, added in dB.
        // Settled: a constant (none when 0), else one value per frame.
        const std::int64_t position = ctx.position + start;
        const float* makeupCurve = nullptr;
        float makeupDb = 0.0f;
        if (d_.makeup.valid()) {
            const LinearRamp& makeup = ramp(i, d_.makeup);
            if (makeup.settledAt(position)) {
                makeupDb = float(makeup.target());
            } else {
                for (int n = 0; n < frames; ++n) makeup_[std::size_t(n)] = float(makeup.valueAt(position + n));
                makeupCurve = makeup_.data();
            }
        }
        const float sign = inst.boost ? 1.0f : -1.0f;
        for (int c = 0; c < inst.channels; ++c) {
            const float* x = ctx.inputs[0][inst.firstLane + c] + start;
            float* y = ctx.outputs[0][inst.firstLane + c] + start;
            const float* gain = gainDb_[std::size_t(inst.firstLane + c)].data();
            // Shared level: every channel's gain is the first's, and curve_ already holds it.
            const bool curveReady = inst.sharedLevel && c > 0;
            if (isSplit(d_.kind) && inst.listen) { // the detector band of this channel
                std::copy_n(band_[std::size_t(inst.firstLane + (detectors == 1 ? 0 : c))].data(), frames, y);
                continue;
            }
            if (!isSplit(d_.kind) && !(inst.sharedLevel && c + 1 < inst.channels) && !curveReady) {
                // The gain's factor applied as it is made (no later channel reads curve_).
                if (measureInApply) { // one lane: its change is the frame's change
                    float most = float(inst.maxChangeDb);
                    applyDecibelGainMeasured_(x, gain, sign, makeupCurve, makeupDb, y, frames, framesBefore,
                                              inst.sumChangeDb.data(), &most);
                    inst.maxChangeDb = double(most);
                } else {
                    applyDecibelGain_(x, gain, sign, makeupCurve, makeupDb, y, frames);
                }
                continue;
            }
            // The gain in dB (sign * change + makeup) and its factor, in one pass.
            if (!curveReady) elementwise().offsetDecibelsToGain(gain, sign, makeupCurve, makeupDb, curve_.data(), frames);
            if (!isSplit(d_.kind)) {
                elementwise().multiplyByCurve(x, curve_.data(), y, frames);
                continue;
            }
            // y = x + (g - 1) b, b = the band of this channel's audio.
            const float* b = band_[std::size_t(inst.firstLane + c)].data();
            if (keyed) {
                Lane& lane = lanes_[std::size_t(inst.firstLane + c)];
                for (int n = 0; n < frames; ++n)
                    audioBand_[std::size_t(n)] = float(lane.audioFilter.process(inst.detectorSection, double(x[n])));
                b = audioBand_.data();
            }
            for (int n = 0; n < frames; ++n) y[n] = x[n] + (curve_[std::size_t(n)] - 1.0f) * b[n];
        }
    }

    const DynamicsDecl& d_;
    std::vector<Instance> instances_;
    std::vector<Lane> lanes_;
    std::vector<std::vector<float>> levelDb_; ///< per detector: level in dB
    std::vector<std::vector<float>> band_;    ///< per detector lane: the filtered detector signal
    std::vector<std::vector<float>> gainDb_;  ///< per kernel lane: T, then the change, then the gain in dB
    /// kSmoothLanes lanes of the recursion: their coefficients and state.
    struct SmoothGroup {
        SmoothCoefficients coefficients{};
        double change[kSmoothLanes] = {}, slow[kSmoothLanes] = {};
    };
    std::vector<SmoothGroup> groups_;
    std::vector<char> copyLane_; ///< per lane: a copy of its instance's first (shared level), not smoothed
    biquad::Bank bank_{};        ///< the detector filters of all lanes
    std::vector<double> bankCoefficients_, bankState_, bankRoundAfter_, bankScratch_;
    unsigned char bankSectionRounds_ = 0;
    std::vector<const float*> bankIn_;
    std::vector<float*> bankOut_;
    std::vector<float> zeros_;
    bool anyFiltered_ = false;
    void (*processBank_)(const biquad::Bank&, const float* const*, float* const*, int, int) noexcept = nullptr;
    std::vector<float> idleTargets_, idleChanges_; ///< the padding lanes of the last group
    void (*smoothChanges_)(const float* const*, int, int, const SmoothCoefficients&, double*, double*,
                           float* const*) noexcept = nullptr;
    void (*staticTargets_)(const float*, int, float, float, float, float, bool, float*) noexcept = nullptr;
    void (*changeStatistics_)(const float*, int, std::int64_t, double*, float*) noexcept = nullptr;
    void (*changeStatisticsPair_)(const float*, const float*, int, std::int64_t, double*, double*, float*,
                                  float*) noexcept = nullptr;
    void (*levelTargets_)(const float*, int, float, float, float, float, float, float, bool, float, float*) noexcept = nullptr;
    void (*applyDecibelGain_)(const float*, const float*, float, const float*, float, float*, int) noexcept = nullptr;
    void (*applyDecibelGainMeasured_)(const float*, const float*, float, const float*, float, float*, int, std::int64_t, double*,
                                      float*) noexcept = nullptr;
    void (*compressOneLane_)(const float*, int, const OneLaneCurve&, const SmoothCoefficients&, double*, float*, float, float,
                             const float* const*, float* const*, int) noexcept = nullptr;
    std::vector<float> curve_, audioBand_, linked_, makeup_, frameChange_;
    /// Up to kMaxLanes peak detectors with one window: their sliding maxima run together.
    struct MaxGroup {
        int count = 0;
        std::array<int, kMaxLanes> instances{}; ///< mono instances, one detector lane each
        std::vector<float> chunk, suffix, prefix;
        MaxLanesState state;
    };
    std::vector<MaxGroup> maxGroups_;
    std::vector<std::vector<float>> maxOut_; ///< per lane: the batched maxima of the segment
    std::vector<float> maxScratch_, maxZeros_;
    void (*slidingMaximumLanes_)(MaxLanesState&, const float* const*, int, float* const*) noexcept = nullptr;
};

} // namespace

float quietLevel(double t, double w, double scale, double floorDb) noexcept {
    const double margin = 1e-3 + 1e-5 * (std::fabs(t) + std::fabs(w));
    const double edge = t - 0.5 * w - margin; // dB
    if (!(w >= 0) || !(scale > 0) || !(edge > floorDb + 1) || !std::isfinite(edge)) return -1.0f;
    const double level = std::pow(10.0, edge / (20.0 * scale)) * (1 - 1e-12);
    if (!(level < double(std::numeric_limits<float>::max()))) return -1.0f;
    float quiet = float(level);
    if (double(quiet) > level) quiet = std::nextafter(quiet, 0.0f); // rounded down
    return quiet;
}

void SlidingMaximum::prepare(int windowFrames, SimdArch simd) {
    window_ = windowFrames < 1 ? 1 : windowFrames;
    scanRun_ = SG_SIMD_PICK(simd, slidingMaximumRun);
    scanSuffix_ = SG_SIMD_PICK(simd, slidingMaximumSuffix);
    chunk_.assign(std::size_t(window_), 0.0f);
    suffix_.assign(std::size_t(window_) + 1, 0.0f);
    reset();
}

void SlidingMaximum::reset() noexcept {
    std::fill(suffix_.begin(), suffix_.end(), 0.0f);
    at_ = 0;
    prefix_ = 0;
}

void SlidingMaximum::mergeFrom(const SlidingMaximum& other) noexcept {
    for (int j = 0; j < at_; ++j) chunk_[std::size_t(j)] = std::max(chunk_[std::size_t(j)], other.chunk_[std::size_t(j)]);
    for (std::size_t j = 0; j < suffix_.size(); ++j) suffix_[j] = std::max(suffix_[j], other.suffix_[j]);
    prefix_ = std::max(prefix_, other.prefix_);
}

void SlidingMaximum::process(const float* x, int frames, float* out) noexcept {
    // Both scans work 4 frames at a time: the maxima inside a group of 4 do not depend on the
    // running value, so the dependency chain is one max per 4 frames.
    const int w = window_;
    float* chunk = chunk_.data();
    float* suffix = suffix_.data();
    for (int n = 0; n < frames;) {
        const int end = at_ + std::min(frames - n, w - at_);
        float prefix = prefix_;
        // Vector scans as far as they can (no NaN, no denormal: there the order of the maxima
        // cannot matter); this loop does the rest, from a multiple of 4 frames on as before.
        const int done = scanRun_(x + n, end - at_, chunk + at_, suffix + at_ + 1, prefix, out + n);
        int j = at_ + done;
        n += done;
        for (; j + 4 <= end; j += 4, n += 4) {
            const float v0 = std::fabs(x[n]), v1 = std::fabs(x[n + 1]), v2 = std::fabs(x[n + 2]), v3 = std::fabs(x[n + 3]);
            chunk[j] = v0;
            chunk[j + 1] = v1;
            chunk[j + 2] = v2;
            chunk[j + 3] = v3;
            const float v01 = std::max(v0, v1), v012 = std::max(v01, v2), v0123 = std::max(v012, v3);
            out[n] = std::max(suffix[j + 1], std::max(prefix, v0));
            out[n + 1] = std::max(suffix[j + 2], std::max(prefix, v01));
            out[n + 2] = std::max(suffix[j + 3], std::max(prefix, v012));
            prefix = std::max(prefix, v0123);
            out[n + 3] = std::max(suffix[j + 4], prefix);
        }
        for (; j < end; ++j, ++n) {
            const float v = std::fabs(x[n]);
            chunk[j] = v;
            prefix = std::max(prefix, v);
            out[n] = std::max(suffix[j + 1], prefix);
        }
        prefix_ = prefix;
        at_ = end;
        if (at_ == w && scanSuffix_(chunk, w, suffix)) { // complete: its suffix maxima serve the next one
            at_ = 0;
            prefix_ = 0;
        } else if (at_ == w) {
            float most = 0;
            int k = w;
            for (; k >= 4; k -= 4) {
                const float v3 = chunk[k - 1], v23 = std::max(chunk[k - 2], v3), v123 = std::max(chunk[k - 3], v23),
                            v0123 = std::max(chunk[k - 4], v123);
                suffix[k - 1] = std::max(most, v3);
                suffix[k - 2] = std::max(most, v23);
                suffix[k - 3] = std::max(most, v123);
                suffix[k - 4] = most = std::max(most, v0123);
            }
            for (; k >= 1; --k) suffix[k - 1] = most = std::max(most, chunk[k - 1]);
            at_ = 0;
            prefix_ = 0;
        }
    }
}

void DynamicsDecl::declareDetector(double defaultWindowMs, double defaultLinkPercent) {
    detector = decl.param("detector")
                   .plain(0, 1)
                   .choices({kDetectorPeak, kDetectorRms})
                   .defaultValue(kDetectorPeak)
                   .describe("Level detector: 0 = peak (largest |x| over the window), 1 = rms (mean square over the window). "
                             "Fixed when the graph is compiled.")
                   .fixed();
    window = decl.param("window")
                 .time(0, kMaxWindowMs)
                 .defaultValue(defaultWindowMs)
                 .describe("Detector window W (at least 1 frame): the span of the peak's sliding maximum or of the rms "
                           "mean. A peak holds for W before the level falls. Fixed when the graph is compiled.")
                 .fixed();
    link = decl.param("link")
               .percent(0, 100)
               .defaultValue(defaultLinkPercent)
               .describe("Stereo link: 0 % = each channel keys on its own level, 100 % = on the loudest channel, in "
                         "between a mix of the two levels in dB.")
               .stepped();
}

std::string DynamicsType::resolveChannels(const ParamValues&, std::span<const int> in, std::vector<int>& out) const {
    const int channels = in.empty() ? 0 : in[0];
    if (channels <= 0) return "input 'in' is not connected";
    const int sidechain = in.size() > 1 ? in[1] : 0;
    if (sidechain != 0 && sidechain != 1 && sidechain != channels)
        return "sidechain: expects 1 or " + std::to_string(channels) + " channels (as in), got " + std::to_string(sidechain);
    out.assign(info().outputs.size(), channels);
    return {};
}

double DynamicsType::tailSeconds(const ParamValues& params, double sampleRate) const {
    // Full band: y = g x, so silence in gives silence out at once, whatever the gain does.
    // Split band: y = x + (g - 1) B(x) rings for as long as the band filter does.
    if (!isSplit(d_.kind) || sampleRate <= 0) return 0.0;
    const double hz = paramValue(params, d_.freq, 1000), q = paramValue(params, d_.q, kButterworthQ);
    const biquad::Shape shape = d_.kind == Kind::DeEsser                                      ? biquad::Shape::Highpass
                                : paramValue(params, d_.shape, kShapePeak) == kShapeLowShelf  ? biquad::Shape::Lowpass
                                : paramValue(params, d_.shape, kShapePeak) == kShapeHighShelf ? biquad::Shape::Highpass
                                                                                              : biquad::Shape::Bandpass;
    const double usedQ = shape == biquad::Shape::Bandpass ? q : kButterworthQ;
    return biquad::decayFrames(biquad::cookbookSection(shape, hz, usedQ, 0, sampleRate)) / sampleRate;
}

std::unique_ptr<NodeKernel> DynamicsType::createKernel() const { return std::make_unique<DynamicsKernel>(d_); }

} // namespace sg::dynamics

namespace sg {

void registerDynamicsNodes(Registry& registry) {
    dynamics::registerCompressor(registry);
    dynamics::registerGate(registry);
    dynamics::registerDeEsser(registry);
    dynamics::registerDynamicEq(registry);
}

} // namespace sg
