#include "nodes/filters/Biquad.h"
#include "core/Buffer.h"
#include "nodes/filters/BiquadDesign.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <complex>
#include <cstdlib>
#include <numbers>
#include <vector>

namespace sg {

namespace {

using biquad::decayFrames;
using biquad::designSections;
using biquad::Section;
using biquad::Shape;

constexpr double kSmoothingMs = 20;
constexpr double kMinFreqHz = 10, kMaxFreqHz = 24000;
constexpr double kMinQ = 0.1, kMaxQ = 40;
constexpr double kMinGainDb = -30, kMaxGainDb = 30;
constexpr int kMaxSections = 4;

struct ShapeName {
    const char* name;
    Shape shape;
};
constexpr ShapeName kShapes[] = {
    {"lowpass", Shape::Lowpass}, {"highpass", Shape::Highpass}, {"bandpass", Shape::Bandpass}, {"notch", Shape::Notch},
    {"allpass", Shape::Allpass}, {"peak", Shape::Peak},         {"lowshelf", Shape::LowShelf}, {"highshelf", Shape::HighShelf},
};

bool shapeFromName(const std::string& name, Shape& shape) {
    for (const ShapeName& d : kShapes)
        if (name == d.name) {
            shape = d.shape;
            return true;
        }
    return false;
}

const char* shapeName(Shape shape) {
    for (const ShapeName& d : kShapes)
        if (d.shape == shape) return d.name;
    return "biquad";
}

bool hasSlope(Shape shape) { return shape == Shape::Lowpass || shape == Shape::Highpass; }

// ---- declarations -------------------------------------------------------------------------

/// A shape's declaration and the handles of its parameters (invalid where it has none).
struct ShapeDecl {
    explicit ShapeDecl(Shape shape);
    Shape shape;
    NodeDecl decl;
    SmoothedParam freq, q, gain;
    FixedParam slope;
};

SmoothedParam declareFreq(NodeDecl& decl, double defaultHz, const char* what) {
    return decl.param("freq")
        .frequency(kMinFreqHz, kMaxFreqHz)
        .defaultValue(defaultHz)
        .describe(std::string(what) + "; clamped to 0.49 x sample rate. Changes glide over 20 ms.")
        .smoothingMs(kSmoothingMs);
}
SmoothedParam declareQ(NodeDecl& decl, double defaultQ, const char* what) {
    return decl.param("q").plain(kMinQ, kMaxQ).defaultValue(defaultQ).describe(what).smoothingMs(kSmoothingMs);
}
SmoothedParam declareGain(NodeDecl& decl, const char* what) {
    return decl.param("gain").decibels(kMinGainDb, kMaxGainDb).defaultValue(0).describe(what).smoothingMs(kSmoothingMs);
}
FixedParam declareSlope(NodeDecl& decl) {
    return decl.param("slope")
        .plain(12, 48)
        .choices({12, 24, 48})
        .defaultValue(12)
        .describe("Steepness in dB/octave: 12 = one section with q; 24 and 48 = Butterworth cascades of 2 and 4 sections "
                  "(section Qs from the Butterworth pole angles).")
        .fixed();
}

ShapeDecl::ShapeDecl(Shape s) : shape(s), decl(shapeName(s), "filters") {
    decl.input("in", "signal, any number of channels (each filtered alike)")
        .output("out", "filtered signal")
        .channelRule("out has the channels of in")
        .batchable()
        .inPlace()
        .fusionFamily("biquad"); // one kernel runs any series of biquad-family nodes as sections
    const std::string common =
        "RBJ Audio-EQ-Cookbook (R. Bristow-Johnson): bilinear transform of the analog prototype, prewarped at f0; "
        "w0 = 2 pi f0/fs, alpha = sin(w0)/(2Q)";
    const char* butterworthQ =
        "Resonance of the 12 dB/oct section (0.7071 = Butterworth, higher peaks at freq). Ignored for slope 24 and 48, "
        "which are Butterworth cascades.";
    constexpr double kButterworthQ = std::numbers::sqrt2 / 2;
    switch (shape) {
    case Shape::Lowpass:
        decl.describe("Removes content above freq; 12, 24 or 48 dB/octave.");
        freq = declareFreq(decl, 10000, "Cutoff frequency (-3 dB for Butterworth settings)");
        q = declareQ(decl, kButterworthQ, butterworthQ);
        slope = declareSlope(decl);
        decl.reference(common + ". H(s) = 1/(s^2 + s/Q + 1); slopes 24/48: Butterworth |H|^2 = 1/(1 + W^2N), "
                                "N = slope/6, section Q_k = 1/(2 cos((2k-1) pi/2N)).");
        break;
    case Shape::Highpass:
        decl.describe("Removes content below freq (rumble, DC); 12, 24 or 48 dB/octave.");
        freq = declareFreq(decl, 100, "Cutoff frequency (-3 dB for Butterworth settings)");
        q = declareQ(decl, kButterworthQ, butterworthQ);
        slope = declareSlope(decl);
        decl.reference(common + ". H(s) = s^2/(s^2 + s/Q + 1); slopes 24/48: Butterworth |H|^2 = W^2N/(1 + W^2N), "
                                "N = slope/6, section Q_k = 1/(2 cos((2k-1) pi/2N)).");
        break;
    case Shape::Bandpass:
        decl.describe("Passes a band around freq at 0 dB peak gain, 12 dB/octave skirts.");
        freq = declareFreq(decl, 1000, "Centre frequency");
        q = declareQ(decl, kButterworthQ, "Centre frequency / bandwidth between the -3 dB points.");
        decl.reference(common + ". Constant 0 dB peak gain: H(s) = (s/Q)/(s^2 + s/Q + 1).");
        break;
    case Shape::Notch:
        decl.describe("Removes a narrow band around freq (hum, a resonance).");
        freq = declareFreq(decl, 1000, "Centre frequency (infinite attenuation)");
        q = declareQ(decl, kButterworthQ, "Centre frequency / bandwidth between the -3 dB points; higher is narrower.");
        decl.reference(common + ". H(s) = (s^2 + 1)/(s^2 + s/Q + 1).");
        break;
    case Shape::Allpass:
        decl.describe("Unity gain at every frequency; phase turns through -360 degrees around freq.");
        freq = declareFreq(decl, 1000, "Frequency of -180 degrees phase");
        q = declareQ(decl, kButterworthQ, "Sharpness of the phase transition around freq.");
        decl.reference(common + ". H(s) = (s^2 - s/Q + 1)/(s^2 + s/Q + 1).");
        break;
    case Shape::Peak:
        decl.describe("Boosts or cuts a band around freq by gain (parametric EQ bell).");
        freq = declareFreq(decl, 1000, "Centre frequency");
        q = declareQ(decl, 1, "Bandwidth: higher is narrower (cookbook Q of the peaking EQ).");
        gain = declareGain(decl, "Boost (+) or cut (-) at freq.");
        decl.reference(common + ", A = 10^(gain/40). H(s) = (s^2 + s A/Q + 1)/(s^2 + s/(A Q) + 1).");
        break;
    case Shape::LowShelf:
        decl.describe("Boosts or cuts everything below freq by gain.");
        freq = declareFreq(decl, 100, "Shelf midpoint frequency (gain/2 there)");
        gain = declareGain(decl, "Shelf gain below freq.");
        q = declareQ(decl, kButterworthQ, "Shelf steepness (0.7071 = steepest with no overshoot).");
        decl.reference(common + ", A = 10^(gain/40). H(s) = A (s^2 + (sqrt(A)/Q) s + A)/(A s^2 + (sqrt(A)/Q) s + 1).");
        break;
    case Shape::HighShelf:
        decl.describe("Boosts or cuts everything above freq by gain.");
        freq = declareFreq(decl, 10000, "Shelf midpoint frequency (gain/2 there)");
        gain = declareGain(decl, "Shelf gain above freq.");
        q = declareQ(decl, kButterworthQ, "Shelf steepness (0.7071 = steepest with no overshoot).");
        decl.reference(common + ", A = 10^(gain/40). H(s) = A (A s^2 + (sqrt(A)/Q) s + 1)/(s^2 + (sqrt(A)/Q) s + A).");
        break;
    }
}

/// The declaration of `shape` (built once).
const ShapeDecl& shapeDecl(Shape shape) {
    static const ShapeDecl decls[] = {ShapeDecl(Shape::Lowpass),  ShapeDecl(Shape::Highpass), ShapeDecl(Shape::Bandpass),
                                      ShapeDecl(Shape::Notch),    ShapeDecl(Shape::Allpass),  ShapeDecl(Shape::Peak),
                                      ShapeDecl(Shape::LowShelf), ShapeDecl(Shape::HighShelf)};
    return decls[int(shape)];
}

/// Second-order sections for a shape and its slope parameter (12 dB/oct per section).
int sectionCount(Shape shape, double slopeDbPerOctave) {
    if (!hasSlope(shape)) return 1;
    if (slopeDbPerOctave >= 48) return 4;
    if (slopeDbPerOctave >= 24) return 2;
    return 1;
}

// ---- aligned storage ----------------------------------------------------------------------

using AlignedDoubles = AlignedArray<double>;

// ---- kernel ---------------------------------------------------------------------------------

class BiquadKernel final : public DeclaredKernel {
public:
    explicit BiquadKernel(Shape shape) : DeclaredKernel(shapeDecl(shape).decl) {}

private:
    /// Any biquad-family type: the compiler batches and fuses them into one kernel.
    const NodeDecl* declFor(const std::string& type) const override {
        Shape shape = Shape::Peak;
        if (type.empty()) return DeclaredKernel::declFor(type);
        return shapeFromName(type, shape) ? &shapeDecl(shape).decl : nullptr;
    }

    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        process_ = SG_SIMD_PICK(spec.simd, processBiquadBank);
        stages_.clear();
        int sections = -1;
        for (int i = 0; i < instanceCount(); ++i) {
            int instanceSections = 0;
            for (int k = firstStage(i); k < firstStage(i + 1); ++k) {
                Shape shape = Shape::Peak;
                shapeFromName(stageDecl(k).info().name, shape);
                Stage stage{&shapeDecl(shape)};
                stage.sections = sectionCount(shape, stage.decl->slope.valid() ? value(k, stage.decl->slope) : 12);
                stage.firstSection = instanceSections;
                instanceSections += stage.sections;
                stage.firstLane = lanes(i).firstInput;
                stage.lanes = lanes(i).inputs;
                stages_.push_back(stage);
            }
            if (sections >= 0 && instanceSections != sections)
                return "instances with " + std::to_string(sections) + " and " + std::to_string(instanceSections) +
                       " filter sections cannot share one biquad kernel";
            sections = instanceSections;
        }
        const int lanes =
            instanceCount() == 0 ? 0 : this->lanes(instanceCount() - 1).firstInput + this->lanes(instanceCount() - 1).inputs;
        bank_.lanes = lanes;
        bank_.stride = (lanes + biquad::kLanePad - 1) / biquad::kLanePad * biquad::kLanePad;
        bank_.sections = std::max(sections, 1);
        coefficients_.assign(std::size_t(bank_.sections) * 5 * std::size_t(bank_.stride));
        state_.assign(std::size_t(bank_.sections) * 2 * std::size_t(bank_.stride));
        scratch_.assign(std::size_t(biquad::kChunkFrames) * biquad::kMaxPassLanes);
        roundAfter_.assign(std::size_t(bank_.sections) * std::size_t(bank_.stride));
        sectionRounds_.assign(std::size_t(bank_.sections), 0);
        for (int i = 0; i < instanceCount(); ++i)
            for (int k = firstStage(i); k + 1 < firstStage(i + 1); ++k) { // all but the last stage
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
        return {};
    }

