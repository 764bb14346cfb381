#include "nodes/utility/Delay.h"

#include "core/Registry.h"
#include "core/Smoother.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

namespace sg {

namespace {

constexpr int kTimeParam = 0;
constexpr int kSamplesParam = 1;
constexpr double kMaxTimeMs = 10000;
constexpr double kMaxSamples = 1e6;

/// D in frames for `timeMs` and `samples` at `sampleRate`.
std::int64_t delayFrames(double timeMs, double samples, double sampleRate) {
    return std::llround(timeMs * sampleRate / 1000.0) + std::llround(samples);
}

NodeTypeInfo delayInfo(bool latency) {
    NodeTypeInfo info;
    info.family = "utility";
    if (latency) {
        info.name = "latency";
        info.description = "Delays by time + samples and reports it as latency, like a lookahead processor (for testing "
                           "latency compensation).";
        info.reference = "y[n] = x[n - D], D = round(time * rate / 1000) + samples frames; latencyFrames() = D, so the "
                         "compiler delays parallel paths by D to keep them aligned.";
    } else {
        info.name = "delay";
        info.description = "Delays the signal by time + samples, a whole number of frames (an intended delay, no "
                           "latency reported).";
        info.reference = "y[n] = x[n - D], D = round(time * rate / 1000) + samples frames. Reports no latency. "
                         "A change while running jumps at its frame (no glide), up to the D it was prepared with.";
    }
    const char* timeText = latency ? "Delay (and reported latency) in time; rounded to whole frames at the sample rate."
                                   : "Delay in time; rounded to whole frames at the sample rate. Adds to samples.";
    const char* samplesText = latency ? "Delay (and reported latency) in frames, a whole number; adds to time."
                                      : "Delay in frames, a whole number; adds to time. Latency compensation sets this.";
    info.inputs = {{"in", "signal, any number of channels", true}};
    info.outputs = {{"out", "delayed signal", true}};
    info.params = {
        {"time", UnitKind::Time, 0, kMaxTimeMs, 0, 0, timeText, {}},
        {"samples", UnitKind::Plain, 0, kMaxSamples, 0, 0, samplesText, {}},
    };
    info.channelRule = "out has the channels of in";
    info.batchable = true;
    info.inPlace = true;
    if (!latency) info.compensationParam = "samples"; // the compiler's latency-compensation delay
    return info;
}

class DelayKernel final : public NodeKernel {
public:
    explicit DelayKernel(bool latency) : latency_(latency) {}

    std::string prepare(const PrepareSpec& spec, std::span<const InstanceSetup> instances) override {
        sampleRate_ = spec.sampleRate;
        maxBlockFrames_ = std::max(1, spec.maxBlockFrames);
        instances_.clear();
        lanes_.clear();
        queue_.reserve(16 + 8 * instances.size());
        for (const InstanceSetup& setup : instances) {
            if (setup.params.size() < 2) return "delay: expected 2 parameters";
            const int channels = setup.inputChannels.empty() ? 0 : setup.inputChannels[0];
            if (channels <= 0) return "input 'in' is not connected";
            Instance inst;
            inst.timeMs = setup.params[kTimeParam];
            inst.samples = setup.params[kSamplesParam];
            const std::int64_t frames = delayFrames(inst.timeMs, inst.samples, spec.sampleRate);
            if (frames < 0 || frames > std::numeric_limits<int>::max() - maxBlockFrames_)
                return "delay of " + std::to_string(frames) + " frames is out of range";
            inst.capacityFrames = int(frames);
            inst.delayFrames = inst.capacityFrames;
            inst.firstLane = int(lanes_.size());
            inst.lanes = channels;
            instances_.push_back(inst);
            for (int c = 0; c < channels; ++c) {
                Lane lane;
                if (frames > 0) lane.ring.assign(std::size_t(frames) + std::size_t(maxBlockFrames_), 0.0f);
                lanes_.push_back(std::move(lane));
            }
        }
        return {};
    }

    void reset() noexcept override {
        while (!queue_.empty()) apply(queue_.pop());
        for (Lane& lane : lanes_) {
            std::fill(lane.ring.begin(), lane.ring.end(), 0.0f);
            lane.writeIndex = 0;
        }
    }

    void setParam(int instance, int param, double value, std::int64_t position) noexcept override {
        if (latency_) return; // the compiler has compensated the prepared latency
        const ParamQueue::Change change{position, instance, param, value};
        if (!queue_.push(change)) apply(change);
    }

