// Audio files through libsndfile: a streaming reader into planar views and an atomic writer.
//
// Reader: any format libsndfile reads (WAV, FLAC, AIFF, Ogg Vorbis, …), delivered as planar
// float blocks, full scale ±1.0. Memory does not grow with the file: one interleaved scratch of
// kChunkFrames frames is reused. The length is the one the file declares (for WAV and AIFF read
// from the header itself, since libsndfile silently shortens a truncated data chunk; only for a
// regular file: a pipe is read once), so a cut file is an error that names it, not a silently
// shorter render. A stream that declares no length is read to its end (lengthKnown()); so is a
// WAV from a pipe whose header carries a streamed size (0xFFFFFFFF, or sox's 0x7FFFF000).
//
// Writer: every format of host/io/Formats.h (wav16, wav24, flac24, mp3, opus…). The target
// follows the output rules of host/io/OutputFiles.h (docs/safety.md): symbolic links are followed; stdout ("-"), devices and
// FIFOs are streamed to (to a pipe, WAV with the streamed sizes 0xFFFFFFFF, other containers
// with the header they wrote first: FLAC without a total); a regular file gets a temporary file in its folder
// (".name.sg-PID.XXXXXX.tmp") that commit() renames over it (rename(2) is atomic within a file system), and a writer destroyed
// without commit() removes it, so a failed render never leaves a half-written file. A target
// that is one of the given input files (same device and inode, or same path) is refused. 8-, 16-,
// 20- and 24-bit integer encodings get TPDF dither (host/io/Dither.h), then rounding and
// clipping; clipped samples are counted. Float, 32-bit PCM and lossy encodings get the floats
// (libsndfile converts and encodes them, clipping to full scale).
#pragma once

#include "core/Buffer.h"
#include "host/io/Dither.h"
#include "host/io/Formats.h"
#include "host/io/Resampler.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sg::io {

/// Frames converted per libsndfile call (the size of the reused interleaved scratch).
inline constexpr int kChunkFrames = 4096;

/// Streams one audio file as planar float blocks.
class AudioFileReader {
public:
    AudioFileReader();
    ~AudioFileReader();
    AudioFileReader(AudioFileReader&&) noexcept;
    AudioFileReader& operator=(AudioFileReader&&) noexcept;

    /// Opens `path`, an input spec of host/io/Formats.h: a file, "-" (standard input) or
    /// "raw:RATE:CHANNELS:ENCODING:FILE". Returns "" or a message naming the file and the
    /// reason, e.g. "cannot open 'x.wav': Format not recognised."
    std::string open(const std::string& path);
    /// From now on delivers the file resampled to `rate` Hz (host/io/Resampler.h): sampleRate(),
    /// frames() and position() are then at that rate; seek() is refused. Call before the first
    /// read(). Returns "" or an error.
    std::string resampleTo(double rate, ResampleQuality quality = ResampleQuality::VeryHigh);
    /// Closes the file (also done on destruction).
    void close();
    /// True between a successful open() and close().
    bool isOpen() const;

    const std::string& path() const; ///< as given to open()
    double sampleRate() const;       ///< Hz, as delivered (the file's unless resampleTo())
    double fileSampleRate() const;   ///< Hz, the file's own
    int channels() const;            ///< channels per frame
    std::int64_t frames() const;     ///< declared length in frames
    std::int64_t position() const;   ///< frames delivered so far
    /// False for a stream that declares no length (a WAV written to a pipe): frames() is then an
    /// upper bound and read() ends, without error, where the stream does.
    bool lengthKnown() const;
    /// "WAV, Signed 24 bit PCM" (libsndfile's names of container and encoding).
    std::string formatDescription() const;

