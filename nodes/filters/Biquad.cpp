#include "nodes/filters/Biquad.h"
#include "core/Buffer.h"

#include "core/Registry.h"
#include "core/Smoother.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <numbers>
#include <vector>

namespace sg {

namespace {

enum class Shape { Lowpass, Highpass, Bandpass, Notch, Allpass, Peak, LowShelf, HighShelf };
enum class Role { Freq, Q, Gain, Slope, None };

constexpr double kSmoothingMs = 20;
constexpr double kMinFreqHz = 10, kMaxFreqHz = 24000;
constexpr double kMinQ = 0.1, kMaxQ = 40;
constexpr double kMinGainDb = -30, kMaxGainDb = 30;
constexpr double kNyquistClamp = 0.49; ///< f0 is limited to this fraction of the sample rate
constexpr int kMaxSections = 4;

struct ShapeDecl {
    const char* name;
    Shape shape;
};
constexpr ShapeDecl kShapes[] = {
    {"lowpass", Shape::Lowpass}, {"highpass", Shape::Highpass}, {"bandpass", Shape::Bandpass}, {"notch", Shape::Notch},
    {"allpass", Shape::Allpass}, {"peak", Shape::Peak},         {"lowshelf", Shape::LowShelf}, {"highshelf", Shape::HighShelf},
};

bool shapeFromName(const std::string& name, Shape& shape) {
    for (const ShapeDecl& d : kShapes)
        if (name == d.name) {
            shape = d.shape;
            return true;
        }
    return false;
}

const char* shapeName(Shape shape) {
    for (const ShapeDecl& d : kShapes)
        if (d.shape == shape) return d.name;
    return "biquad";
}

bool hasSlope(Shape shape) { return shape == Shape::Lowpass || shape == Shape::Highpass; }

// ---- declarations -------------------------------------------------------------------------

ParamInfo freqParam(double defaultHz, const char* what) {
    return {"freq",
            UnitKind::Frequency,
            kMinFreqHz,
            kMaxFreqHz,
            defaultHz,
            kSmoothingMs,
            std::string(what) + "; clamped to 0.49 x sample rate. Changes glide over 20 ms.",
            {}};
}
ParamInfo qParam(double defaultQ, const char* what) {
    return {"q", UnitKind::Plain, kMinQ, kMaxQ, defaultQ, kSmoothingMs, what, {}};
}
ParamInfo gainParam(const char* what) { return {"gain", UnitKind::Gain, kMinGainDb, kMaxGainDb, 0, kSmoothingMs, what, {}}; }

NodeTypeInfo shapeInfo(Shape shape) {
    NodeTypeInfo info;
    info.name = shapeName(shape);
    info.family = "filters";
    info.inputs = {{"in", "signal, any number of channels (each filtered alike)", true}};
    info.outputs = {{"out", "filtered signal", true}};
    info.channelRule = "out has the channels of in";
    info.batchable = true;
    info.inPlace = true;
    info.fusionFamily = "biquad"; // one kernel runs any series of biquad-family nodes as sections
    const std::string common =
        "RBJ Audio-EQ-Cookbook (R. Bristow-Johnson): bilinear transform of the analog prototype, prewarped at f0; "
        "w0 = 2 pi f0/fs, alpha = sin(w0)/(2Q)";
    const char* butterworthQ =
        "Resonance of the 12 dB/oct section (0.7071 = Butterworth, higher peaks at freq). Ignored for slope 24 and 48, "
        "which are Butterworth cascades.";
    const char* slopeText =
        "Steepness in dB/octave: 12 = one section with q; 24 and 48 = Butterworth cascades of 2 and 4 sections "
        "(section Qs from the Butterworth pole angles).";
    switch (shape) {
    case Shape::Lowpass:
        info.description = "Removes content above freq; 12, 24 or 48 dB/octave.";
        info.params = {freqParam(10000, "Cutoff frequency (-3 dB for Butterworth settings)"),
                       qParam(std::numbers::sqrt2 / 2, butterworthQ),
                       {"slope", UnitKind::Plain, 12, 48, 12, 0, slopeText, {12, 24, 48}}};
        info.reference = common + ". H(s) = 1/(s^2 + s/Q + 1); slopes 24/48: Butterworth |H|^2 = 1/(1 + W^2N), "
                                  "N = slope/6, section Q_k = 1/(2 cos((2k-1) pi/2N)).";
        break;
    case Shape::Highpass:
        info.description = "Removes content below freq (rumble, DC); 12, 24 or 48 dB/octave.";
        info.params = {freqParam(100, "Cutoff frequency (-3 dB for Butterworth settings)"),
                       qParam(std::numbers::sqrt2 / 2, butterworthQ),
                       {"slope", UnitKind::Plain, 12, 48, 12, 0, slopeText, {12, 24, 48}}};
        info.reference = common + ". H(s) = s^2/(s^2 + s/Q + 1); slopes 24/48: Butterworth |H|^2 = W^2N/(1 + W^2N), "
                                  "N = slope/6, section Q_k = 1/(2 cos((2k-1) pi/2N)).";
        break;
    case Shape::Bandpass:
        info.description = "Passes a band around freq at 0 dB peak gain, 12 dB/octave skirts.";
        info.params = {freqParam(1000, "Centre frequency"),
                       qParam(std::numbers::sqrt2 / 2, "Centre frequency / bandwidth between the -3 dB points.")};
        info.reference = common + ". Constant 0 dB peak gain: H(s) = (s/Q)/(s^2 + s/Q + 1).";
        break;
    case Shape::Notch:
        info.description = "Removes a narrow band around freq (hum, a resonance).";
        info.params = {freqParam(1000, "Centre frequency (infinite attenuation)"),
                       qParam(std::numbers::sqrt2 / 2, "Centre frequency / bandwidth between the -3 dB points; "
                                                       "higher is narrower.")};
        info.reference = common + ". H(s) = (s^2 + 1)/(s^2 + s/Q + 1).";
        break;
    case Shape::Allpass:
        info.description = "Unity gain at every frequency; phase turns through -360 degrees around freq.";
        info.params = {freqParam(1000, "Frequency of -180 degrees phase"),
                       qParam(std::numbers::sqrt2 / 2, "Sharpness of the phase transition around freq.")};
        info.reference = common + ". H(s) = (s^2 - s/Q + 1)/(s^2 + s/Q + 1).";
        break;
    case Shape::Peak:
        info.description = "Boosts or cuts a band around freq by gain (parametric EQ bell).";
        info.params = {freqParam(1000, "Centre frequency"),
                       qParam(1, "Bandwidth: higher is narrower (cookbook Q of the peaking EQ)."),
                       gainParam("Boost (+) or cut (-) at freq.")};
        info.reference = common + ", A = 10^(gain/40). H(s) = (s^2 + s A/Q + 1)/(s^2 + s/(A Q) + 1).";
        break;
    case Shape::LowShelf:
        info.description = "Boosts or cuts everything below freq by gain.";
        info.params = {freqParam(100, "Shelf midpoint frequency (gain/2 there)"), gainParam("Shelf gain below freq."),
                       qParam(std::numbers::sqrt2 / 2, "Shelf steepness (0.7071 = steepest with no overshoot).")};
        info.reference = common + ", A = 10^(gain/40). H(s) = A (s^2 + (sqrt(A)/Q) s + A)/(A s^2 + (sqrt(A)/Q) s + 1).";
        break;
    case Shape::HighShelf:
        info.description = "Boosts or cuts everything above freq by gain.";
        info.params = {freqParam(10000, "Shelf midpoint frequency (gain/2 there)"), gainParam("Shelf gain above freq."),
                       qParam(std::numbers::sqrt2 / 2, "Shelf steepness (0.7071 = steepest with no overshoot).")};
        info.reference = common + ", A = 10^(gain/40). H(s) = A (A s^2 + (sqrt(A)/Q) s + 1)/(s^2 + (sqrt(A)/Q) s + A).";
        break;
    }
    return info;
}

/// Which role each parameter index of a shape's table plays.
std::vector<Role> shapeRoles(Shape shape) {
    std::vector<Role> roles;
    for (const ParamInfo& p : shapeInfo(shape).params) {
        if (p.id == "freq")
            roles.push_back(Role::Freq);
        else if (p.id == "q")
            roles.push_back(Role::Q);
        else if (p.id == "gain")
            roles.push_back(Role::Gain);
        else if (p.id == "slope")
            roles.push_back(Role::Slope);
        else
            roles.push_back(Role::None);
    }
    return roles;
}

/// Second-order sections for a shape and its slope parameter (12 dB/oct per section).
int sectionCount(Shape shape, double slopeDbPerOctave) {
    if (!hasSlope(shape)) return 1;
    if (slopeDbPerOctave >= 48) return 4;
    if (slopeDbPerOctave >= 24) return 2;
    return 1;
}

// ---- coefficients ---------------------------------------------------------------------------

/// Normalised coefficients of one section: b0 b1 b2 a1 a2 (a0 = 1).
using Section = std::array<double, 5>;

/// One RBJ cookbook section.
Section cookbookSection(Shape shape, double freqHz, double q, double gainDb, double sampleRate) {
    const double f0 = std::clamp(freqHz, 1e-3, kNyquistClamp * sampleRate);
    const double w0 = 2 * std::numbers::pi * f0 / sampleRate;
    const double cosW = std::cos(w0), sinW = std::sin(w0);
    const double alpha = sinW / (2 * q);
    const double A = std::pow(10.0, gainDb / 40);
    double b0 = 1, b1 = 0, b2 = 0, a0 = 1, a1 = 0, a2 = 0;
    switch (shape) {
    case Shape::Lowpass:
        b0 = (1 - cosW) / 2;
        b1 = 1 - cosW;
        b2 = (1 - cosW) / 2;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Highpass:
        b0 = (1 + cosW) / 2;
        b1 = -(1 + cosW);
        b2 = (1 + cosW) / 2;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Bandpass:
        b0 = alpha;
        b1 = 0;
        b2 = -alpha;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Notch:
        b0 = 1;
        b1 = -2 * cosW;
        b2 = 1;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Allpass:
        b0 = 1 - alpha;
        b1 = -2 * cosW;
        b2 = 1 + alpha;
        a0 = 1 + alpha;
        a1 = -2 * cosW;
        a2 = 1 - alpha;
        break;
    case Shape::Peak:
        b0 = 1 + alpha * A;
        b1 = -2 * cosW;
        b2 = 1 - alpha * A;
        a0 = 1 + alpha / A;
        a1 = -2 * cosW;
        a2 = 1 - alpha / A;
        break;
    case Shape::LowShelf: {
        const double k = 2 * std::sqrt(A) * alpha;
        b0 = A * ((A + 1) - (A - 1) * cosW + k);
        b1 = 2 * A * ((A - 1) - (A + 1) * cosW);
        b2 = A * ((A + 1) - (A - 1) * cosW - k);
        a0 = (A + 1) + (A - 1) * cosW + k;
        a1 = -2 * ((A - 1) + (A + 1) * cosW);
        a2 = (A + 1) + (A - 1) * cosW - k;
        break;
    }
    case Shape::HighShelf: {
        const double k = 2 * std::sqrt(A) * alpha;
        b0 = A * ((A + 1) + (A - 1) * cosW + k);
        b1 = -2 * A * ((A - 1) + (A + 1) * cosW);
        b2 = A * ((A + 1) + (A - 1) * cosW - k);
        a0 = (A + 1) - (A - 1) * cosW + k;
        a1 = 2 * ((A - 1) - (A + 1) * cosW);
        a2 = (A + 1) - (A - 1) * cosW - k;
        break;
    }
    }
    return {b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0};
}

/// All sections of a filter: one cookbook section, or a Butterworth cascade for
/// lowpass/highpass with sections > 1 (q ignored there).
void designSections(Shape shape, int sections, double freqHz, double q, double gainDb, double sampleRate, Section* out) {
    if (sections <= 1) {
        out[0] = cookbookSection(shape, freqHz, q, gainDb, sampleRate);
        return;
    }
    const int order = 2 * sections;
    for (int k = 1; k <= sections; ++k) { // ascending Q: the gentlest section first
        const double angle = (2 * k - 1) * std::numbers::pi / (2 * order);
        out[k - 1] = cookbookSection(shape, freqHz, 1 / (2 * std::cos(angle)), gainDb, sampleRate);
    }
}

/// Frames for a section's impulse response to decay by 120 dB (largest pole radius).
double decayFrames(const Section& s) {
    const std::complex<double> disc = std::sqrt(std::complex<double>(s[3] * s[3] - 4 * s[4]));
    const double r = std::max(std::abs((-s[3] + disc) / 2.0), std::abs((-s[3] - disc) / 2.0));
    if (!(r < 1)) return 0;
    if (r <= 0) return 2;
    return std::log(1e-6) / std::log(r) + 2;
}

// ---- aligned storage ----------------------------------------------------------------------

using AlignedDoubles = AlignedArray<double>;

// ---- kernel ---------------------------------------------------------------------------------

class BiquadKernel final : public NodeKernel {
public:
    explicit BiquadKernel(Shape shape) : ownShape_(shape) {}

