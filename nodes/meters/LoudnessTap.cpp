#include "nodes/meters/LoudnessTap.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "nodes/meters/LoudnessMeter.h"
#include "nodes/meters/LoudnessTapType.h"

#include <cstring>
#include <vector>

namespace sg {

namespace {

struct TapDecl {
    NodeDecl decl{"loudness", "meters"};
    FixedParam oversampling = decl.param("oversampling")
                                  .plain(4, 8)
                                  .choices({4, 8})
                                  .defaultValue(4)
                                  .describe("True-peak oversampling: 4 = the BS.1770-5 Annex 2 filter; 8 = a finer "
                                            "interpolator (test tones read within -0.12/+0.02 dB of their crest, against "
                                            "-0.29/+0.22 dB with 4x). Fixed when the graph starts.")
                                  .fixed();

    TapDecl() {
        decl.describe("Passes its input through unchanged and measures it: integrated, momentary and short-term "
                      "loudness, loudness range, true and sample peak, PLR.")
            .input("in", "signal to measure, 1 to 8 channels")
            .output("out", "the input, unchanged (zero latency)")
            .channelRule("out has the channels of in (1 to 8); roles by count: 1 M, 2 L R, 3 L R C, 4 L R Ls Rs, "
                         "5 L R C Ls Rs, 6 L R C LFE Ls Rs, 7 L R C Ls Rs Lb Rb, 8 L R C LFE Ls Rs Lb Rb")
            .inPlace()
            .reference("ITU-R BS.1770-5 (K-weighting, gating, Annex 2 true peak), EBU Tech 3341 (momentary 400 ms, "
                       "short-term 3 s, integrated), EBU Tech 3342 (loudness range). Channel weights: L R C 1.0, "
                       "Ls Rs 1.41, LFE excluded. Reports: integrated_lufs, loudness_range_lu, true_peak_dbtp, "
                       "sample_peak_dbfs, max_momentary_lufs, max_short_term_lufs, plr_db, momentary_lufs, "
                       "short_term_lufs (-inf when there is nothing to measure). See docs/loudness.md.");
    }
};

class LoudnessTapKernel final : public DeclaredKernelOf<TapDecl> {
private:
    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        meters_.clear();
        for (int i = 0; i < instanceCount(); ++i) {
            LoudnessOptions options;
            options.truePeakOversampling = value(i, p().oversampling) >= 8 ? 8 : 4;
            LoudnessMeter meter;
            if (std::string error = meter.prepare(spec.sampleRate, lanes(i).inputs, options); !error.empty()) return error;
            meters_.push_back(std::move(meter));
        }
        return {};
    }

    void clearState() noexcept override {
        for (LoudnessMeter& meter : meters_) meter.reset();
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (std::size_t i = 0; i < meters_.size(); ++i) {
            const int first = lanes(int(i)).firstInput;
            const float* in[kLoudnessMaxChannels];
            for (int c = 0; c < meters_[i].channels(); ++c) {
                in[c] = ctx.inputs[0][first + c] + start;
                float* out = ctx.outputs[0][first + c] + start;
                if (in[c] != out) std::memcpy(out, in[c], sizeof(float) * std::size_t(frames));
            }
            meters_[i].process(in, frames);
        }
    }

public:
    void measurements(int instance, std::vector<Measurement>& out) const override {
        if (instance < 0 || std::size_t(instance) >= meters_.size()) return;
        const LoudnessMeter& m = meters_[std::size_t(instance)];
        out.push_back({"integrated_lufs", m.integratedLufs(), "LUFS"});
        out.push_back({"loudness_range_lu", m.loudnessRangeLu(), "LU"});
        out.push_back({"true_peak_dbtp", m.truePeakDbtp(), "dBTP"});
        out.push_back({"sample_peak_dbfs", m.samplePeakDbfs(), "dBFS"});
        out.push_back({"max_momentary_lufs", m.maxMomentaryLufs(), "LUFS"});
        out.push_back({"max_short_term_lufs", m.maxShortTermLufs(), "LUFS"});
        out.push_back({"plr_db", m.plrDb(), "dB"});
        out.push_back({"momentary_lufs", m.momentaryLufs(), "LUFS"});
        out.push_back({"short_term_lufs", m.shortTermLufs(), "LUFS"});
    }

private:
    std::vector<LoudnessMeter> meters_;
};

using LoudnessTapType = LoudnessTapTypeOf<TapDecl, LoudnessTapKernel>;

} // namespace

void registerLoudnessTapNodes(Registry& registry) { registry.add(std::make_unique<LoudnessTapType>()); }

} // namespace sg