    void clearState() noexcept override {
        state_.clear();
        for (int k = 0; k < stageCount(); ++k) {
            updateCoefficients(k, 0);
            stages_[std::size_t(k)].settled = true;
        }
        ramping_ = false;
    }

    /// A new ramp from the change's frame: coefficients move from the next control frame.
    void paramChanged(int stage, int, std::int64_t) noexcept override {
        stages_[std::size_t(stage)].settled = false;
        ramping_ = true;
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        const float* const* in = ctx.inputs[0];
        float* const* out = ctx.outputs[0];
        for (int end = start + frames; start < end;) {
            const std::int64_t position = ctx.position + start;
            int stop = end;
            if (ramping_) {
                // Coefficients of frame p come from the parameters at floor(p / kControlFrames) *
                // kControlFrames, so they do not depend on where blocks start.
                const std::int64_t controlFrame = position - ((position % kControlFrames) + kControlFrames) % kControlFrames;
                stop = int(std::min<std::int64_t>(stop, controlFrame + kControlFrames - ctx.position));
                bool any = false;
                for (int k = 0; k < stageCount(); ++k) {
                    Stage& stage = stages_[std::size_t(k)];
                    if (stage.settled) continue;
                    if (stage.coefficientFrame != controlFrame) {
                        updateCoefficients(k, controlFrame);
                        stage.settled = settledAt(k, controlFrame);
                    }
                    any |= !stage.settled;
                }
                ramping_ = any;
            }
            process_(bank_, in, out, start, stop - start);
            start = stop;
        }
    }