    std::string prepare(const PrepareSpec& spec, std::span<const InstanceSetup> setups) override {
        sampleRate_ = spec.sampleRate;
        process_ = SG_SIMD_PICK(spec.simd, processBiquadBank);
        smoothingFrames_ = std::llround(kSmoothingMs * spec.sampleRate / 1000.0);
        queue_.reserve(16 + 8 * setups.size());
        stages_.clear();
        stageBegin_.assign(1, 0);
        int lanes = 0, sections = -1;
        for (const InstanceSetup& setup : setups) {
            const int channels = setup.inputChannels.empty() ? 0 : setup.inputChannels[0];
            if (channels <= 0) return "input 'in' is not connected";
            // A fused chain runs its stages' sections in series; a plain instance is one stage.
            const std::size_t stageCount = setup.stages.empty() ? 1 : setup.stages.size();
            int instanceSections = 0;
            for (std::size_t k = 0; k < stageCount; ++k) {
                const std::string& type = setup.stages.empty() ? setup.type : setup.stages[k].type;
                const ParamValues& params = setup.stages.empty() ? setup.params : setup.stages[k].params;
                Stage stage;
                stage.shape = ownShape_;
                if (!type.empty() && !shapeFromName(type, stage.shape))
                    return "the biquad kernel cannot run node type '" + type + "'";
                stage.roles = shapeRoles(stage.shape);
                if (params.size() != stage.roles.size())
                    return std::string(shapeName(stage.shape)) + ": expected " + std::to_string(stage.roles.size()) +
                           " parameters, got " + std::to_string(params.size());
                double freq = 1000, q = std::numbers::sqrt2 / 2, gain = 0, slope = 12;
                for (std::size_t p = 0; p < stage.roles.size(); ++p) {
                    switch (stage.roles[p]) {
                    case Role::Freq:
                        freq = params[p];
                        break;
                    case Role::Q:
                        q = params[p];
                        break;
                    case Role::Gain:
                        gain = params[p];
                        break;
                    case Role::Slope:
                        slope = params[p];
                        break;
                    case Role::None:
                        break;
                    }
                }
                stage.freqHz.jump(std::clamp(freq, kMinFreqHz, kMaxFreqHz));
                stage.q.jump(std::clamp(q, kMinQ, kMaxQ));
                stage.gainDb.jump(std::clamp(gain, kMinGainDb, kMaxGainDb));
                stage.sections = sectionCount(stage.shape, slope);
                stage.firstSection = instanceSections;
                instanceSections += stage.sections;
                stage.firstLane = lanes;
                stage.lanes = channels;
                stages_.push_back(std::move(stage));
            }
            if (sections >= 0 && instanceSections != sections)
                return "instances with " + std::to_string(sections) + " and " + std::to_string(instanceSections) +
                       " filter sections cannot share one biquad kernel";
            sections = instanceSections;
            lanes += channels;
            stageBegin_.push_back(int(stages_.size()));
        }
        bank_.lanes = lanes;
        bank_.stride = (lanes + biquad::kLanePad - 1) / biquad::kLanePad * biquad::kLanePad;
        bank_.sections = std::max(sections, 1);
        coefficients_.assign(std::size_t(bank_.sections) * 5 * std::size_t(bank_.stride));
        state_.assign(std::size_t(bank_.sections) * 2 * std::size_t(bank_.stride));
        scratch_.assign(std::size_t(biquad::kChunkFrames) * biquad::kMaxPassLanes);
        roundAfter_.assign(std::size_t(bank_.sections) * std::size_t(bank_.stride));
        sectionRounds_.assign(std::size_t(bank_.sections), 0);
        for (int i = 0; i + 1 < int(stageBegin_.size()); ++i)
            for (int k = stageBegin_[std::size_t(i)]; k + 1 < stageBegin_[std::size_t(i) + 1]; ++k) { // all but the last stage
                const Stage& stage = stages_[std::size_t(k)];
                const std::size_t last = std::size_t(stage.firstSection + stage.sections - 1);
                sectionRounds_[last] = 1;
                for (int l = stage.firstLane; l < stage.firstLane + stage.lanes; ++l)
                    roundAfter_.data()[last * std::size_t(bank_.stride) + std::size_t(l)] = 1.0;
            }
        bank_.roundAfter = roundAfter_.data();
        bank_.sectionRounds = sectionRounds_.data();
        bank_.coefficients = coefficients_.data();
        bank_.state = state_.data();
        bank_.scratch = scratch_.data();
        reset();
        return {};
    }

