// Rendering to a loudness target: `stagegraph render … --target VALUE [--ceiling dBTP]`.
//
// VALUE is a loudness ("-14LUFS", "-14 LUFS", "-24 LKFS", "-14") or a preset:
//   spotify -14 LUFS / -1 dBTP, apple -16 / -1, youtube -14 / -1, amazon -14 / -2,
//   ebu-r128 -23 / -1, atsc-a85 -24 / -2            (../shared/standards/loudness.md)
// --ceiling (with its unit, -20 .. 0 dBTP) overrides the preset's true-peak ceiling; a bare
// loudness has -1 dBTP.
//
// One decoding of the input, one encoding of the output, memory bounded for any length:
//   1. the graph is rendered once into float scratch samples (TempSampleFile: in memory when
//      small, else an unlinked file in the output's folder) while a LoudnessMeter measures it:
//      integrated loudness I1;
//   2. the gain that lands is estimated before any full run: when the limiter has work to do
//      (the graph's true peak plus the gain reaches the ceiling) and the output is long enough,
//      a probe runs the same gain -> limiter chain over a sample of the scratch samples (2 s
//      out of every 16 s, each after 0.2 s of warm-up; even segments on this thread, odd ones
//      on a second, gated together) and measures how much loudness the limiter takes off
//      there; the gain is raised by that loss (two probes, a secant step);
//   3. the scratch samples are streamed through a compiled graph, `gain` -> `limiter` (ceiling
//      = target ceiling - kLimiterMarginDb, lookahead 5 ms, release 50 ms; the gain nodes'
//      multiplies done by the thread that reads the scratch, the same bits), run by the
//      OfflineRunner (which trims the limiter's lookahead), measured as it comes out
//      (integrated loudness, true peak); the limiter records its gains on a tape
//      (GainTapeFile: one float a limited frame, one length a stretch left alone), and the
//      output itself is not kept;
//   4. a run lands when a gain after the limiter (the trim) can bring it onto the target: any
//      cut up to kMaxTrimDb, a lift up to the room between its true peak and the ceiling
//      (kTrimPeakMarginDb kept). A gain after a peak limiter scales its true peak and its
//      loudness exactly, so no run is repeated for the last tenths of a LU: the output is what a
//      plain render of in -> gain -> limiter -> trim (a gain node) gives, bit for bit. Within
//      kLandingToleranceLu of the target there is no trim. A run outside that reach is followed
//      by another (the next gain predicted from the run's own result, replayed from its tape,
//      and its source, LoudnessPredictor, aiming a little over the target so that a cut lands it; secant steps
//      otherwise; the limiter's ceiling lowered when a peak would stay over it); at most
//      kMaxPass2Runs;
//   5. the run that lands is replayed from the pass-1 scratch (read ahead on a thread) and its
//      tape (the same chain, its limiter playing the recorded gains back instead of detecting:
//      the same bits), trimmed and encoded, once, while WrittenSampleMeter measures exactly what the writer stores (same dither
//      and quantisation, worked out beside the writer and handed to it and to the meters' threads as the integers it packs);
//      those figures are checked against the target
//      and the ceiling again before anything is kept. Otherwise nothing is written, the render fails (exit 1) and names what was
//      reached.
// Every written output of a multi-output graph is delivered to the target on its own (its own
// gain and limiter): a graph with stems and a master brings each to the target.
#pragma once