    void process(const ProcessContext& ctx) noexcept override {
        queue_.forEachSegment(
            ctx.position, ctx.frames, ctx.frames, [this](const ParamQueue::Change& c) { apply(c); },
            [&](int start, int frames) {
                for (const Instance& inst : instances_) run(ctx, inst, start, frames);
            });
    }

private:
    struct Instance {
        int firstLane = 0, lanes = 0;
        double timeMs = 0, samples = 0;
        int capacityFrames = 0; ///< the longest delay the rings hold (prepared D)
        int delayFrames = 0;    ///< current D
    };
    struct Lane {
        std::vector<float> ring; ///< capacity + maxBlockFrames frames
        std::size_t writeIndex = 0;
    };

    /// A queued change takes effect at its frame: D jumps (no glide), limited to the capacity.
    void apply(const ParamQueue::Change& change) noexcept {
        if (change.instance < 0 || std::size_t(change.instance) >= instances_.size()) return;
        Instance& inst = instances_[std::size_t(change.instance)];
        if (change.param == kTimeParam)
            inst.timeMs = std::clamp(change.value, 0.0, kMaxTimeMs);
        else if (change.param == kSamplesParam)
            inst.samples = std::clamp(std::round(change.value), 0.0, kMaxSamples);
        else
            return;
        const std::int64_t frames = delayFrames(inst.timeMs, inst.samples, sampleRate_);
        inst.delayFrames = int(std::clamp<std::int64_t>(frames, 0, inst.capacityFrames));
    }

    /// Frames [start, start + frames) of every lane of `inst` through its rings. The whole
    /// segment is written before it is read, so in-place operation is safe; the ring holds
    /// D + maxBlockFrames frames, so the write never overwrites frames still to be read.
    void run(const ProcessContext& ctx, const Instance& inst, int start, int frames) noexcept {
        if (frames <= 0) return;
        for (int l = inst.firstLane; l < inst.firstLane + inst.lanes; ++l) {
            const float* in = ctx.inputs[0][l] + start;
            float* out = ctx.outputs[0][l] + start;
            Lane& lane = lanes_[std::size_t(l)];
            if (lane.ring.empty()) { // prepared with D = 0
                if (in != out) std::memmove(out, in, sizeof(float) * std::size_t(frames));
                continue;
            }
            const std::size_t size = lane.ring.size();
            float* ring = lane.ring.data();
            for (int done = 0; done < frames;) { // segments of at most maxBlockFrames
                const int n = std::min(frames - done, maxBlockFrames_);
                copyIn(ring, size, lane.writeIndex, in + done, std::size_t(n));
                const std::size_t readIndex = (lane.writeIndex + size - std::size_t(inst.delayFrames)) % size;
                copyOut(ring, size, readIndex, out + done, std::size_t(n));
                lane.writeIndex = (lane.writeIndex + std::size_t(n)) % size;
                done += n;
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

    bool latency_ = false;
    double sampleRate_ = 48000;
    int maxBlockFrames_ = 512;
    std::vector<Instance> instances_;
    std::vector<Lane> lanes_;
    ParamQueue queue_; ///< changes waiting for their frame
};

class DelayType final : public DeclaredNodeType {
public:
    explicit DelayType(bool latency) : DeclaredNodeType(delayInfo(latency)), latency_(latency) {}
    std::string validate(const ParamValues& params) const override {
        if (params.size() > std::size_t(kSamplesParam) && std::floor(params[kSamplesParam]) != params[kSamplesParam]) {
            char text[64];
            std::snprintf(text, sizeof text, "%g", params[kSamplesParam]);
            return std::string("samples: expected a whole number of frames, got ") + text;
        }
        return {};
    }
    int latencyFrames(const ParamValues& params, double sampleRate) const override {
        if (!latency_ || params.size() < 2) return 0;
        return int(delayFrames(params[kTimeParam], params[kSamplesParam], sampleRate));
    }
    double tailSeconds(const ParamValues& params, double sampleRate) const override {
        if (params.size() < 2 || sampleRate <= 0) return 0;
        return double(delayFrames(params[kTimeParam], params[kSamplesParam], sampleRate)) / sampleRate;
    }
    std::string batchKey(const ParamValues&) const override { return latency_ ? "latency" : "delay"; }
    std::unique_ptr<NodeKernel> createKernel() const override { return std::make_unique<DelayKernel>(latency_); }

private:
    bool latency_;
};

} // namespace

void registerDelayNodes(Registry& registry) {
    registry.add(std::make_unique<DelayType>(false));
    registry.add(std::make_unique<DelayType>(true));
}

} // namespace sg