    void reset() noexcept override {
        while (!queue_.empty()) apply(queue_.pop());
        state_.clear();
        for (Stage& inst : stages_) {
            inst.freqHz.finish();
            inst.q.finish();
            inst.gainDb.finish();
            updateCoefficients(inst, 0);
            inst.settled = true;
        }
        ramping_ = false;
    }

    void setParam(int instance, int param, double value, std::int64_t position) noexcept override {
        const ParamQueue::Change change{position, instance, param, value};
        if (!queue_.push(change)) apply(change);
    }

    void process(const ProcessContext& ctx) noexcept override {
        const float* const* in = ctx.inputs[0];
        float* const* out = ctx.outputs[0];
        for (int start = 0; start < ctx.frames;) {
            const std::int64_t position = ctx.position + start;
            while (queue_.nextPosition() <= position) apply(queue_.pop());
            const std::int64_t next = queue_.nextPosition();
            int end = next < ctx.position + ctx.frames ? int(next - ctx.position) : ctx.frames;
            if (ramping_) {
                // Coefficients of frame p come from the parameters at floor(p / kControlFrames) *
                // kControlFrames, so they do not depend on where blocks start.
                const std::int64_t controlFrame = position - ((position % kControlFrames) + kControlFrames) % kControlFrames;
                end = int(std::min<std::int64_t>(end, controlFrame + kControlFrames - ctx.position));
                bool any = false;
                for (Stage& inst : stages_) {
                    if (inst.settled) continue;
                    if (inst.coefficientFrame != controlFrame) {
                        updateCoefficients(inst, controlFrame);
                        inst.settled = inst.freqHz.settledAt(controlFrame) && inst.q.settledAt(controlFrame) &&
                                       inst.gainDb.settledAt(controlFrame);
                    }
                    any |= !inst.settled;
                }
                ramping_ = any;
            }
            process_(bank_, in, out, start, end - start);
            start = end;
        }
    }

private:
    /// One node's filter: an instance, or one stage of a fused chain.
    struct Stage {
        Shape shape = Shape::Peak;
        std::vector<Role> roles; ///< role of each parameter index
        int firstLane = 0, lanes = 0, sections = 1;
        int firstSection = 0; ///< its first section in the instance's cascade
        LinearRamp freqHz, q, gainDb;
        std::int64_t coefficientFrame = 0; ///< control frame the coefficients were computed at
        bool settled = true;               ///< coefficients final (no ramp running or pending)
    };