    /// One node's filter: an instance, or one stage of a fused chain.
    struct Stage {
        const ShapeDecl* decl = nullptr;
        int firstLane = 0, lanes = 0, sections = 1;
        int firstSection = 0;              ///< its first section in the instance's cascade
        std::int64_t coefficientFrame = 0; ///< control frame the coefficients were computed at
        bool settled = true;               ///< coefficients final (no ramp running or pending)
    };

    /// A parameter of stage `k` at absolute `frame` (`fallback` if the shape has none).
    double valueAt(int k, SmoothedParam p, std::int64_t frame, double fallback) const {
        return p.valid() ? ramp(k, p).valueAt(frame) : fallback;
    }
    bool settledAt(int k, std::int64_t frame) const {
        const ShapeDecl& d = *stages_[std::size_t(k)].decl;
        for (SmoothedParam p : {d.freq, d.q, d.gain})
            if (p.valid() && !ramp(k, p).settledAt(frame)) return false;
        return true;
    }

    /// Coefficients of stage `k` from its parameters at absolute frame `frame`, into its lanes.
    void updateCoefficients(int k, std::int64_t frame) noexcept {
        Stage& stage = stages_[std::size_t(k)];
        const ShapeDecl& d = *stage.decl;
        Section sections[kMaxSections];
        designSections(d.shape, stage.sections, valueAt(k, d.freq, frame, 1000), valueAt(k, d.q, frame, std::numbers::sqrt2 / 2),
                       valueAt(k, d.gain, frame, 0), sampleRate(), sections);
        const std::size_t stride = std::size_t(bank_.stride);
        double* c = coefficients_.data();
        for (int s = 0; s < stage.sections; ++s)
            for (int j = 0; j < 5; ++j)
                for (int l = stage.firstLane; l < stage.firstLane + stage.lanes; ++l)
                    c[(std::size_t(stage.firstSection + s) * 5 + std::size_t(j)) * stride + std::size_t(l)] =
                        sections[s][std::size_t(j)];
        stage.coefficientFrame = frame;
    }

