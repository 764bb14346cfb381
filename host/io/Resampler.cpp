#include "host/io/Resampler.h"

#include <soxr.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <vector>

namespace sg::io {

namespace {

struct QualityEntry {
    ResampleQuality quality;
    const char* name;
    unsigned long recipe;
};
constexpr QualityEntry kQualities[] = {
    {ResampleQuality::Quick, "quick", SOXR_QQ},         {ResampleQuality::Low, "low", SOXR_LQ},
    {ResampleQuality::Medium, "medium", SOXR_MQ},       {ResampleQuality::High, "high", SOXR_HQ},
    {ResampleQuality::VeryHigh, "very-high", SOXR_VHQ},
};

/// Output frames one process() call may need beyond in * ratio: what soxr holds back (its
/// filter, at most a few thousand frames at the highest ratios) comes out with later input.
constexpr int kHeldBackFrames = 65536;

} // namespace

const char* resampleQualityName(ResampleQuality quality) {
    for (const auto& q : kQualities)
        if (q.quality == quality) return q.name;
    return "very-high";
}

std::optional<ResampleQuality> parseResampleQuality(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    if (lower == "veryhigh" || lower == "vhq") return ResampleQuality::VeryHigh;
    for (const auto& q : kQualities)
        if (lower == q.name) return q.quality;
    return std::nullopt;
}

std::int64_t resampledFrames(std::int64_t frames, double inRate, double outRate) {
    return std::llround(double(frames) * outRate / inRate);
}

struct Resampler::State {
    soxr_t soxr = nullptr;
    double inRate = 0, outRate = 0;
    int channels = 0;
    unsigned long recipe = SOXR_VHQ;
    AudioBuffer output;
    std::vector<const float*> inPointers;
    std::vector<float*> outPointers;
    std::int64_t framesIn = 0, framesOut = 0;

    void destroy() {
        if (soxr) soxr_delete(soxr);
        soxr = nullptr;
    }
    std::string create() {
        destroy();
        soxr_error_t error = nullptr;
        const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_S, SOXR_FLOAT32_S);
        const soxr_quality_spec_t quality = soxr_quality_spec(recipe, 0);
        const soxr_runtime_spec_t runtime = soxr_runtime_spec(1);
        soxr = soxr_create(inRate, outRate, unsigned(channels), &error, &io, &quality, &runtime);
        if (error || !soxr) {
            destroy();
            return std::string("cannot resample: ") + (error ? error : "soxr_create failed");
        }
        framesIn = framesOut = 0;
        return {};
    }
    /// Runs soxr on `frames` frames from `input` (nullptr: flush) into the output buffer from
    /// `filled`, growing it when soxr has more. Returns the frames in the output buffer.
    int run(const ConstAudioView* input, int filled) {
        int consumed = 0;
        const int frames = input ? input->frames : 0;
        for (;;) {
            if (filled == output.frames()) { // offline: grow rather than stall
                AudioBuffer larger(channels, output.frames() * 2);
                for (int c = 0; c < channels; ++c) std::copy(output.channel(c), output.channel(c) + filled, larger.channel(c));
                output = std::move(larger);
            }
            for (int c = 0; c < channels; ++c) {
                if (input) inPointers[std::size_t(c)] = input->channel(c) + consumed;
                outPointers[std::size_t(c)] = output.channel(c) + filled;
            }
            std::size_t inDone = 0, outDone = 0;
            soxr_process(soxr, input ? static_cast<soxr_in_t>(inPointers.data()) : nullptr, std::size_t(frames - consumed),
                         input ? &inDone : nullptr, outPointers.data(), std::size_t(output.frames() - filled), &outDone);
            consumed += int(inDone);
            filled += int(outDone);
            if (input && inDone == 0 && outDone == 0 && filled < output.frames()) break; // nothing moves: never spin
            if (input ? consumed >= frames && filled < output.frames() : (outDone == 0 || filled >= output.frames())) break;
        }
        return filled;
    }
};