    /// A queued change takes effect: a new ramp from its frame.
    void apply(const ParamQueue::Change& change) noexcept {
        if (change.instance < 0 || std::size_t(change.instance) + 1 >= stageBegin_.size() || change.param < 0) return;
        // The instance's parameter indices run through its stages by offset.
        std::size_t param = std::size_t(change.param);
        int k = stageBegin_[std::size_t(change.instance)];
        const int end = stageBegin_[std::size_t(change.instance) + 1];
        while (k < end && param >= stages_[std::size_t(k)].roles.size()) param -= stages_[std::size_t(k++)].roles.size();
        if (k == end) return;
        Stage& inst = stages_[std::size_t(k)];
        const double value = change.value;
        switch (inst.roles[param]) {
        case Role::Freq:
            inst.freqHz.rampTo(std::clamp(value, kMinFreqHz, kMaxFreqHz), change.position, smoothingFrames_);
            break;
        case Role::Q:
            inst.q.rampTo(std::clamp(value, kMinQ, kMaxQ), change.position, smoothingFrames_);
            break;
        case Role::Gain:
            inst.gainDb.rampTo(std::clamp(value, kMinGainDb, kMaxGainDb), change.position, smoothingFrames_);
            break;
        default:
            return; // slope changes the structure: fixed when the graph is compiled
        }
        inst.settled = false;
        ramping_ = true;
    }

