// Sample-rate conversion with libsoxr (docs/formats.md, "Resampling").
//
// soxr's output is already aligned with its input (its filter delay is compensated inside: an
// impulse at input frame n comes out at n * out/in) and flushing it at the end of the input
// yields the tail, so a stream of F input frames becomes exactly resampledFrames(F) output
// frames: the tail is cut or padded with silence to that count. Memory is bounded by the
// largest input chunk, whatever the stream's length.
//
// Quality recipes (soxr's): quick (cubic interpolation), low and medium (16-bit precision,
// ~96 dB), high (20-bit, ~120 dB), very-high (28-bit, ~170 dB; the default). All but quick use
// a linear-phase filter with a passband to 91.3 % of the lower Nyquist frequency (soxr's
// default).
#pragma once

#include "core/Buffer.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace sg::io {

enum class ResampleQuality { Quick, Low, Medium, High, VeryHigh };

/// "quick", "low", "medium", "high", "very-high".
const char* resampleQualityName(ResampleQuality quality);
/// Parses one of the names above; nullopt if unknown.
std::optional<ResampleQuality> parseResampleQuality(std::string_view text);
/// The output length of `frames` input frames: round(frames * outRate / inRate).
std::int64_t resampledFrames(std::int64_t frames, double inRate, double outRate);

/// Converts one planar stream, chunk by chunk. Not real-time safe (offline: a chunk larger than
/// expected grows the output buffer).
class Resampler {
public:
    Resampler();
    ~Resampler();
    Resampler(Resampler&&) noexcept;
    Resampler& operator=(Resampler&&) noexcept;

    /// Prepares for `channels` channels from `inRate` to `outRate` (Hz) with chunks of up to
    /// `maxInputFrames`. Returns "" or soxr's error.
    std::string prepare(double inRate, double outRate, int channels, int maxInputFrames,
                        ResampleQuality quality = ResampleQuality::VeryHigh);
    /// Converts `input`; returns the output frames ready now (valid until the next call).
    ConstAudioView process(const ConstAudioView& input);
    /// The input has ended: returns the next part of the tail (empty once the output holds
    /// exactly resampledFrames(input frames) frames). Call until it returns no frames.
    ConstAudioView flush();
    /// Back to the state after prepare().
    void reset();

    std::int64_t inputFrames() const;  ///< frames given to process()
    std::int64_t outputFrames() const; ///< frames returned so far

private:
    struct State;
    std::unique_ptr<State> state_;
};

/// A pulled stream at another rate: read() asks `source` for input frames as it needs them.
class ResampledSource {
public:
    /// Reads up to view.frames input frames; returns the frames read (fewer only at the end),
    /// or -1 on error.
    using Pull = std::function<std::int64_t(const AudioView&)>;

    /// Returns "" or an error.
    std::string prepare(double inRate, double outRate, int channels, ResampleQuality quality, Pull source);
    /// Fills up to view.frames output frames; returns the frames written (fewer only at the end),
    /// or -1 when the source failed.
    std::int64_t read(const AudioView& view);

private:
    Resampler resampler_;
    Pull source_;
    AudioBuffer input_;
    ConstAudioView pending_;
    int pendingOffset_ = 0;
    bool inputEnded_ = false, finished_ = false;
};

} // namespace sg::io
