#include "nodes/saturation/Saturation.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/utility/Oversampler.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace sg {

namespace {

constexpr const char* kOversamplingText = "Oversampling factor 1, 2, 4 or 8: the curve runs at that multiple of the sample "
                                          "rate between a polyphase Kaiser-windowed-sinc interpolator and decimator "
                                          "(passband 0.45 fs flat to 0.0003 dB, 90 dB stopband from 0.5 fs); latency 115 "
                                          "frames above 1x. Fixed when the graph is compiled.";

/// Latency of a shaper with `factor` oversampling.
int shaperLatency(double factor) {
    const int p = int(std::lround(factor));
    return p > 1 ? oversamplerLatencyFrames(processingOversampling(p)) : 0;
}

struct ClipperDecl {
    NodeDecl decl{"clipper", "saturation"};
    SmoothedParam drive = decl.param("drive")
                              .decibels(-24, 36)
                              .defaultValue(0)
                              .describe("Gain before the clip, 10^(drive/20); ramps over 20 ms.")
                              .smoothingMs(20);
    SmoothedParam ceiling = decl.param("ceiling")
                                .decibels(-40, 0)
                                .defaultValue(0)
                                .describe("Clip level c = 10^(ceiling/20) (sample values, before output).")
                                .smoothingMs(20);
    SmoothedParam output = decl.param("output")
                               .decibels(-40, 24)
                               .defaultValue(0)
                               .describe("Gain after the clip, 10^(output/20); ramps over 20 ms.")
                               .smoothingMs(20);
    FixedParam oversampling =
        decl.param("oversampling").plain(1, 8).choices({1, 2, 4, 8}).defaultValue(4).describe(kOversamplingText).fixed();

    ClipperDecl() {
        decl.describe("Hard clipper with drive, clip level and output gain, oversampled 1x to 8x against aliasing.")
            .input("in", "signal, any number of channels")
            .output("out", "clipped signal, delayed by the oversampling filters")
            .channelRule("out has the channels of in")
            .batchable()
            .reference("y = out * clamp(d x, -c, c), d = 10^(drive/20), c = 10^(ceiling/20), out = 10^(output/20), at P fs "
                       "(P = oversampling) between the polyphase interpolator and decimator of nodes/utility/Oversampler.h "
                       "(Kaiser-windowed sinc, N = 116 P taps, beta = 0.1102 (90 - 8.7); Kaiser 1974, Oppenheim & Schafer "
                       "§7.6); latency 115 frames for P > 1. Parameters ramp per base frame.");
    }
    static float shape(float u, float clip) noexcept { return std::clamp(u, -clip, clip); }
};

struct SaturatorDecl {
    NodeDecl decl{"saturator", "saturation"};
    SmoothedParam drive = decl.param("drive")
                              .decibels(-24, 36)
                              .defaultValue(0)
                              .describe("Gain before the curve, 10^(drive/20); ramps over 20 ms.")
                              .smoothingMs(20);
    SteppedParam curve = decl.param("curve")
                             .plain(0, 1)
                             .choices({0, 1})
                             .defaultValue(0)
                             .describe("0: tanh(u); 1: cubic soft clip u - 4u^3/27, +-1 beyond |u| = 1.5. Switches at its "
                                       "frame.")
                             .stepped();
    SmoothedParam output = decl.param("output")
                               .decibels(-40, 24)
                               .defaultValue(0)
                               .describe("Gain after the curve, 10^(output/20); ramps over 20 ms.")
                               .smoothingMs(20);
    FixedParam oversampling =
        decl.param("oversampling").plain(1, 8).choices({1, 2, 4, 8}).defaultValue(4).describe(kOversamplingText).fixed();