    /// Coefficients of `inst` from its parameters at absolute frame `frame`, into its lanes.
    void updateCoefficients(Stage& inst, std::int64_t frame) noexcept {
        Section sections[kMaxSections];
        designSections(inst.shape, inst.sections, inst.freqHz.valueAt(frame), inst.q.valueAt(frame), inst.gainDb.valueAt(frame),
                       sampleRate_, sections);
        const std::size_t stride = std::size_t(bank_.stride);
        double* c = coefficients_.data();
        for (int s = 0; s < inst.sections; ++s)
            for (int k = 0; k < 5; ++k)
                for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l)
                    c[(std::size_t(inst.firstSection + s) * 5 + std::size_t(k)) * stride + std::size_t(l)] =
                        sections[s][std::size_t(k)];
        inst.coefficientFrame = frame;
    }

    Shape ownShape_;
    double sampleRate_ = 48000;
    std::int64_t smoothingFrames_ = 0;
    std::vector<Stage> stages_;   ///< every instance's stages, in instance order
    std::vector<int> stageBegin_; ///< instance i has stages [stageBegin_[i], stageBegin_[i + 1])
    bool ramping_ = false;        ///< some instance's coefficients still move
    ParamQueue queue_;            ///< changes waiting for their frame
    biquad::Bank bank_;
    AlignedDoubles coefficients_, state_, scratch_, roundAfter_;
    std::vector<unsigned char> sectionRounds_; ///< per section: some lane rounds after it
    void (*process_)(const biquad::Bank&, const float* const*, float* const*, int, int) noexcept = nullptr;
};

// ---- type ---------------------------------------------------------------------------------------

class BiquadType final : public DeclaredNodeType {
public:
    explicit BiquadType(Shape shape) : DeclaredNodeType(shapeInfo(shape)), shape_(shape), roles_(shapeRoles(shape)) {}