    std::vector<Stage> stages_; ///< indexed like the base's stages
    bool ramping_ = false;      ///< some stage's coefficients still move
    biquad::Bank bank_;
    AlignedDoubles coefficients_, state_, scratch_, roundAfter_;
    std::vector<unsigned char> sectionRounds_; ///< per section: some lane rounds after it
    void (*process_)(const biquad::Bank&, const float* const*, float* const*, int, int) noexcept = nullptr;
};

// ---- type ---------------------------------------------------------------------------------------

class BiquadType final : public DeclaredNodeType {
public:
    explicit BiquadType(Shape shape) : DeclaredNodeType(shapeDecl(shape).decl.info()), d_(shapeDecl(shape)) {}

    std::string batchKey(const ParamValues& params) const override {
        return info().fusionFamily + std::to_string(fusionUnits(params));
    }
    int fusionUnits(const ParamValues& params) const override { return sectionCount(d_.shape, paramValue(params, d_.slope, 12)); }
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        if (sampleRate <= 0) return 0;
        Section sections[kMaxSections];
        const int count = fusionUnits(params);
        designSections(d_.shape, count, paramValue(params, d_.freq, 1000), paramValue(params, d_.q, std::numbers::sqrt2 / 2),
                       paramValue(params, d_.gain, 0), sampleRate, sections);
        double frames = 0;
        for (int s = 0; s < count; ++s) frames += decayFrames(sections[s]);
        return frames / sampleRate;
    }
    std::unique_ptr<NodeKernel> createKernel() const override { return std::make_unique<BiquadKernel>(d_.shape); }

private:
    const ShapeDecl& d_;
};

} // namespace

void registerBiquadNodes(Registry& registry) {
    for (const ShapeName& d : kShapes) registry.add(std::make_unique<BiquadType>(d.shape));
}

} // namespace sg
