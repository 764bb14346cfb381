// The kernel of compressor, gate, deesser and dynamic_eq (maths: DynamicsCore.h).
//
// Per instance and segment: the detector runs per detector channel (filter, sliding maximum or
// box mean square, then dB through the shared vector log, Elementwise::gainToDecibels), the gain
// computer and the smoother run per lane and frame in double (no transcendental inside: the
// static curves are polynomials in dB, the smoother one multiply-add), and the gain goes back to
// linear through the shared vector exp (Elementwise::decibelsToGain) and is applied along time.
// Everything depends on the frames processed since reset only, so output is bit-identical for
// every block split; a lane never reads another instance's lanes, so batched = unbatched.
#include "nodes/dynamics/DynamicsKernel.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "core/SeriesRecorder.h"
#include "nodes/filters/BiquadDesign.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace sg::dynamics {

namespace {

/// A smoothed change this small (dB) is exactly 0, so a released gain returns to exactly 1.
constexpr double kSnapDb = 1e-7;
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
        out.push_back({"mean_" + what + "_db", inst.sumChangeDb / double(std::max<std::int64_t>(1, inst.frames)), "dB"});
    }
    void series(int instance, std::vector<MeasurementSeries>& out) const override {
        if (instance < 0 || std::size_t(instance) >= instances_.size()) return;
        out.push_back(instances_[std::size_t(instance)].recorder.snapshot(
            d_.kind == Kind::DynamicEq ? "gain_change_db" : "gain_reduction_db", "dB"));
    }

