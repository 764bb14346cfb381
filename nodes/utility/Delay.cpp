#include "nodes/utility/Delay.h"

#include "core/DeclaredKernel.h"
#include "core/Registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace sg {

namespace {

constexpr double kMaxTimeMs = 10000;
constexpr double kMaxSamples = 1e6;

/// D in frames for `timeMs` and `samples` at `sampleRate`.
std::int64_t delayFrames(double timeMs, double samples, double sampleRate) {
    return std::llround(timeMs * sampleRate / 1000.0) + std::llround(samples);
}

/// The declarations of `delay` (latency = false) and `latency`: one kernel runs both. A delay's
/// changes jump at their frame; a latency's are fixed (the compiler compensated it).
struct DelayDecl {
    explicit DelayDecl(bool latency)
        : decl(latency ? "latency" : "delay", "utility"),
          time(declare(decl.param("time")
                           .time(0, kMaxTimeMs)
                           .defaultValue(0)
                           .describe(latency ? "Delay (and reported latency) in time; rounded to whole frames at the sample rate."
                                             : "Delay in time; rounded to whole frames at the sample rate. Adds to samples."),
                       latency)),
          samples(
              declare(decl.param("samples")
                          .plain(0, kMaxSamples)
                          .defaultValue(0)
                          .wholeNumber()
                          .describe(latency ? "Delay (and reported latency) in frames, a whole number; adds to time."
                                            : "Delay in frames, a whole number; adds to time. Latency compensation sets this."),
                      latency)) {
        decl.input("in", "signal, any number of channels").output("out", "delayed signal");
        decl.channelRule("out has the channels of in").batchable().inPlace();
        if (latency) {
            decl.describe("Delays by time + samples and reports it as latency, like a lookahead processor (for testing "
                          "latency compensation).")
                .reference("y[n] = x[n - D], D = round(time * rate / 1000) + samples frames; latencyFrames() = D, so the "
                           "compiler delays parallel paths by D to keep them aligned.");
        } else {
            decl.describe("Delays the signal by time + samples, a whole number of frames (an intended delay, no "
                          "latency reported).")
                .reference("y[n] = x[n - D], D = round(time * rate / 1000) + samples frames. Reports no latency. "
                           "A change while running jumps at its frame (no glide), up to the D it was prepared with.")
                .compensationParam("samples"); // the compiler's latency-compensation delay
        }
    }
    static ParamRef declare(ParamBuilder& builder, bool latency) {
        return latency ? ParamRef(builder.fixed()) : ParamRef(builder.stepped());
    }

    NodeDecl decl;
    ParamRef time, samples;
};

const DelayDecl& delayDecl(bool latency) {
    static const DelayDecl delay(false), latencyDecl(true);
    return latency ? latencyDecl : delay;
}

class DelayKernel final : public DeclaredKernel {
public:
    explicit DelayKernel(bool latency) : DeclaredKernel(delayDecl(latency).decl), p_(delayDecl(latency)) {}

private:
    /// D of `instance` from its current parameter values, in frames.
    std::int64_t framesOf(int instance) const {
        return delayFrames(value(instance, p_.time), value(instance, p_.samples), sampleRate());
    }

    std::string prepareKernel(const PrepareSpec&, std::span<const InstanceSetup>) override {
        instances_.clear();
        rings_.clear();
        for (int i = 0; i < instanceCount(); ++i) {
            const std::int64_t frames = framesOf(i);
            if (frames < 0 || frames > std::numeric_limits<int>::max() - maxBlockFrames())
                return "delay of " + std::to_string(frames) + " frames is out of range";
            instances_.push_back({int(frames), int(frames)});
            for (int c = 0; c < lanes(i).inputs; ++c) {
                Ring ring;
                if (frames > 0) ring.samples.assign(std::size_t(frames) + std::size_t(maxBlockFrames()), 0.0f);
                rings_.push_back(std::move(ring));
            }
        }
        return {};
    }
    void clearState() noexcept override {
        for (Ring& ring : rings_) {
            std::fill(ring.samples.begin(), ring.samples.end(), 0.0f);
            ring.writeIndex = 0;
        }
    }
    /// D jumps at the change's frame (no glide), limited to the capacity.
    void paramChanged(int instance, int, std::int64_t) noexcept override {
        Instance& inst = instances_[std::size_t(instance)];
        inst.delayFrames = int(std::clamp<std::int64_t>(framesOf(instance), 0, inst.capacityFrames));
    }