    std::string batchKey(const ParamValues& params) const override {
        return info().fusionFamily + std::to_string(fusionUnits(params));
    }
    int fusionUnits(const ParamValues& params) const override { return sectionCount(shape_, value(params, Role::Slope, 12)); }
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        if (sampleRate <= 0) return 0;
        Section sections[kMaxSections];
        const int count = sectionCount(shape_, value(params, Role::Slope, 12));
        designSections(shape_, count, value(params, Role::Freq, 1000), value(params, Role::Q, std::numbers::sqrt2 / 2),
                       value(params, Role::Gain, 0), sampleRate, sections);
        double frames = 0;
        for (int s = 0; s < count; ++s) frames += decayFrames(sections[s]);
        return frames / sampleRate;
    }
    std::unique_ptr<NodeKernel> createKernel() const override { return std::make_unique<BiquadKernel>(shape_); }

private:
    double value(const ParamValues& params, Role role, double fallback) const {
        for (std::size_t p = 0; p < roles_.size() && p < params.size(); ++p)
            if (roles_[p] == role) return params[p];
        return fallback;
    }
    Shape shape_;
    std::vector<Role> roles_;
};

} // namespace

void registerBiquadNodes(Registry& registry) {
    for (const ShapeDecl& d : kShapes) registry.add(std::make_unique<BiquadType>(d.shape));
}

} // namespace sg