private:
    struct Lane {
        biquad::SectionState detectorFilter;   ///< sidechain high-pass or band filter of the detector
        biquad::SectionState audioFilter;      ///< band filter of the audio (split types with a sidechain)
        std::vector<float> ring;               ///< last W values of |d| (peak) or d^2 (rms)
        std::vector<std::int64_t> dequeFrames; ///< sliding maximum: frames of a decreasing run
        std::vector<float> dequeValues;
        std::size_t dequeHead = 0, dequeCount = 0;
        std::int64_t frames = 0; ///< frames detected since reset
        double sum = 0;          ///< rms: sum of the ring
        double change = 0;       ///< C, dB >= 0
        double slow = 0;         ///< auto release: slow path, dB >= 0
        bool open = false;       ///< gate
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
        biquad::Section detectorSection{}; ///< also the audio band of split types
        double maxChangeDb = 0, sumChangeDb = 0;
        std::int64_t frames = 0;
        SeriesRecorder recorder;
    };

    double get(int i, ParamRef p, double fallback) const { return p.valid() ? value(i, p) : fallback; }

    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup> setups) override {
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
                lane.ring.assign(std::size_t(inst.windowFrames), 0.0f);
                lane.dequeFrames.assign(std::size_t(inst.windowFrames) + 1, 0);
                lane.dequeValues.assign(std::size_t(inst.windowFrames) + 1, 0.0f);
                lanes_.push_back(std::move(lane));
            }
            update(i);
        }
        const std::size_t padded = std::size_t(maxBlockFrames()) + 16;
        levelDb_.assign(std::size_t(widest), std::vector<float>(padded, 0.0f));
        band_.assign(std::size_t(widest), std::vector<float>(padded, 0.0f));
        gainDb_.assign(std::size_t(widest), std::vector<float>(padded, 0.0f));
        curve_.assign(padded, 0.0f);
        audioBand_.assign(padded, 0.0f);
        linked_.assign(padded, 0.0f);
        makeup_.assign(padded, 0.0f);
        frameChange_.assign(padded, 0.0f);
        return {};
    }

    void clearState() noexcept override {
        for (Lane& lane : lanes_) {
            lane.detectorFilter.clear();
            lane.audioFilter.clear();
            std::fill(lane.ring.begin(), lane.ring.end(), 0.0f);
            lane.dequeHead = lane.dequeCount = 0;
            lane.frames = 0;
            lane.sum = lane.change = lane.slow = 0;
            lane.open = false;
            lane.holdLeft = 0;
        }
        for (Instance& inst : instances_) {
            inst.maxChangeDb = inst.sumChangeDb = 0;
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
        const double attack = timeConstantFactor(get(i, d_.attack, 0), fs);
        const double releaseMs = get(i, d_.release, 0);
        const double release = timeConstantFactor(releaseMs, fs);
        // The gate's change is an attenuation: it rises when the gate closes (release).
        inst.riseFactor = d_.kind == Kind::Gate ? release : attack;
        inst.fallFactor = d_.kind == Kind::Gate ? attack : release;
        inst.slowRiseFactor = timeConstantFactor(kSlowAttackReleases * releaseMs, fs);
        inst.slowFallFactor = timeConstantFactor(kSlowReleaseReleases * releaseMs, fs);
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
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) run(ctx, i, start, frames);
    }

    /// Level in dB of `frames` detector samples `d` into levelDb (filters `d` into `band` first
    /// when the instance filters its detector; `band` then holds the filtered signal).
    void detect(const Instance& inst, Lane& lane, const float* d, float* band, float* levelDb, int frames) noexcept {
        const float* source = d;
        if (inst.detectorFiltered) {
            for (int n = 0; n < frames; ++n) band[n] = float(lane.detectorFilter.process(inst.detectorSection, double(d[n])));
            source = band;
        }
        const std::size_t w = std::size_t(inst.windowFrames);
        if (inst.rms) {
            for (int n = 0; n < frames; ++n) {
                const std::size_t at = std::size_t(lane.frames++ % std::int64_t(w));
                const float square = source[n] * source[n];
                lane.sum += double(square) - double(lane.ring[at]);
                lane.ring[at] = square;
                if (at + 1 == w) { // once per window: the exact sum again, so rounding never drifts
                    double exact = 0;
                    for (float v : lane.ring) exact += double(v);
                    lane.sum = exact;
                }
                levelDb[n] = float(std::max(lane.sum, 0.0) / double(w));
            }
        } else {
            const std::size_t slots = lane.dequeFrames.size();
            for (int n = 0; n < frames; ++n) {
                const std::int64_t frame = lane.frames++;
                const float v = std::fabs(source[n]);
                while (lane.dequeCount > 0 && lane.dequeValues[(lane.dequeHead + lane.dequeCount - 1) % slots] <= v)
                    --lane.dequeCount;
                const std::size_t at = (lane.dequeHead + lane.dequeCount) % slots;
                lane.dequeFrames[at] = frame;
                lane.dequeValues[at] = v;
                ++lane.dequeCount;
                if (lane.dequeFrames[lane.dequeHead] <= frame - std::int64_t(w)) {
                    lane.dequeHead = (lane.dequeHead + 1) % slots;
                    --lane.dequeCount;
                }
                levelDb[n] = lane.dequeValues[lane.dequeHead];
            }
        }
        elementwise().gainToDecibels(levelDb, levelDb, frames);
        const float scale = inst.rms ? 0.5f : 1.0f; // 20 log10(mean square) / 2 = 10 log10(mean square)
        for (int n = 0; n < frames; ++n) levelDb[n] = std::max(levelDb[n] * scale, float(kFloorDb));
    }

    /// Target change T in dB (>= 0) for linked level x; the gate's state advances.
    double target(const Instance& inst, Lane& lane, double x) const noexcept {
        switch (d_.kind) {
        case Kind::Compressor:
            return -staticCompressDb(x, inst.thresholdDb, inst.ratio, inst.kneeDb);
        case Kind::Gate:
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
        case Kind::DeEsser:
        case Kind::DynamicEq:
            return std::min(inst.rangeDb, inst.below ? -staticExpandDb(x, inst.thresholdDb, inst.ratio, inst.kneeDb)
                                                     : -staticCompressDb(x, inst.thresholdDb, inst.ratio, inst.kneeDb));
        }
        return 0.0;
    }

    void run(const ProcessContext& ctx, int i, int start, int frames) noexcept {
        Instance& inst = instances_[std::size_t(i)];
        const bool keyed = inst.sidechainChannels > 0;
        const int detectors = inst.sidechainChannels == 1 ? 1 : inst.channels;
        for (int k = 0; k < detectors; ++k) {
            const float* d = keyed ? ctx.inputs[1][inst.firstSidechain + k] + start : ctx.inputs[0][inst.firstLane + k] + start;
            detect(inst, lanes_[std::size_t(inst.firstLane + k)], d, band_[std::size_t(k)].data(),
                   levelDb_[std::size_t(k)].data(), frames);
        }
        // Stereo link: X_c = L_c + k (max_j L_j - L_c).
        const bool linking = inst.link > 0 && detectors > 1;
        if (linking) {
            std::copy_n(levelDb_[0].data(), frames, linked_.data());
            for (int k = 1; k < detectors; ++k)
                for (int n = 0; n < frames; ++n)
                    linked_[std::size_t(n)] = std::max(linked_[std::size_t(n)], levelDb_[std::size_t(k)][std::size_t(n)]);
        }
        std::fill_n(frameChange_.data(), frames, 0.0f);
        const double sign = inst.boost ? 1.0 : -1.0;
        for (int c = 0; c < inst.channels; ++c) {
            Lane& lane = lanes_[std::size_t(inst.firstLane + c)];
            const float* level = levelDb_[std::size_t(detectors == 1 ? 0 : c)].data();
            float* gain = gainDb_[std::size_t(c)].data();
            for (int n = 0; n < frames; ++n) {
                double x = double(level[n]);
                if (linking) x += inst.link * (double(linked_[std::size_t(n)]) - x);
                const double t = target(inst, lane, x);
                lane.change = t + (t > lane.change ? inst.riseFactor : inst.fallFactor) * (lane.change - t);
                if (lane.change < kSnapDb) lane.change = 0.0;
                double change = lane.change;
                if (inst.autoRelease) {
                    lane.slow = t + (t > lane.slow ? inst.slowRiseFactor : inst.slowFallFactor) * (lane.slow - t);
                    if (lane.slow < kSnapDb) lane.slow = 0.0;
                    change = std::max(change, lane.slow);
                }
                gain[n] = float(sign * change);
                frameChange_[std::size_t(n)] = std::max(frameChange_[std::size_t(n)], float(change));
            }
        }
        for (int n = 0; n < frames; ++n) {
            const double change = double(frameChange_[std::size_t(n)]);
            inst.maxChangeDb = std::max(inst.maxChangeDb, change);
            inst.sumChangeDb += change;
            inst.recorder.add(float(change));
        }
        inst.frames += frames;

        // Makeup (compressor): a smoothed parameter, added in dB.
        const std::int64_t position = ctx.position + start;
        bool withMakeup = false;
        if (d_.makeup.valid()) {
            const LinearRamp& makeup = ramp(i, d_.makeup);
            if (makeup.settledAt(position)) {
                std::fill_n(makeup_.data(), frames, float(makeup.target()));
                withMakeup = makeup.target() != 0.0;
            } else {
                for (int n = 0; n < frames; ++n) makeup_[std::size_t(n)] = float(makeup.valueAt(position + n));
                withMakeup = true;
            }
        }
        for (int c = 0; c < inst.channels; ++c) {
            const float* x = ctx.inputs[0][inst.firstLane + c] + start;
            float* y = ctx.outputs[0][inst.firstLane + c] + start;
            float* gain = gainDb_[std::size_t(c)].data();
            if (withMakeup)
                for (int n = 0; n < frames; ++n) gain[n] += makeup_[std::size_t(n)];
            if (isSplit(d_.kind) && inst.listen) { // the detector band of this channel
                std::copy_n(band_[std::size_t(detectors == 1 ? 0 : c)].data(), frames, y);
                continue;
            }
            elementwise().decibelsToGain(gain, curve_.data(), frames);
            if (!isSplit(d_.kind)) {
                elementwise().multiplyByCurve(x, curve_.data(), y, frames);
                continue;
            }
            // y = x + (g - 1) b, b = the band of this channel's audio.
            const float* b = band_[std::size_t(c)].data();
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
    std::vector<std::vector<float>> band_;    ///< per detector: the filtered detector signal
    std::vector<std::vector<float>> gainDb_;  ///< per channel: gain in dB
    std::vector<float> curve_, audioBand_, linked_, makeup_, frameChange_;
};

} // namespace

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