    SaturatorDecl() {
        decl.describe("Soft saturation (tanh or cubic) with drive and output gain, oversampled 1x to 8x against aliasing.")
            .input("in", "signal, any number of channels")
            .output("out", "saturated signal, delayed by the oversampling filters")
            .channelRule("out has the channels of in")
            .batchable()
            .reference("y = out * f(d x), f = tanh (curve 0) or the cubic u - 4u^3/27 clamped to +-1 beyond |u| = 3/2 "
                       "(curve 1; slope 1 at 0, reaches 1 with zero slope), d = 10^(drive/20), out = 10^(output/20), at P fs "
                       "between the polyphase Kaiser-sinc interpolator and decimator of nodes/utility/Oversampler.h; latency "
                       "115 frames for P > 1.");
    }
};

/// The shaper kernel of either declaration: per base frame the ramped drive and output, the curve
/// on every phase of the oversampled frame, then decimation and the output gain.
template <class D> class ShaperKernel final : public DeclaredKernelOf<D> {
    using Base = DeclaredKernelOf<D>;
    using Base::instanceCount;
    using Base::lanes;
    using Base::maxBlockFrames;
    using Base::p;
    using Base::ramp;
    using Base::value;

    struct Lane {
        Oversampler oversampler;
        int instance = 0;
    };

    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        lanes_.clear();
        for (int i = 0; i < instanceCount(); ++i) {
            const int factor = int(std::lround(value(i, p().oversampling)));
            for (int c = 0; c < lanes(i).inputs; ++c) {
                Lane lane;
                lane.instance = i;
                lane.oversampler.prepare(processingOversampling(factor), maxBlockFrames(), spec.simd);
                lanes_.push_back(std::move(lane));
            }
        }
        drive_.assign(std::size_t(maxBlockFrames()), 0.0f);
        output_.assign(std::size_t(maxBlockFrames()), 0.0f);
        clip_.assign(std::size_t(maxBlockFrames()), 1.0f);
        return {};
    }
    void clearState() noexcept override {
        for (Lane& lane : lanes_) lane.oversampler.reset();
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        std::size_t l = 0;
        for (int i = 0; i < instanceCount(); ++i) {
            const std::int64_t position = ctx.position + start;
            for (int n = 0; n < frames; ++n) {
                drive_[std::size_t(n)] = float(dbToGain(ramp(i, p().drive).valueAt(position + n)));
                output_[std::size_t(n)] = float(dbToGain(ramp(i, p().output).valueAt(position + n)));
                clip_[std::size_t(n)] = clipAt(i, position + n);
            }
            for (int c = 0; c < lanes(i).inputs; ++c, ++l) {
                Oversampler& os = lanes_[l].oversampler;
                const int lane = lanes(i).firstInput + c;
                os.up(ctx.inputs[0][lane] + start, frames);
                const bool cubic = curveIsCubic(i);
                for (int k = 0; k < os.factor(); ++k) {
                    float* z = os.phase(k);
                    for (int n = 0; n < frames; ++n) z[n] = shape(drive_[std::size_t(n)] * z[n], clip_[std::size_t(n)], cubic);
                }
                float* out = ctx.outputs[0][lanes(i).firstOutput + c] + start;
                os.down(out, frames);
                for (int n = 0; n < frames; ++n) out[n] *= output_[std::size_t(n)];
            }
        }
    }

    float clipAt(int i, std::int64_t position) const noexcept {
        if constexpr (requires { &D::ceiling; })
            return float(dbToGain(ramp(i, p().ceiling).valueAt(position)));
        else
            return 1.0f;
    }
    bool curveIsCubic(int i) const noexcept {
        if constexpr (requires { &D::curve; })
            return value(i, p().curve) >= 0.5;
        else
            return false;
    }
    static float shape(float u, float clip, bool cubic) noexcept {
        if constexpr (requires { &D::ceiling; })
            return std::clamp(u, -clip, clip);
        else
            return cubic ? cubicSoftClip(u) : std::tanh(u);
    }

    std::vector<Lane> lanes_;
    std::vector<float> drive_, output_, clip_; ///< per base frame of the segment
};

template <class D> class ShaperType final : public DeclaredTypeOf<D, ShaperKernel<D>> {
public:
    int latencyFrames(const ParamValues& params, double) const override {
        const ParamRef os = declaration<D>().oversampling;
        return params.size() > std::size_t(os.index) ? shaperLatency(params[std::size_t(os.index)]) : shaperLatency(4);
    }
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        return sampleRate > 0 ? double(latencyFrames(params, sampleRate)) / sampleRate : 0.0;
    }
    std::string batchKey(const ParamValues& params) const override {
        const ParamRef os = declaration<D>().oversampling;
        const double factor = params.size() > std::size_t(os.index) ? params[std::size_t(os.index)] : 4;
        return std::string(this->info().name) + "/" + std::to_string(std::lround(factor));
    }
};

} // namespace

void registerSaturationNodes(Registry& registry) {
    registry.add(std::make_unique<ShaperType<ClipperDecl>>());
    registry.add(std::make_unique<ShaperType<SaturatorDecl>>());
}

} // namespace sg
