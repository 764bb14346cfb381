#include "nodes/meters/Correlation.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"
#include "core/SeriesRecorder.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace sg {

namespace {

struct CorrelationDecl {
    NodeDecl decl{"correlation", "meters"};
    CorrelationDecl() {
        decl.describe("Passes a stereo signal through unchanged and measures the correlation of L and R (+1 mono, "
                      "0 unrelated, -1 anti-phase) and their balance in dB.")
            .input("in", "stereo signal, L R")
            .output("out", "the input, unchanged (zero latency)")
            .channelRule("in has 2 channels; out has 2")
            .batchable()
            .inPlace()
            .reference("r = sum(L R)/sqrt(sum(L^2) sum(R^2)) (uncentred, as phase-correlation meters; IEC 60268-18 "
                       "correlation meter), balance = 10 log10(sum(L^2)/sum(R^2)) dB. Reports: correlation and "
                       "balance_db over the render, min_correlation over 400 ms windows stepped by 100 ms; series "
                       "correlation and balance_db, 10 values/s (last 400 ms each). Silent windows: NaN / null.");
    }
};

/// Sums over a stretch of frames.
struct Sums {
    double ll = 0, rr = 0, lr = 0;
    Sums& operator+=(const Sums& o) {
        ll += o.ll;
        rr += o.rr;
        lr += o.lr;
        return *this;
    }
};

constexpr int kWindowSteps = 4; ///< 400 ms = 4 steps of 100 ms

double correlationOf(const Sums& s) {
    const double energy = s.ll * s.rr;
    return energy > 0 ? std::clamp(s.lr / std::sqrt(energy), -1.0, 1.0) : std::numeric_limits<double>::quiet_NaN();
}

double balanceOf(const Sums& s) {
    if (s.ll == 0 && s.rr == 0) return std::numeric_limits<double>::quiet_NaN();
    return 10 * std::log10(s.ll / s.rr); // +-inf when one side is silent
}

class CorrelationKernel final : public DeclaredKernelOf<CorrelationDecl> {
    struct Meter {
        Sums total, step;
        std::array<Sums, kWindowSteps> steps{}; ///< the last completed steps, a ring
        int completedSteps = 0;
        double minimum = std::numeric_limits<double>::quiet_NaN();
        float currentCorrelation = std::numeric_limits<float>::quiet_NaN();
        float currentBalance = std::numeric_limits<float>::quiet_NaN();
        SeriesRecorder correlation, balance;
    };

public:
    void measurements(int instance, std::vector<Measurement>& out) const override {
        if (instance < 0 || std::size_t(instance) >= meters_.size()) return;
        const Meter& m = meters_[std::size_t(instance)];
        Sums total = m.total;
        total += m.step; // the partial step too
        out.push_back({"correlation", correlationOf(total), ""});
        out.push_back({"min_correlation", m.minimum, ""});
        out.push_back({"balance_db", balanceOf(total), "dB"});
    }
    void series(int instance, std::vector<MeasurementSeries>& out) const override {
        if (instance < 0 || std::size_t(instance) >= meters_.size()) return;
        const Meter& m = meters_[std::size_t(instance)];
        out.push_back(m.correlation.snapshot("correlation", ""));
        out.push_back(m.balance.snapshot("balance_db", "dB"));
    }

private:
    std::string prepareKernel(const PrepareSpec& spec, std::span<const InstanceSetup>) override {
        for (int i = 0; i < instanceCount(); ++i)
            if (lanes(i).inputs != 2) return "in: expects 2 channels, got " + std::to_string(lanes(i).inputs);
        stepFrames_ = std::max<std::int64_t>(1, std::llround(spec.sampleRate / 10));
        meters_.assign(std::size_t(instanceCount()), Meter{});
        for (Meter& m : meters_) {
            m.correlation.prepare(spec.sampleRate, 10, SeriesRecorder::Reduction::Last);
            m.balance.prepare(spec.sampleRate, 10, SeriesRecorder::Reduction::Last);
        }
        return {};
    }

    void clearState() noexcept override {
        for (Meter& m : meters_) {
            m.total = m.step = Sums{};
            m.steps.fill(Sums{});
            m.completedSteps = 0;
            m.minimum = m.currentCorrelation = m.currentBalance = std::numeric_limits<float>::quiet_NaN();
            m.correlation.reset();
            m.balance.reset();
        }
    }

    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const InstanceLanes& l = lanes(i);
            Meter& m = meters_[std::size_t(i)];
            const float* left = ctx.inputs[0][l.firstInput] + start;
            const float* right = ctx.inputs[0][l.firstInput + 1] + start;
            for (int c = 0; c < 2; ++c) {
                float* out = ctx.outputs[0][l.firstOutput + c] + start;
                const float* in = c == 0 ? left : right;
                if (in != out) std::memcpy(out, in, sizeof(float) * std::size_t(frames));
            }
            for (int n = 0; n < frames; ++n) {
                const double x = left[n], y = right[n];
                m.step.ll += x * x;
                m.step.rr += y * y;
                m.step.lr += x * y;
                if ((ctx.position + start + n + 1) % stepFrames_ == 0) completeStep(m);
                m.correlation.add(m.currentCorrelation);
                m.balance.add(m.currentBalance);
            }
        }
    }

    /// A 100 ms step ended: fold it into the total and the window, update the readings.
    void completeStep(Meter& m) noexcept {
        m.total += m.step;
        m.steps[std::size_t(m.completedSteps % kWindowSteps)] = m.step;
        ++m.completedSteps;
        m.step = Sums{};
        Sums window;
        for (const Sums& s : m.steps) window += s; // unused slots are zero at the start
        const double r = correlationOf(window);
        m.currentCorrelation = float(r);
        m.currentBalance = float(balanceOf(window));
        if (!std::isnan(r) && (std::isnan(m.minimum) || r < m.minimum)) m.minimum = r;
    }

    std::int64_t stepFrames_ = 4800;
    std::vector<Meter> meters_;
};

class CorrelationType final : public DeclaredTypeOf<CorrelationDecl, CorrelationKernel> {
public:
    std::string resolveChannels(const ParamValues&, std::span<const int> inputChannels,
                                std::vector<int>& outputChannels) const override {
        const int channels = inputChannels.empty() ? 0 : inputChannels[0];
        if (channels == 0) return "input 'in' is not connected";
        if (channels != 2) return "in: expects 2 channels, got " + std::to_string(channels);
        outputChannels.assign(1, 2);
        return {};
    }
};

} // namespace

void registerCorrelationNodes(Registry& registry) { registry.add(std::make_unique<CorrelationType>()); }

} // namespace sg