Resampler::Resampler() : state_(std::make_unique<State>()) {}
Resampler::~Resampler() { state_->destroy(); }
Resampler::Resampler(Resampler&&) noexcept = default;
Resampler& Resampler::operator=(Resampler&&) noexcept = default;

std::string Resampler::prepare(double inRate, double outRate, int channels, int maxInputFrames, ResampleQuality quality) {
    State& s = *state_;
    if (!(inRate > 0 && outRate > 0) || channels < 1 || maxInputFrames < 1) return "cannot resample: bad rates or channels";
    s.inRate = inRate;
    s.outRate = outRate;
    s.channels = channels;
    for (const auto& q : kQualities)
        if (q.quality == quality) s.recipe = q.recipe;
    s.inPointers.assign(std::size_t(channels), nullptr);
    s.outPointers.assign(std::size_t(channels), nullptr);
    const double ratio = outRate / inRate;
    s.output.resize(channels,
                    int(std::ceil(double(maxInputFrames) * ratio)) + int(std::ceil(kHeldBackFrames * std::min(ratio, 1.0))) + 64);
    return s.create();
}

ConstAudioView Resampler::process(const ConstAudioView& input) {
    State& s = *state_;
    s.framesIn += input.frames;
    const int filled = s.run(&input, 0);
    s.framesOut += filled;
    return ConstAudioView(s.output.view().frameRange(0, filled));
}

ConstAudioView Resampler::flush() {
    State& s = *state_;
    const std::int64_t target = resampledFrames(s.framesIn, s.inRate, s.outRate);
    if (s.framesOut >= target) return ConstAudioView(s.output.view().frameRange(0, 0));
    int filled = s.run(nullptr, 0);
    if (filled == 0) { // soxr has nothing more: silence up to the exact length
        filled = int(std::min<std::int64_t>(target - s.framesOut, s.output.frames()));
        s.output.view().frameRange(0, filled).clear();
    }
    filled = int(std::min<std::int64_t>(filled, target - s.framesOut));
    s.framesOut += filled;
    return ConstAudioView(s.output.view().frameRange(0, filled));
}

void Resampler::reset() {
    if (state_->soxr) soxr_clear(state_->soxr);
    state_->framesIn = state_->framesOut = 0;
}

std::int64_t Resampler::inputFrames() const { return state_->framesIn; }
std::int64_t Resampler::outputFrames() const { return state_->framesOut; }

// ---- pulled ----------------------------------------------------------------------------------

namespace {
constexpr int kPullFrames = 4096;
}

std::string ResampledSource::prepare(double inRate, double outRate, int channels, ResampleQuality quality, Pull source) {
    source_ = std::move(source);
    input_.resize(channels, kPullFrames);
    pending_ = {};
    pendingOffset_ = 0;
    inputEnded_ = finished_ = false;
    return resampler_.prepare(inRate, outRate, channels, kPullFrames, quality);
}

std::int64_t ResampledSource::read(const AudioView& view) {
    int done = 0;
    while (done < view.frames) {
        if (pendingOffset_ < pending_.frames) {
            const int n = std::min(view.frames - done, pending_.frames - pendingOffset_);
            for (int c = 0; c < view.channels; ++c)
                std::copy(pending_.channel(c) + pendingOffset_, pending_.channel(c) + pendingOffset_ + n, view.channel(c) + done);
            pendingOffset_ += n;
            done += n;
            continue;
        }
        if (finished_) break;
        pendingOffset_ = 0;
        if (!inputEnded_) {
            const std::int64_t got = source_(input_.view());
            if (got < 0) return -1;
            if (got < kPullFrames) inputEnded_ = true;
            pending_ = resampler_.process(ConstAudioView(input_.view().frameRange(0, int(got))));
        } else {
            pending_ = resampler_.flush();
            if (pending_.frames == 0) finished_ = true;
        }
    }
    return done;
}

} // namespace sg::io