    /// Frames [start, start + frames) of every lane through its ring. The whole segment is
    /// written before it is read, so in-place operation is safe; the ring holds D +
    /// maxBlockFrames frames, so the write never overwrites frames still to be read.
    void processSegment(const ProcessContext& ctx, int start, int frames) noexcept override {
        for (int i = 0; i < instanceCount(); ++i) {
            const int delay = instances_[std::size_t(i)].delayFrames;
            const InstanceLanes& lanes = this->lanes(i);
            for (int l = lanes.firstInput; l < lanes.firstInput + lanes.inputs; ++l) {
                const float* in = ctx.inputs[0][l] + start;
                float* out = ctx.outputs[0][l] + start;
                Ring& ring = rings_[std::size_t(l)];
                if (ring.samples.empty()) { // prepared with D = 0
                    if (in != out) std::memmove(out, in, sizeof(float) * std::size_t(frames));
                    continue;
                }
                const std::size_t size = ring.samples.size();
                float* data = ring.samples.data();
                copyIn(data, size, ring.writeIndex, in, std::size_t(frames));
                const std::size_t readIndex = (ring.writeIndex + size - std::size_t(delay)) % size;
                copyOut(data, size, readIndex, out, std::size_t(frames));
                ring.writeIndex = (ring.writeIndex + std::size_t(frames)) % size;
            }
        }
    }
    static void copyIn(float* ring, std::size_t size, std::size_t at, const float* from, std::size_t n) noexcept {
        const std::size_t first = std::min(n, size - at);
        std::memcpy(ring + at, from, sizeof(float) * first);
        std::memcpy(ring, from + first, sizeof(float) * (n - first));
    }
    static void copyOut(const float* ring, std::size_t size, std::size_t at, float* to, std::size_t n) noexcept {
        const std::size_t first = std::min(n, size - at);
        std::memcpy(to, ring + at, sizeof(float) * first);
        std::memcpy(to + first, ring, sizeof(float) * (n - first));
    }

    struct Instance {
        int capacityFrames = 0; ///< the longest delay the rings hold (prepared D)
        int delayFrames = 0;    ///< current D
    };
    struct Ring {
        std::vector<float> samples; ///< capacity + maxBlockFrames frames
        std::size_t writeIndex = 0;
    };
    const DelayDecl& p_;
    std::vector<Instance> instances_;
    std::vector<Ring> rings_; ///< per lane
};

class DelayType final : public DeclaredNodeType {
public:
    explicit DelayType(bool latency)
        : DeclaredNodeType(delayDecl(latency).decl.info()), latency_(latency), p_(delayDecl(latency)) {}
    std::string validate(const ParamValues& params) const override {
        const double samples = paramValue(params, p_.samples);
        if (std::floor(samples) != samples) {
            char text[64];
            std::snprintf(text, sizeof text, "%g", samples);
            return std::string("samples: expected a whole number of frames, got ") + text;
        }
        return {};
    }
    int latencyFrames(const ParamValues& params, double sampleRate) const override {
        return latency_ ? int(framesOf(params, sampleRate)) : 0;
    }
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        return sampleRate > 0 ? double(framesOf(params, sampleRate)) / sampleRate : 0.0;
    }
    std::string batchKey(const ParamValues&) const override { return latency_ ? "latency" : "delay"; }
    std::unique_ptr<NodeKernel> createKernel() const override { return std::make_unique<DelayKernel>(latency_); }

private:
    std::int64_t framesOf(const ParamValues& params, double sampleRate) const {
        return delayFrames(paramValue(params, p_.time), paramValue(params, p_.samples), sampleRate);
    }
    bool latency_;
    const DelayDecl& p_;
};

} // namespace

void registerDelayNodes(Registry& registry) {
    registry.add(std::make_unique<DelayType>(false));
    registry.add(std::make_unique<DelayType>(true));
}

} // namespace sg
