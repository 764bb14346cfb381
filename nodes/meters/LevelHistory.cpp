#include "nodes/meters/LevelHistory.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "core/SeriesRecorder.h"
#include "nodes/meters/LoudnessMeter.h"
#include "nodes/meters/LoudnessTapType.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace sg {

namespace {

struct LevelHistoryDecl {
    NodeDecl decl{"levelhistory", "meters"};
    LevelHistoryDecl() {
        decl.describe("Passes its input through unchanged and records its momentary loudness and sample peak every "
                      "100 ms, as series for reports and plots.")
            .input("in", "signal to record, 1 to 8 channels")
            .output("out", "the input, unchanged (zero latency)")
            .channelRule("out has the channels of in (1 to 8); loudness channel roles as the loudness tap")
            .batchable()
            .inPlace()
            .reference("Series, 10 values/s: momentary_lufs (ITU-R BS.1770-5 / EBU Tech 3341 momentary loudness, "
                       "400 ms, at the end of each 100 ms step; reduction last) and sample_peak_dbfs (largest "
                       "|sample| of any channel in the step, dBFS; reduction max). Scalars: max_momentary_lufs, "
                       "sample_peak_dbfs. Silence reads -inf (null in JSON). `render --report` writes the series.");
    }
};

class LevelHistoryKernel final : public DeclaredKernelOf<LevelHistoryDecl> {
    struct Meter {
        LoudnessMeter loudness;
        SeriesRecorder momentary, peak; ///< peak holds linear |x|, shown in dB
        float currentMomentary = float(kSilentLevel);
        std::int64_t stepsDone = 0;
    };

public:
    void measurements(int instance, std::vector<Measurement>& out) const override {
        if (instance < 0 || std::size_t(instance) >= meters_.size()) return;
        const Meter& m = meters_[std::size_t(instance)];
        out.push_back({"max_momentary_lufs", m.loudness.maxMomentaryLufs(), "LUFS"});
        out.push_back({"sample_peak_dbfs", m.loudness.samplePeakDbfs(), "dBFS"});
    }
    void series(int instance, std::vector<MeasurementSeries>& out) const override {
        if (instance < 0 || std::size_t(instance) >= meters_.size()) return;
        const Meter& m = meters_[std::size_t(instance)];
        out.push_back(m.momentary.snapshot("momentary_lufs", "LUFS"));
        MeasurementSeries peak = m.peak.snapshot("sample_peak_dbfs", "dBFS");
        for (float& v : peak.values) v = v > 0 ? float(20 * std::log10(double(v))) : -HUGE_VALF;
        out.push_back(std::move(peak));
    }

private:
    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        meters_.clear();
        meters_.resize(std::size_t(instanceCount()));
        for (int i = 0; i < instanceCount(); ++i) {
            Meter& m = meters_[std::size_t(i)];
            if (std::string error = m.loudness.prepare(spec.sampleRate, lanes(i).inputs); !error.empty()) return error;
            m.momentary.prepare(spec.sampleRate, 10, SeriesRecorder::Reduction::Last);
            m.peak.prepare(spec.sampleRate, 10, SeriesRecorder::Reduction::Max);
        }
        return {};
    }

    void clearState() noexcept override {
        for (Meter& m : meters_) {
            m.loudness.reset();
            m.momentary.reset();
            m.peak.reset();
            m.currentMomentary = float(kSilentLevel);
            m.stepsDone = 0;
        }
    }

    /// Frame at which 100 ms step `index` (1-based count of steps) ends: the loudness meter's.
    std::int64_t stepEnd(std::int64_t index) const { return std::llround(double(index) * sampleRate() / 10.0); }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            Meter& m = meters_[std::size_t(i)];
            const float* in[kLoudnessMaxChannels];
            for (int c = 0; c < l.inputs; ++c) {
                in[c] = ctx.inputs[0][l.firstInput + c] + start;
                float* out = ctx.outputs[0][l.firstOutput + c] + start;
                if (in[c] != out) std::memcpy(out, in[c], sizeof(float) * std::size_t(frames));
            }
            // Cut at step ends so the momentary reading is taken exactly when a step completes.
            for (int n = 0; n < frames;) {
                const std::int64_t position = ctx.position + start + n;
                const std::int64_t end = stepEnd(m.stepsDone + 1);
                const int chunk = int(std::min<std::int64_t>(frames - n, end - position));
                const float* chunkIn[kLoudnessMaxChannels];
                for (int c = 0; c < l.inputs; ++c) chunkIn[c] = in[c] + n;
                m.loudness.process(chunkIn, chunk);
                for (int k = 0; k < chunk; ++k) {
                    float peak = 0;
                    for (int c = 0; c < l.inputs; ++c) peak = std::max(peak, std::fabs(chunkIn[c][k]));
                    m.peak.add(peak);
                    if (k == chunk - 1 && position + chunk == end) {
                        ++m.stepsDone;
                        m.currentMomentary = float(m.loudness.momentaryLufs());
                    }
                    m.momentary.add(m.currentMomentary);
                }
                n += chunk;
            }
        }
    }

    std::vector<Meter> meters_;
};

using LevelHistoryType = LoudnessTapTypeOf<LevelHistoryDecl, LevelHistoryKernel>;

} // namespace

void registerLevelHistoryNodes(Registry& registry) { registry.add(std::make_unique<LevelHistoryType>()); }

} // namespace sg