#include "core/Buffer.h"
#include "host/cli/Figures.h"
#include "host/io/AudioFile.h"
#include "host/io/Dither.h"
#include "nodes/dynamics/Limiter.h"
#include "nodes/meters/LoudnessMeter.h"

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sg::cli {

/// A delivery target: integrated loudness and true-peak ceiling.
struct LoudnessTarget {
    std::string name;            ///< preset name ("spotify"), or "" for a bare loudness
    double integratedLufs = -14; ///< LUFS
    double ceilingDbtp = -1;     ///< dBTP
    double maxGainDb = 20;       ///< --max-gain: the most gain pass 2 may apply, dB (more is refused)
};

inline constexpr double kMinTargetLufs = -60;        ///< quietest --target
inline constexpr double kMaxTargetLufs = -1;         ///< loudest --target
inline constexpr double kMinCeilingDbtp = -20;       ///< lowest --ceiling
inline constexpr double kMaxCeilingDbtp = 0;         ///< highest --ceiling
inline constexpr double kLandingToleranceLu = 0.02;  ///< a run this close needs no trim
inline constexpr double kMaxTrimDb = 0.5;            ///< largest cut after the limiter, dB
inline constexpr double kTrimPeakMarginDb = 0.01;    ///< a lift after the limiter keeps this under the ceiling
inline constexpr double kAcceptToleranceLu = 0.1;    ///< the promise: the file lands within this
inline constexpr double kLimiterMarginDb = 0.02;     ///< the limiter aims this far under the ceiling
inline constexpr int kMaxPass2Runs = 8;              ///< most runs of pass 2 per output
inline constexpr double kHeavyLimitingDb = 3;        ///< mean gain reduction that earns a warning
inline constexpr double kDefaultMaxGainDb = 20;      ///< --max-gain default, dB
inline constexpr double kMaxMaxGainDb = 60;          ///< largest --max-gain, dB
inline constexpr double kLoudnessBlockSeconds = 0.4; ///< BS.1770 gating block: shorter has no loudness

/// The presets, in the order of the usage text.
const std::vector<LoudnessTarget>& loudnessPresets();
/// Parses a --target value (preset names are case-insensitive). Returns "" or a usage error.
std::string parseLoudnessTarget(const std::string& text, LoudnessTarget& out);
/// Parses a --ceiling value: a true-peak level with its unit ("-1dBTP", "-1 dBTP"), within
/// kMinCeilingDbtp .. kMaxCeilingDbtp. Returns "" or a usage error.
std::string parseCeiling(const std::string& text, double& ceilingDbtp);

/// Parses a --max-gain value: a gain in dB ("20dB", "20 dB", "20") from 0 to kMaxMaxGainDb.
/// Returns "" or a usage error.
std::string parseMaxGain(const std::string& text, double& maxGainDb);

/// Measures exactly the samples an io::AudioFileWriter stores for the same views in the same
/// order: for integer formats the same TPDF dither sequence (same seed) and quantisation
/// (io::quantize), read back as q / 2^(bits-1); for wav32f the floats themselves.
class WrittenSampleMeter {
public:
    /// Prepares for `channels` at `sampleRate` (meter limits: 1..8 channels, 8..768 kHz).
    /// Returns "" or an error.
    std::string prepare(double sampleRate, int channels, io::OutputFormat format,
                        std::uint64_t ditherSeed = io::TpdfDither::kDefaultSeed);
    /// Measures the frames of `view` as the writer will store them.
    void process(const ConstAudioView& view);
    /// process() in two halves, for two threads: stored() writes to `out` (same frames and
    /// channels as `view`) the values the writer stores for `view` (it advances the dither), and
    /// measureStored() measures such values. Calls of each must keep the frames' order.
    /// stored() returns the samples that quantisation clipped (what the writer counts), so its
    /// values can go to io::AudioFileWriter::writeStored() too.
    std::uint64_t stored(const ConstAudioView& view, const AudioView& out);
    void measureStored(const ConstAudioView& stored);
    /// measureStored() in two halves for two more threads: the loudness (into meter()) and the
    /// peaks (into a second meter), each fed every stored frame in order; mergePeaks(), once both
    /// are done, brings the peaks into meter(), which then reads as after measureStored().
    void measureStoredLoudness(const ConstAudioView& stored);
    void measureStoredPeaks(const ConstAudioView& stored);
    /// stored() as the integers the writer packs (integer formats only): `out` receives
    /// view.frames interleaved frames of io::quantize()'s left-justified samples, for the frames
    /// of `view` times `factor` (a gain node's float multiply after them; 1: none), and
    /// io::AudioFileWriter::writeQuantised() takes them as they are. Returns the samples clipped.
    std::uint64_t quantised(const ConstAudioView& view, float factor, std::int32_t* out);
    /// measureStoredLoudness() and measureStoredPeaks() of quantised()'s integers (`frames`
    /// interleaved frames), each converting them on its own thread.
    void measureQuantisedLoudness(const std::int32_t* interleaved, int frames);
    void measureQuantisedPeaks(const std::int32_t* interleaved, int frames);
    void mergePeaks();
    /// The meter (its readings cover everything processed).
    const LoudnessMeter& meter() const { return meter_; }

private:
    LoudnessMeter meter_, peakMeter_;
    io::TpdfDither dither_;
    int bits_ = 0; ///< 0 = float samples
    int channels_ = 0;
    std::vector<float> interleaved_, ditherScratch_;
    std::vector<std::int32_t> quantised_;
    AudioBuffer planar_, loudnessPlanar_, peaksPlanar_;
};

/// Interleaved float32 scratch samples: kept in memory up to kInMemorySamples samples, beyond
/// that in a file in a given folder that is unlinked as soon as it is created (so nothing is left
/// behind on any exit path, even a crash; the open descriptor keeps it alive). Memory stays
/// bounded for any length; short renders never touch the disk. A caller that knows the samples
/// will not fit creates it with memorySamples 0, straight to the file: filling the memory first
/// and writing it out in one piece when it overflows stalls the writing thread.
class TempSampleFile {
public:
    /// Samples (frames x channels) held in memory before spilling to the file (32 MiB).
    static constexpr std::size_t kInMemorySamples = std::size_t(1) << 23;
    /// create()'s memorySamples for a scratch expected to hold `expectedSamples` (negative:
    /// unknown): none when they are known not to fit, kInMemorySamples otherwise.
    static std::size_t memoryFor(double expectedSamples) noexcept {
        return expectedSamples > double(kInMemorySamples) ? 0 : kInMemorySamples;
    }

    TempSampleFile() = default;
    ~TempSampleFile();
    TempSampleFile(const TempSampleFile&) = delete;
    TempSampleFile& operator=(const TempSampleFile&) = delete;

    /// Prepares for `channels` channels, the file (if it is needed) in `folder`, else in the
    /// system's temporary folder. `memorySamples` overrides kInMemorySamples (0: always a file).
    /// Returns "" or an error.
    std::string create(const std::string& folder, int channels, std::size_t memorySamples = kInMemorySamples);
    /// Appends the frames of `view`. Returns "" or an error (e.g. disk full).
    std::string write(const ConstAudioView& view);
    /// Moves back to the first frame for reading.
    std::string rewind();
    /// Moves to `frame` (0 .. frames()) for reading.
    std::string seek(std::int64_t frame);
    /// Forgets every frame (the file is truncated) so that it can be written again.
    std::string clear();
    /// Reads up to view.frames frames; returns the frames read (0 at the end) or -1 on error.
    std::int64_t read(const AudioView& view);
    /// Hands every written frame to the file (or keeps it in memory) so that readAt() sees it.
    /// Returns "" or an error.
    std::string flush();
    /// Reads up to view.frames frames from `frame` on without moving the read position: several
    /// threads may read at once, as long as nothing is written meanwhile and flush() was called
    /// after the last write. Returns the frames read (0 at the end) or -1 on error.
    std::int64_t readAt(std::int64_t frame, const AudioView& view) const;
    std::int64_t frames() const { return frames_; }           ///< frames written
    int channels() const { return channels_; }                ///< as created
    bool onDisk() const { return spilled_; }                  ///< the samples went to the file
    std::uint64_t fileBytes() const { return spilledBytes_; } ///< bytes written to the file, all in all

private:
    /// The file holds blocks of this many frames, each channel's samples in a row: the callers'
    /// planar channels go to and come from the file with no (de)interleaving (pread and pwrite
    /// of each channel's part of a block; 64 KiB a channel).
    static constexpr std::int64_t kFileBlockFrames = 16384;
    std::string spill();
    /// Where (frame, channel) is in the file, in bytes.
    std::uint64_t fileOffset(std::int64_t frame, int channel) const;
    /// Calls part(channel, first, bytes, offset) for each channel's part of each block that
    /// frames `frame` .. `frame + frames` cross (`first`: the part's first frame of the range), in
    /// order; false as soon as a part returns false.
    template <class Part> bool forEachPart(std::int64_t frame, int frames, Part&& part) const;
    /// Writes the frames of `view` as frames `frame` ..; "" or the reason.
    std::string writeFile(const ConstAudioView& view, std::int64_t frame);
    /// Reads frames `frame` .. into `view` (all written); false on an error.
    bool readFile(std::int64_t frame, const AudioView& view) const;
    int fd_ = -1; ///< the unlinked scratch file (pread / pwrite)
    std::string folder_;
    int channels_ = 0;
    std::int64_t frames_ = 0;
    std::size_t memoryLimit_ = kInMemorySamples;
    std::vector<float> memory_;  ///< the samples, while they fit
    std::int64_t readFrame_ = 0; ///< where read() goes on
    bool spilled_ = false;
    std::uint64_t spilledBytes_ = 0;
};

/// A limiter's gain tape (LimiterGainTape, nodes/dynamics/Limiter.h) in a TempSampleFile of one
/// channel: each stretch a length, stored as a float (exact: at most 2^24 frames), positive
/// when its gains follow and negative for a copied stretch (gain exactly 1), which costs one
/// value however long; a 0 marks a stretch of gains of exactly 1 (multiplied, not copied:
/// flushed subnormals stay flushed), its length after it. Pass 2 records every run into it; the run that lands is replayed to be
/// encoded, so the run's output never needs a scratch of its own (a 10-minute stereo master:
/// about 0.1 GB of gains where the output would take 0.23 GB, and no gains where it is not
/// limited). Not copyable; record() and replay() keep their first error for error().
class GainTapeFile final : public LimiterGainTape {
public:
    GainTapeFile();
    ~GainTapeFile() override;
    GainTapeFile(const GainTapeFile&) = delete;
    GainTapeFile& operator=(const GainTapeFile&) = delete;

    /// As TempSampleFile::create, for a run of about `expectedFrames` frames (negative: unknown).
    std::string create(const std::string& folder, std::int64_t expectedFrames);
    /// Forgets the recording, before the next one.
    std::string clear();
    /// Ends a recording: what is held back goes to the file. Returns "" or the first error.
    std::string finish();
    /// Moves back to the start, before a replay.
    std::string rewind();
    /// Whether a replay has played every recorded stretch.
    bool atEnd() const { return remaining_ == 0 && used_ == 0 && fetched_ == stored_; }
    /// The first error of record() or replay() since clear() or rewind(), or "".
    std::string error() const { return failure_ ? std::string(failure_) : error_; }
    std::uint64_t fileBytes() const { return file_ ? file_->fileBytes() : 0; }
    /// Frames recorded so far.
    std::int64_t frames() const { return frames_; }
    /// Hands the file over (to be released beside the commit); the tape is empty after it.
    std::unique_ptr<TempSampleFile> takeFile();

    void record(const float* gains, int frames) noexcept override;
    int replay(float* gains, int frames, bool& copied) noexcept override;

private:
    bool put(const float* values, std::size_t count) noexcept;
    bool putCopied() noexcept;
    bool flushBuffer() noexcept;
    bool get(float* values, std::size_t count) noexcept;
    std::unique_ptr<TempSampleFile> file_;
    std::vector<float> buffer_;      ///< values on their way to or from the file
    std::size_t used_ = 0;           ///< recording: values in buffer_; replaying: values left in it
    std::size_t readAt_ = 0;         ///< replaying: the next value in buffer_
    std::int64_t stored_ = 0;        ///< values in the file (recording: once flushed)
    std::int64_t fetched_ = 0;       ///< replaying: values read from the file so far
    std::int64_t pendingCopied_ = 0; ///< recording: copied frames not yet stored
    std::int64_t remaining_ = 0;     ///< replaying: frames left in the current stretch
    bool remainingCopied_ = true;
    bool remainingOnes_ = false; ///< replaying: the current stretch is gains of exactly 1
    std::int64_t frames_ = 0;
    std::string error_;             ///< the file's error (set where nothing may throw, in a try)
    const char* failure_ = nullptr; ///< the tape's own error
};

/// The loudness a run of pass 2 would have at another gain, predicted from the run's result and
/// the samples it was made from (both cached), without running the limiter again. Raising the
/// gain by d dB scales the samples the limiter left alone (y = g x) by a = 10^(d/20) and, to first
/// order, leaves the limited ones where the limiter put them (at the peak of a reduction the
/// reduction grows by d; on its release R = Rpeak c^k, by d c^k, so a frame follows the share
/// 1 - R/Rpeak). K-weighting is linear: with v the following part of y and l the rest, each
/// 100 ms step's weighted energy at gain a is A a^2 + B a + C (A = sum K(v)^2,
/// B = 2 sum K(v) K(l), C = sum K(l)^2), and BS.1770's gated integration over 400 ms blocks
/// follows for any a. Exact where nothing is limited; peaks that only start to be limited at the
/// new gain are not in the model, so it reads high for d > 0.
class LoudnessPredictor {
public:
    /// Measures `result` (the run at `gainDb` on `source`, latency trimmed, same length and
    /// channels); both are rewound here. Returns "" or an error.
    std::string measure(TempSampleFile& source, TempSampleFile& result, double gainDb, double sampleRate);
    /// Predicted integrated loudness, LUFS, at `deltaDb` more gain (-inf when all is gated).
    double integratedLufs(double deltaDb) const;
    /// The gain change, dB, whose predicted loudness is `targetLufs`; nullopt if none within
    /// +-6 dB. The model holds near the run: far from it the split into following and limited
    /// samples shows (their K-weighted edges cancel only in the sum).
    std::optional<double> deltaFor(double targetLufs) const;

private:
    struct Step {
        double a = 0, b = 0, c = 0;
    };
    std::vector<Step> steps_;
    int stepFrames_ = 4800;
    mutable std::vector<double> energies_;
};

/// The plain loudness of the probe's stretches of an output (deliverToTarget()), kept from pass 1's
/// meter as it measures (LoudnessOptions::stepTap): its 100 ms steps that fall on the probe's
/// measured stretches. The offline meter filters every step from rest at least 0.2 s before it, as
/// the probe filters each stretch after its 0.2 s warm-up, so the loudness is the probe's own to
/// the last bits that matter (the filters' memory of what they lack is below 1e-18 by then), and
/// deliverToTarget() need not read those stretches back for it. Kept only where the stretches
/// fall on whole steps (fs/10 a whole number of frames) and only for as many frames as reserve()
/// was told: the tap never allocates.
class ProbeReference {
public:
    /// Room for an output of up to `frames` frames at `sampleRate` Hz (before pass 1 starts).
    void reserve(std::int64_t frames, double sampleRate);
    /// The meter's tap (LoudnessOptions::stepTap; `context` is this).
    static void tap(void* context, std::int64_t step, double energy) noexcept;
    /// LUFS of the probe's stretches of an output of `frames` frames at `sampleRate` (as the probe
    /// measures them: -inf when every block is gated), or nothing when the steps kept do not
    /// cover them (another rate, a longer output, fs/10 not whole, a step missed).
    std::optional<double> lufs(std::int64_t frames, double sampleRate) const;

private:
    double sampleRate_ = 0;
    int stepFrames_ = 0;
    std::int64_t spacingSteps_ = 0, offsetSteps_ = 0; ///< a stretch every spacing, from offset
    int perStretch_ = 0;                              ///< its steps
    std::vector<double> steps_;                       ///< [stretch][step], reserved
    std::int64_t nextStep_ = 0;                       ///< the step the tap expects next
    bool broken_ = false;                             ///< a step out of order: keep nothing
};

/// The chain that delivers an output, as a graph: in -> gain -> limiter (lookahead 5 ms, release
/// 50 ms) -> trim -> out (gains beyond the gain node's range and ceilings under the limiter's are
/// spread over more nodes). A render of it gives what deliverToTarget writes, bit for bit.
std::string targetChainYaml(int channels, double gainDb, double limiterCeilingDbtp, double trimDb);

/// What delivering one output to the target did.
struct TargetResult {
    OutputFigures before;           ///< the graph's output (pass 1)
    OutputFigures after;            ///< the written file
    double gainDb = 0;              ///< gain applied before the limiter
    double trimDb = 0;              ///< gain applied after the limiter (0, or what landed the run)
    double limiterCeilingDbtp = 0;  ///< the limiter's ceiling in the last pass
    double maxGainReductionDb = 0;  ///< the limiter's, last pass
    double meanGainReductionDb = 0; ///< over all frames
    double limitedPercent = 0;      ///< share of frames limited
    int pass2Runs = 0;              ///< runs of pass 2 (1 .. kMaxPass2Runs)
    int probeRuns = 0;              ///< probes over a sample of the output before the first run
    double probeLossDb = 0;         ///< loudness the limiter took off in the last probe, LU (<= 0)
    double pass2Seconds = 0;        ///< time of all runs of pass 2 and of the encoding
    int encodes = 0;                ///< encodings of the output file: 1 once delivered (runs reuse cached samples)
    std::uint64_t scratchBytes = 0; ///< bytes the runs of pass 2 wrote to their scratch file (0: kept in memory)
};

/// Pass 2 for one output: streams `source` (rewound here) through gain + limiter, as often as it
/// takes, then encodes the run that landed into `writer` (opened here on `path`; left uncommitted on success so that the caller
/// commits every output together). `before` holds the pass-1 figures of `source`. `interrupted` is polled between blocks. Returns
/// "" or an error; on error `writer` holds nothing. The runs' scratch file is handed to `spent`
/// when that is given (closing it drops its cached pages, hundreds of MB for a long output, which
/// the caller can do beside other work), else closed here. `kept`, when given, is pass 1's measure
/// of the probe's stretches as they are (else the probe reads them back to measure them).
std::string deliverToTarget(TempSampleFile& source, const OutputFigures& before, const LoudnessTarget& target,
                            const std::string& path, io::OutputFormat format, const std::vector<std::string>& protectedPaths,
                            io::AudioFileWriter& writer, TargetResult& result, bool showProgress,
                            const volatile std::sig_atomic_t* interrupted, std::unique_ptr<TempSampleFile>* spent = nullptr,
                            const ProbeReference* kept = nullptr);

} // namespace sg::cli