    /// Reads up to view.frames frames into `view` (view.channels must equal channels()).
    /// Returns the frames read (0 once the declared length is reached), or -1 on error, with
    /// error() naming the file: a file that ends before its declared length is truncated.
    std::int64_t read(const AudioView& view);
    /// Moves to frame `frame` (0 <= frame <= frames()). Returns "" or an error.
    std::string seek(std::int64_t frame);
    /// The last error, "" if none.
    const std::string& error() const;

private:
    struct State;
    static std::int64_t readNative(State& state, const AudioView& view);
    std::unique_ptr<State> state_;
};

/// Writes one audio file through a temporary file that commit() renames over the target.
class AudioFileWriter {
public:
    AudioFileWriter();
    ~AudioFileWriter(); ///< removes the temporary file unless committed
    AudioFileWriter(AudioFileWriter&&) noexcept;
    AudioFileWriter& operator=(AudioFileWriter&&) noexcept;

    /// Creates the temporary file beside `path`. Refuses a target that is a directory or one of
    /// `protectedPaths` (inputs: compared by device and inode, and by path). `ditherSeed` makes
    /// integer output reproducible. Returns "" or a message naming the file.
    std::string open(const std::string& path, OutputFormat format, double sampleRate, int channels,
                     const std::vector<std::string>& protectedPaths = {}, std::uint64_t ditherSeed = TpdfDither::kDefaultSeed);
    /// Appends view.frames frames (view.channels must equal the channels given to open()).
    /// Returns "" or a message naming the file (e.g. disk full).
    std::string write(const ConstAudioView& view);
    /// True when writeStored() takes this file's samples: integer PCM of up to 24 bits, whose
    /// stored values a float holds exactly.
    bool takesStoredValues() const;
    /// Appends frames that the caller has already dithered and quantised for this file exactly
    /// as write() would, given as the values stored (q / 2^31, q the left-justified integer:
    /// what cli::WrittenSampleMeter::stored() gives with this writer's dither seed), with
    /// `clipped` the samples that quantisation clipped. The same bytes as write() of the frames
    /// before quantisation, without quantising them a second time (a caller that measures what
    /// is stored has done it already). Only when takesStoredValues(); the writer's own dither is
    /// not advanced, so the calls of one file are all write() or all writeStored().
    std::string writeStored(const ConstAudioView& stored, std::uint64_t clipped);
    /// writeStored() of the integers themselves: `frames` frames of `channels` (the file's)
    /// interleaved, left-justified samples as io::quantize() gives them with this writer's dither
    /// seed, packed as they are (no conversion).
    std::string writeQuantised(const std::int32_t* interleaved, int frames, int channels, std::uint64_t clipped);
    /// Finishes the file and renames it over the target. Returns "" or an error, in which case
    /// the temporary file is removed and the target is untouched.
    std::string commit();
    /// Removes the temporary file, leaving the target untouched (the destructor does this too).
    void discard();

    const std::string& path() const;     ///< the target
    const std::string& tempPath() const; ///< the temporary file ("" when none)
    OutputFormat format() const;         ///< as given to open()
    int channels() const;                ///< as given to open()
    std::int64_t framesWritten() const;  ///< frames appended so far
    /// Samples beyond the integer range (|x| ≥ full scale), clipped. Always 0 when outputFormatBits() is 0.
    std::uint64_t clippedSamples() const;

private:
    struct State;
    /// "" when writeStored() / writeQuantised() may store `channels` channels, else the error.
    std::string checkStored(int channels) const;
    /// Stores `frames` (<= kChunkFrames) quantised interleaved frames; "" or the error.
    std::string storeChecked(const std::int32_t* q, int frames);
    std::unique_ptr<State> state_;
};

/// Writes `audio` as the whole content of `path` (open, write, commit: through a temporary file
/// renamed into place, so the target is either untouched or complete). Returns "" or the
/// writer's error.
std::string writeAudioFile(const std::string& path, OutputFormat format, double sampleRate, const ConstAudioView& audio);

/// True when `a` and `b` name the same file: same device and inode if both exist, else the
/// same normalised absolute path.
bool sameFile(const std::string& a, const std::string& b);

} // namespace sg::io
