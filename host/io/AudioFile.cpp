#include "host/io/AudioFile.h"

#include "host/io/OutputFiles.h"

#include <sndfile.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::io {

// ---- formats ---------------------------------------------------------------------------

namespace {

std::string quotedPath(const std::string& path) { return "'" + path + "'"; }

} // namespace

bool sameFile(const std::string& a, const std::string& b) {
    struct stat sa {
    }, sb{};
    const bool haveA = ::stat(a.c_str(), &sa) == 0, haveB = ::stat(b.c_str(), &sb) == 0;
    if (haveA && haveB) return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    std::error_code ec;
    const fs::path na = fs::weakly_canonical(fs::absolute(a, ec), ec);
    const fs::path nb = fs::weakly_canonical(fs::absolute(b, ec), ec);
    return na.lexically_normal() == nb.lexically_normal();
}

// ---- declared length from the header --------------------------------------------------

namespace {

int bytesPerSample(int subformat) {
    switch (subformat) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_ULAW:
    case SF_FORMAT_ALAW:
        return 1;
    case SF_FORMAT_PCM_16:
        return 2;
    case SF_FORMAT_PCM_24:
        return 3;
    case SF_FORMAT_PCM_32:
    case SF_FORMAT_FLOAT:
        return 4;
    case SF_FORMAT_DOUBLE:
        return 8;
    default:
        return 0;
    }
}

std::uint32_t readU32(const unsigned char* p, bool bigEndian) {
    return bigEndian ? (std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | p[3])
                     : (std::uint32_t(p[3]) << 24 | std::uint32_t(p[2]) << 16 | std::uint32_t(p[1]) << 8 | p[0]);
}

/// The frame count a WAV (data chunk size) or AIFF (COMM numSampleFrames) header declares.
/// libsndfile clamps its own count to what the file holds, which hides truncation.
std::optional<std::int64_t> declaredFrames(const std::string& path, const SF_INFO& info) {
    const int major = info.format & SF_FORMAT_TYPEMASK;
    if (major != SF_FORMAT_WAV && major != SF_FORMAT_WAVEX && major != SF_FORMAT_RF64 && major != SF_FORMAT_AIFF)
        return std::nullopt;
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!file) return std::nullopt;
    unsigned char head[12];
    if (std::fread(head, 1, 12, file.get()) != 12) return std::nullopt;
    const bool riff = std::memcmp(head, "RIFF", 4) == 0, rifx = std::memcmp(head, "RIFX", 4) == 0;
    const bool form = std::memcmp(head, "FORM", 4) == 0;
    if (!(riff || rifx || form)) return std::nullopt;
    const bool bigEndian = rifx || form;
    for (int chunks = 0; chunks < 4096; ++chunks) {
        unsigned char chunk[8];
        if (std::fread(chunk, 1, 8, file.get()) != 8) return std::nullopt;
        const std::uint32_t size = readU32(chunk + 4, bigEndian);
        if (!form && std::memcmp(chunk, "data", 4) == 0) {
            const int frameBytes = bytesPerSample(info.format & SF_FORMAT_SUBMASK) * info.channels;
            if (frameBytes <= 0 || size == 0 || size == 0xFFFFFFFFu) return std::nullopt; // streamed: length unknown
            return std::int64_t(size / std::uint32_t(frameBytes));
        }
        if (form && std::memcmp(chunk, "COMM", 4) == 0) {
            unsigned char comm[6];
            if (std::fread(comm, 1, 6, file.get()) != 6) return std::nullopt;
            return std::int64_t(readU32(comm + 2, true));
        }
        if (std::fseek(file.get(), long(size + (size & 1u)), SEEK_CUR) != 0) return std::nullopt;
    }
    return std::nullopt;
}

std::string formatName(int format) {
    SF_FORMAT_INFO info{};
    info.format = format;
    if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &info, sizeof info) != 0 || !info.name) return "unknown";
    return info.name;
}

/// A reader's or writer's scratch: every element is written before it is read, so it is not
/// zeroed. A std::vector would zero it at every open(), touching each page on the thread that
/// opens the file (0.5 MiB per stereo input, 1.5 to 2.5 MiB per output: a millisecond or two of
/// a short render's start); these pages are first touched by the thread that reads or writes.
template <class T> class Scratch {
public:
    /// Holds `count` elements (their values unspecified), reallocated only when the count changes.
    void resize(std::size_t count) {
        if (count == size_) return;
        data_.reset(count ? new T[count] : nullptr);
        size_ = count;
    }
    T* data() noexcept { return data_.get(); }
    std::size_t size() const noexcept { return size_; }

private:
    std::unique_ptr<T[]> data_;
    std::size_t size_ = 0;
};

} // namespace

// ---- reader ------------------------------------------------------------------------------

struct AudioFileReader::State {
    SNDFILE* file = nullptr;
    SF_INFO info{};
    std::string path;
    std::int64_t frames = 0;
    std::int64_t position = 0;
    bool lengthIsEstimate = false; // compressed formats whose count libsndfile estimates
    bool lengthUnknown = false;    // a stream that declares no length (frames is only an upper bound)
    Scratch<float> scratch;        // kChunkFrames interleaved frames, reused
    std::string error;
    // resampleTo(): frames, position and rate as delivered; the file's own count and position
    // stay in `frames` and `position` above.
    std::unique_ptr<ResampledSource> resampled;
    double deliveredRate = 0;
    std::int64_t deliveredFrames = 0, deliveredPosition = 0;

    void close() {
        if (file) sf_close(file);
        file = nullptr;
        resampled.reset();
    }
    ~State() { close(); }
};

AudioFileReader::AudioFileReader() : state_(std::make_unique<State>()) {}
AudioFileReader::~AudioFileReader() = default;
AudioFileReader::AudioFileReader(AudioFileReader&&) noexcept = default;
AudioFileReader& AudioFileReader::operator=(AudioFileReader&&) noexcept = default;

std::string AudioFileReader::open(const std::string& path) {
    state_ = std::make_unique<State>(); // closes any previous file
    State& s = *state_;
    s.path = path;
    InputSpec spec;
    if (auto error = parseInputSpec(path, spec); !error.empty()) return s.error = "cannot open " + error;
    const bool standardInput = spec.path == "-";
    struct stat st {};
    if ((standardInput ? ::fstat(STDIN_FILENO, &st) : ::stat(spec.path.c_str(), &st)) != 0)
        return s.error = "cannot open " + quotedPath(path) + ": " + std::strerror(errno);
    if (S_ISDIR(st.st_mode)) return s.error = "cannot open " + quotedPath(path) + ": is a directory";
    if (spec.raw) {
        s.info.samplerate = spec.sampleRate;
        s.info.channels = spec.channels;
        s.info.format = spec.sndfileFormat;
    }
    if (standardInput) {
        // Opened once, as a stream: libsndfile reads the header and then the samples in order.
        const int fd = ::dup(STDIN_FILENO);
        if (fd < 0) return s.error = "cannot open " + quotedPath(path) + ": " + std::strerror(errno);
        s.file = sf_open_fd(fd, SFM_READ, &s.info, SF_TRUE);
        if (!s.file) ::close(fd);
    } else {
        s.file = sf_open(spec.path.c_str(), SFM_READ, &s.info);
    }
    if (!s.file)
        return s.error = "cannot open " + quotedPath(path) + ": " + sf_strerror(nullptr) +
                         (spec.raw        ? ""
                          : standardInput ? " (standard input: WAV, AIFF, AU, FLAC, Ogg… or raw:RATE:CHANNELS:ENCODING:-)"
                                          : "");
    if (s.info.channels <= 0 || s.info.samplerate <= 0) {
        s.close();
        return s.error = "cannot open " + quotedPath(path) + ": no audio channels or no sample rate";
    }
    s.frames = s.info.frames;
    // The header is read a second time only from a regular file: a pipe or FIFO cannot be
    // opened twice (the second open would read the samples), and libsndfile cannot clamp a
    // pipe's count to a length it does not know, so there its count is the declared one.
    if (S_ISREG(st.st_mode) && !standardInput && !spec.raw)
        if (auto declared = declaredFrames(spec.path, s.info); declared && *declared > s.frames) s.frames = *declared;
    s.lengthIsEstimate = (s.info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG;
    // A stream that declares no length (a FLAC whose STREAMINFO has no total, a WAV with the
    // streamed sizes 0xFFFFFFFF, or sox's 0x7FFFF000, read from a pipe; raw samples from a pipe):
    // read to its end.
    const int frameBytes = bytesPerSample(s.info.format & SF_FORMAT_SUBMASK) * s.info.channels;
    const std::int64_t streamedMarker = frameBytes > 0 ? std::int64_t(0x7FFFF000u / unsigned(frameBytes)) - 1 : 0;
    if (s.info.frames == SF_COUNT_MAX || (!S_ISREG(st.st_mode) && frameBytes > 0 && s.info.frames >= streamedMarker) ||
        (spec.raw && !S_ISREG(st.st_mode))) {
        s.lengthIsEstimate = true;
        s.lengthUnknown = true;
        if (spec.raw) s.frames = SF_COUNT_MAX / 4;
    }
    s.scratch.resize(std::size_t(kChunkFrames) * std::size_t(s.info.channels));
    return {};
}

std::string AudioFileReader::resampleTo(double rate, ResampleQuality quality) {
    State& s = *state_;
    if (!s.file) return s.error = "cannot resample " + quotedPath(s.path) + ": file is not open";
    if (s.position != 0 || s.resampled) return s.error = "cannot resample " + quotedPath(s.path) + ": reading has begun";
    if (rate == double(s.info.samplerate)) return {};
    s.resampled = std::make_unique<ResampledSource>();
    State* state = &s;
    auto pull = [state](const AudioView& view) -> std::int64_t {
        State& st = *state;
        const std::int64_t wanted = std::min<std::int64_t>(view.frames, st.frames - st.position);
        return readNative(st, view.frameRange(0, int(std::max<std::int64_t>(wanted, 0))));
    };
    if (auto error = s.resampled->prepare(s.info.samplerate, rate, s.info.channels, quality, pull); !error.empty()) {
        s.resampled.reset();
        return s.error = quotedPath(s.path) + ": " + error;
    }
    s.deliveredRate = rate;
    s.deliveredFrames = s.lengthUnknown ? s.frames : resampledFrames(s.frames, s.info.samplerate, rate);
    return {};
}

void AudioFileReader::close() { state_->close(); }
bool AudioFileReader::isOpen() const { return state_->file != nullptr; }
const std::string& AudioFileReader::path() const { return state_->path; }
double AudioFileReader::sampleRate() const { return state_->resampled ? state_->deliveredRate : state_->info.samplerate; }
double AudioFileReader::fileSampleRate() const { return state_->info.samplerate; }
int AudioFileReader::channels() const { return state_->info.channels; }
std::int64_t AudioFileReader::frames() const { return state_->resampled ? state_->deliveredFrames : state_->frames; }
std::int64_t AudioFileReader::position() const { return state_->resampled ? state_->deliveredPosition : state_->position; }
bool AudioFileReader::lengthKnown() const { return !state_->lengthUnknown; }
const std::string& AudioFileReader::error() const { return state_->error; }

std::string AudioFileReader::formatDescription() const {
    const int format = state_->info.format;
    return formatName(format & SF_FORMAT_TYPEMASK) + ", " + formatName(format & SF_FORMAT_SUBMASK);
}

std::int64_t AudioFileReader::read(const AudioView& view) {
    State& s = *state_;
    if (!s.file) {
        if (s.error.empty()) s.error = "cannot read " + quotedPath(s.path) + ": file is not open";
        return -1;
    }
    if (view.channels != s.info.channels) {
        s.error = "cannot read " + quotedPath(s.path) + ": asked for " + std::to_string(view.channels) +
                  " channels, the file has " + std::to_string(s.info.channels);
        return -1;
    }
    if (s.resampled) {
        const std::int64_t wanted = std::min<std::int64_t>(view.frames, s.deliveredFrames - s.deliveredPosition);
        const std::int64_t got = s.resampled->read(view.frameRange(0, int(std::max<std::int64_t>(wanted, 0))));
        if (got < 0) return -1;
        s.deliveredPosition += got;
        if (got < wanted) s.deliveredFrames = s.deliveredPosition; // a stream's estimate was long
        return got;
    }
    return readNative(s, view);
}

std::int64_t AudioFileReader::readNative(State& s, const AudioView& view) {
    const std::int64_t wanted = std::min<std::int64_t>(view.frames, s.frames - s.position);
    std::int64_t done = 0;
    while (done < wanted) {
        const int chunk = int(std::min<std::int64_t>(kChunkFrames, wanted - done));
        // Mono frames are already one channel's samples: straight into the view, no copy.
        const bool direct = view.channels == 1;
        const sf_count_t got = sf_readf_float(s.file, direct ? view.channel(0) + done : s.scratch.data(), chunk);
        if (got > 0 && !direct) deinterleave(s.scratch.data(), view.frameRange(int(done), int(got)));
        done += std::max<sf_count_t>(got, 0);
        if (got < chunk) {
            const int code = sf_error(s.file);
            if (s.lengthIsEstimate && code == SF_ERR_NO_ERROR) { // the estimate was long: end here
                s.frames = s.position + done;
                break;
            }
            s.error = "cannot read " + quotedPath(s.path) + ": the file ends at frame " + std::to_string(s.position + done) +
                      " of the " + std::to_string(s.frames) + " it declares (truncated or damaged";
            if (code != SF_ERR_NO_ERROR) s.error += std::string(": ") + sf_strerror(s.file);
            s.error += ")";
            s.position += done;
            return -1;
        }
    }
    s.position += done;
    return done;
}

std::string AudioFileReader::seek(std::int64_t frame) {
    State& s = *state_;
    if (!s.file) return s.error = "cannot seek in " + quotedPath(s.path) + ": file is not open";
    if (s.resampled) return s.error = "cannot seek in " + quotedPath(s.path) + ": it is being resampled";
    if (frame < 0 || frame > s.frames) return s.error = "cannot seek in " + quotedPath(s.path) + ": frame out of range";
    if (sf_seek(s.file, frame, SEEK_SET) < 0)
        return s.error = "cannot seek in " + quotedPath(s.path) + ": " + sf_strerror(s.file);
    s.position = frame;
    return {};
}

// ---- writer ------------------------------------------------------------------------------

/// libsndfile's I/O for a pipe: it goes forward only. When libsndfile seeks back to rewrite a
/// header (FLAC's STREAMINFO at the end), the rewrite is dropped instead of being appended to
/// the stream as garbage; the stream keeps the header written first (length unknown).
struct PipeIo {
    int fd = -1;
    sf_count_t position = 0; ///< where libsndfile believes it is
    sf_count_t streamed = 0; ///< bytes actually sent down the pipe

    static sf_count_t length(void* self) { return static_cast<PipeIo*>(self)->streamed; }
    static sf_count_t seek(sf_count_t offset, int whence, void* self) {
        auto& io = *static_cast<PipeIo*>(self);
        const sf_count_t base = whence == SEEK_CUR ? io.position : whence == SEEK_END ? io.streamed : 0;
        io.position = std::clamp<sf_count_t>(base + offset, 0, io.streamed);
        return io.position;
    }
    static sf_count_t read(void*, sf_count_t, void*) { return 0; }
    static sf_count_t write(const void* data, sf_count_t count, void* self) {
        auto& io = *static_cast<PipeIo*>(self);
        const auto* bytes = static_cast<const char*>(data);
        const sf_count_t skipped = std::min(count, io.streamed - io.position); // already sent: cannot be rewritten
        for (sf_count_t done = skipped; done < count;) {
            const ssize_t n = ::write(io.fd, bytes + done, std::size_t(count - done));
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return done;
            done += n;
            io.streamed += n;
        }
        io.position += count;
        return count;
    }
    static sf_count_t tell(void* self) { return static_cast<PipeIo*>(self)->position; }
};

namespace {

/// Bytes packed before one write of little-endian PCM (AudioFileWriter::State::rawBytes).
constexpr std::size_t kRawWriteBytes = std::size_t(1) << 20;
/// Writeback of an output file is started in stretches of this many bytes.
constexpr off_t kWritebackBytes = off_t(8) << 20;
/// The page cache an output keeps behind its end: two stretches, whose writeback has had the time
/// of writing them to finish; older pages are dropped once they are on disk.
constexpr off_t kKeptBytes = 2 * kWritebackBytes;

} // namespace

struct AudioFileWriter::State {
    SNDFILE* file = nullptr;
    int fd = -1;
    std::string path;
    std::string finalPath; // `path` with symbolic links followed: what commit() replaces
    std::string tempPath;
    std::unique_ptr<PipeIo> pipeIo; // FLAC to a pipe: libsndfile's I/O (host/io/AudioFile.cpp)
    OutputFormat format = OutputFormat::Wav24;
    int channels = 0;
    int bits = 24;
    bool floatSamples = false;
    TpdfDither dither;
    Scratch<float> floatScratch;      // kChunkFrames interleaved frames
    Scratch<float> ditherScratch;     // as many dither values (integer formats)
    Scratch<std::int32_t> intScratch; // as many quantised samples
    /// Little-endian integer PCM (WAV, RF64, W64, raw): the samples are packed here and written
    /// with sf_write_raw in large writes, instead of libsndfile converting them through its
    /// 8 KiB buffer (three write calls per 4096 frames, and a scalar conversion).
    int rawBytesPerSample = 0;
    Scratch<unsigned char> rawBytes;
    std::size_t rawFill = 0;
    std::int64_t frames = 0;
    std::uint64_t clipped = 0;
    /// Writeback of the temporary file is started as it grows, a stretch at a time, on the
    /// writer's own thread while the graph runs, and the pages a few stretches behind the end
    /// are dropped once they are on disk:
    /// - a replacing file: ext4 (auto_da_alloc) and others write its data out when it is renamed
    ///   over the old one, and on ext4 the rename itself starts all of that writeback (about
    ///   0.1 s per 170 MB here, at the very end of a render, when nothing else runs); started
    ///   ahead, the rename has only the last stretch left;
    /// - every file: its page cache stays about kKeptBytes long instead of the whole output, so
    ///   the output reuses the same few pages over and over. A render no longer fills memory
    ///   (and a container's memory limit) with the cache of a file it does not read again, and
    ///   where memory a process touches for the first time is expensive (virtual machines that
    ///   give freed memory back to their host) the output's fresh pages no longer cost most of a
    ///   render's system time (W1 --target here: 0.85 -> 0.42 s, docs/performance.md).
    /// Dropping never waits: pages still dirty or being written (a disk slower than the render)
    /// are skipped and stay in the page cache, as any buffered write's.
    bool writebackAhead = false;
    off_t writebackFrom = 0; ///< where the next stretch of writeback starts
    off_t droppedTo = 0;     ///< the pages before this offset were offered back

    /// Starts writeback of what has been written since the last stretch, once it is at least
    /// kWritebackBytes, and drops the clean pages more than kKeptBytes behind the end (hints:
    /// errors are ignored; the data is written either way).
    void startWriteback() {
#if defined(__linux__)
        if (!writebackAhead || fd < 0) return;
        const off_t end = ::lseek(fd, 0, SEEK_CUR); // shared with libsndfile's descriptor (dup)
        if (end < 0 || end - writebackFrom < kWritebackBytes) return;
        (void)::sync_file_range(fd, writebackFrom, end - writebackFrom, SYNC_FILE_RANGE_WRITE);
        writebackFrom = end;
        if (const off_t dropTo = end - kKeptBytes; dropTo - droppedTo >= kWritebackBytes) {
            (void)::posix_fadvise(fd, droppedTo, dropTo - droppedTo, POSIX_FADV_DONTNEED);
            droppedTo = dropTo;
        }
#endif
    }

    /// Stores `count` frames of `q` (quantised, interleaved): packed into rawBytes (written when
    /// full) or through libsndfile; `written` = the frames libsndfile took. "" or the reason a raw
    /// write failed.
    std::string storeQuantised(const std::int32_t* q, int count, sf_count_t& written) {
        if (rawBytesPerSample == 0) {
            written = sf_writef_int(file, q, count);
            return {};
        }
        const std::size_t samples = std::size_t(count) * std::size_t(channels);
        const std::size_t bytes = samples * std::size_t(rawBytesPerSample);
        if (rawFill + bytes > rawBytes.size())
            if (std::string reason = flushRaw(); !reason.empty()) return reason;
        packLittleEndian(q, samples, rawBytesPerSample, rawBytes.data() + rawFill);
        rawFill += bytes;
        written = count;
        return {};
    }

    /// Writes what rawBytes holds; "" or the reason.
    std::string flushRaw() {
        if (rawFill == 0) return {};
        if (sf_write_raw(file, rawBytes.data(), sf_count_t(rawFill)) != sf_count_t(rawFill)) return sf_strerror(file);
        rawFill = 0;
        return {};
    }

    void discard() {
        if (file) sf_close(file);
        file = nullptr;
        if (fd >= 0) ::close(fd);
        fd = -1;
        removeTemporary(tempPath);
        tempPath.clear();
    }
    ~State() { discard(); }
};

namespace {

void putU16(std::string& out, unsigned v) {
    out += char(v & 0xFF);
    out += char((v >> 8) & 0xFF);
}
void putU32(std::string& out, std::uint32_t v) {
    putU16(out, v & 0xFFFF);
    putU16(out, v >> 16);
}

/// A WAV header for a stream whose length is not known when it starts (a pipe cannot be sought
/// back to fix the sizes): RIFF and data sizes 0xFFFFFFFF, the convention of streamed WAV.
/// `subtype`: PCM_U8, PCM_16, PCM_24, PCM_32, FLOAT or DOUBLE.
std::string streamedWavHeader(int subtype, int sampleRate, int channels) {
    const bool floating = subtype == SF_FORMAT_FLOAT || subtype == SF_FORMAT_DOUBLE;
    const unsigned bits = unsigned(bytesPerSample(subtype)) * 8;
    const unsigned blockAlign = unsigned(channels) * bits / 8;
    std::string h = "RIFF";
    putU32(h, 0xFFFFFFFFu);
    h += "WAVEfmt ";
    putU32(h, floating ? 18 : 16);
    putU16(h, floating ? 3 : 1); // WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM
    putU16(h, unsigned(channels));
    putU32(h, std::uint32_t(sampleRate));
    putU32(h, std::uint32_t(sampleRate) * blockAlign);
    putU16(h, blockAlign);
    putU16(h, bits);
    if (floating) putU16(h, 0); // cbSize
    h += "data";
    putU32(h, 0xFFFFFFFFu);
    return h;
}

/// Subtypes streamedWavHeader() describes.
bool streamableWavSubtype(int subtype) {
    return subtype == SF_FORMAT_PCM_U8 || subtype == SF_FORMAT_PCM_16 || subtype == SF_FORMAT_PCM_24 ||
           subtype == SF_FORMAT_PCM_32 || subtype == SF_FORMAT_FLOAT || subtype == SF_FORMAT_DOUBLE;
}

bool writeAll(int fd, const std::string& bytes) {
    for (std::size_t done = 0; done < bytes.size();) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += std::size_t(n);
    }
    return true;
}

} // namespace

AudioFileWriter::AudioFileWriter() : state_(std::make_unique<State>()) {}
AudioFileWriter::~AudioFileWriter() = default;
AudioFileWriter::AudioFileWriter(AudioFileWriter&&) noexcept = default;
AudioFileWriter& AudioFileWriter::operator=(AudioFileWriter&&) noexcept = default;

std::string AudioFileWriter::open(const std::string& path, OutputFormat format, double sampleRate, int channels,
                                  const std::vector<std::string>& protectedPaths, std::uint64_t ditherSeed) {
    State& s = *state_;
    s.discard();
    s.writebackAhead = false;
    s.path = path;
    s.format = format;
    s.channels = channels;
    s.bits = outputFormatBits(format);
    s.floatSamples = s.bits == 0;
    s.dither.reseed(ditherSeed);
    s.frames = 0;
    s.clipped = 0;
    const std::string cannot = "cannot write " + quotedPath(path) + ": ";
    if (channels < 1) return cannot + "no channels";
    if (!(sampleRate >= 1 && sampleRate <= 1e7) || sampleRate != double(int(sampleRate)))
        return cannot + "unsupported sample rate " + std::to_string(sampleRate) + " Hz";
    if (path.empty()) return "cannot write '': empty file name";
    if (auto reason = checkOutputFormat(format, sampleRate, channels); !reason.empty()) return cannot + reason;

    OutputTarget target;
    if (auto error = resolveOutputTarget(path, target); !error.empty()) return error;
    for (const auto& input : protectedPaths)
        if (target.path != "-" && sameFile(target.path, input))
            return cannot + "refusing to overwrite input file " + quotedPath(input);

    const int major = format.sndfileFormat & SF_FORMAT_TYPEMASK, subtype = format.sndfileFormat & SF_FORMAT_SUBMASK;
    const bool wavFamily = major == SF_FORMAT_WAV || major == SF_FORMAT_RF64 || major == SF_FORMAT_WAVEX;
    bool pipe = false;
    if (target.streamed) {
        // stdout, a device or a FIFO: written straight to it. Renaming over it would replace the
        // device node or the link itself.
        if (auto error = openStreamedTarget(target, s.fd); !error.empty()) return error;
        pipe = ::lseek(s.fd, 0, SEEK_CUR) < 0;
        // Containers whose header is completed at the end cannot go down a pipe (except WAV,
        // whose streamed header is ours); FLAC, Ogg, MPEG and raw samples stream.
        const bool streams = major == SF_FORMAT_FLAC || major == SF_FORMAT_OGG || major == SF_FORMAT_MPEG ||
                             major == SF_FORMAT_RAW || (wavFamily && streamableWavSubtype(subtype));
        if (pipe && !streams) {
            s.discard();
            return cannot + outputFormatName(format) +
                   " cannot be streamed to a pipe (its header is completed at the end); write WAV (PCM or float), FLAC, "
                   "Ogg, Opus, MP3 or raw";
        }
    } else {
        // Temporary file in the target's folder, so the final rename stays within one file system.
        if (auto error = createTemporaryBeside(target, s.fd, s.tempPath); !error.empty()) return cannot + error;
        s.writebackAhead = true;
        s.writebackFrom = 0;
        s.droppedTo = 0;
    }
    s.finalPath = target.path;

    SF_INFO info{};
    info.samplerate = int(sampleRate);
    info.channels = channels;
    info.format = format.sndfileFormat;
    // A WAV is RF64 with auto-downgrade where RF64 has the encoding: a plain RIFF/WAVE file
    // unless the data passes 4 GiB.
    bool autoDowngrade = false;
    if (major == SF_FORMAT_WAV) {
        SF_INFO rf64 = info;
        rf64.format = SF_FORMAT_RF64 | subtype;
        if (sf_format_check(&rf64)) info.format = rf64.format, autoDowngrade = true;
    }
    // libsndfile cannot write WAV to a pipe (it seeks back to the header at the end): there the
    // header is ours, with the streamed sizes, and libsndfile writes the samples as raw PCM.
    const bool ownHeader = pipe && wavFamily;
    if (ownHeader) info.format = SF_FORMAT_RAW | SF_ENDIAN_LITTLE | subtype;
    if (!sf_format_check(&info)) {
        s.discard();
        return cannot + outputFormatName(format) + " cannot hold " + std::to_string(channels) + " channels at " +
               std::to_string(int(sampleRate)) + " Hz";
    }
    if (ownHeader && !writeAll(s.fd, streamedWavHeader(subtype, int(sampleRate), channels))) {
        std::string reason = std::strerror(errno);
        s.discard();
        return cannot + reason;
    }
    if (pipe && !ownHeader) {
        s.pipeIo = std::make_unique<PipeIo>();
        s.pipeIo->fd = s.fd;
        static SF_VIRTUAL_IO pipeCalls{&PipeIo::length, &PipeIo::seek, &PipeIo::read, &PipeIo::write, &PipeIo::tell};
        s.file = sf_open_virtual(&pipeCalls, SFM_WRITE, &info, s.pipeIo.get());
    } else {
        // libsndfile gets its own descriptor: it closes the one it is given when an open fails,
        // even when told not to (1.2.0), and s.fd must stay ours to close exactly once.
        const int own = ::dup(s.fd);
        s.file = own >= 0 ? sf_open_fd(own, SFM_WRITE, &info, SF_TRUE) : nullptr;
    }
    if (!s.file) {
        std::string reason = sf_strerror(nullptr);
        s.discard();
        return cannot + outputFormatName(format) + ": " + reason;
    }
    if (autoDowngrade && !ownHeader) sf_command(s.file, SFC_RF64_AUTO_DOWNGRADE, nullptr, SF_TRUE);
    sf_command(s.file, SFC_SET_CLIPPING, nullptr, SF_TRUE); // float to integer encodings: clip, never wrap
    if (format.compressionLevel >= 0) {
        double level = format.compressionLevel;
        if (sf_command(s.file, SFC_SET_COMPRESSION_LEVEL, &level, sizeof level) != SF_TRUE) {
            s.discard();
            return cannot + outputFormatName(format) + " takes no compression level or quality";
        }
    }
    if (format.bitrateMode != BitrateMode::Default) {
        int mode = format.bitrateMode == BitrateMode::Constant  ? SF_BITRATE_MODE_CONSTANT
                   : format.bitrateMode == BitrateMode::Average ? SF_BITRATE_MODE_AVERAGE
                                                                : SF_BITRATE_MODE_VARIABLE;
        if (sf_command(s.file, SFC_SET_BITRATE_MODE, &mode, sizeof mode) != SF_TRUE) {
            s.discard();
            return cannot + outputFormatName(format) + " takes no bitrate mode (only mp3 and opus do)";
        }
    }
    const std::size_t scratchSamples = std::size_t(kChunkFrames) * std::size_t(channels);
    s.floatScratch.resize(scratchSamples);
    if (!s.floatSamples) {
        s.ditherScratch.resize(scratchSamples);
        s.intScratch.resize(scratchSamples);
    }
    const int endian = info.format & SF_FORMAT_ENDMASK;
    const int writtenMajor = info.format & SF_FORMAT_TYPEMASK;
    const bool littleEndian = ((writtenMajor == SF_FORMAT_WAV || writtenMajor == SF_FORMAT_RF64 ||
                                writtenMajor == SF_FORMAT_WAVEX || writtenMajor == SF_FORMAT_W64) &&
                               (endian == SF_ENDIAN_FILE || endian == SF_ENDIAN_LITTLE)) ||
                              (writtenMajor == SF_FORMAT_RAW && endian == SF_ENDIAN_LITTLE);
    s.rawBytesPerSample = 0;
    if (littleEndian && !s.pipeIo && (subtype == SF_FORMAT_PCM_16 || subtype == SF_FORMAT_PCM_24 || subtype == SF_FORMAT_PCM_32))
        s.rawBytesPerSample = bytesPerSample(subtype);
    s.rawFill = 0;
    if (s.rawBytesPerSample > 0) s.rawBytes.resize(kRawWriteBytes - kRawWriteBytes % std::size_t(s.rawBytesPerSample * channels));
    return {};
}

std::string AudioFileWriter::write(const ConstAudioView& view) {
    State& s = *state_;
    if (!s.file) return "cannot write " + quotedPath(s.path) + ": file is not open";
    if (view.channels != s.channels)
        return "cannot write " + quotedPath(s.path) + ": got " + std::to_string(view.channels) + " channels, the file has " +
               std::to_string(s.channels);
    for (int done = 0; done < view.frames;) {
        const int chunk = std::min(kChunkFrames, view.frames - done);
        const ConstAudioView part = view.frameRange(done, chunk);
        sf_count_t written;
        interleave(part, s.floatScratch.data());
        if (s.floatSamples) {
            written = sf_writef_float(s.file, s.floatScratch.data(), chunk);
        } else {
            const std::size_t samples = std::size_t(chunk) * std::size_t(s.channels);
            s.clipped += quantize(s.floatScratch.data(), samples, s.bits, s.intScratch.data(), s.ditherScratch.data(), s.dither);
            if (std::string reason = s.storeQuantised(s.intScratch.data(), chunk, written); !reason.empty())
                return "cannot write " + quotedPath(s.path) + ": " + reason;
        }
        if (written != chunk) {
            std::string reason = sf_strerror(s.file);
            return "cannot write " + quotedPath(s.path) + ": " + reason;
        }
        s.frames += chunk;
        done += chunk;
    }
    s.startWriteback();
    return {};
}

bool AudioFileWriter::takesStoredValues() const {
    const State& s = *state_;
    return s.file && !s.floatSamples && s.bits > 0 && s.bits <= 24;
}

std::string AudioFileWriter::writeStored(const ConstAudioView& stored, std::uint64_t clipped) {
    State& s = *state_;
    if (auto error = checkStored(stored.channels); !error.empty()) return error;
    for (int done = 0; done < stored.frames;) {
        const int chunk = std::min(kChunkFrames, stored.frames - done);
        const std::size_t samples = std::size_t(chunk) * std::size_t(s.channels);
        interleave(stored.frameRange(done, chunk), s.floatScratch.data());
        // v = q / 2^31 with q a multiple of 2^(32 - bits), bits <= 24: v * 2^31 is q, exactly.
        const float* values = s.floatScratch.data();
        std::int32_t* q = s.intScratch.data();
        for (std::size_t i = 0; i < samples; ++i) q[i] = std::int32_t(values[i] * 2147483648.0f);
        if (auto error = storeChecked(q, chunk); !error.empty()) return error;
        done += chunk;
    }
    s.clipped += clipped;
    s.startWriteback();
    return {};
}

std::string AudioFileWriter::writeQuantised(const std::int32_t* interleaved, int frames, int channels, std::uint64_t clipped) {
    State& s = *state_;
    if (auto error = checkStored(channels); !error.empty()) return error;
    for (int done = 0; done < frames;) {
        const int chunk = std::min(kChunkFrames, frames - done);
        if (auto error = storeChecked(interleaved + std::size_t(done) * std::size_t(channels), chunk); !error.empty())
            return error;
        done += chunk;
    }
    s.clipped += clipped;
    s.startWriteback();
    return {};
}

std::string AudioFileWriter::checkStored(int channels) const {
    const State& s = *state_;
    if (!s.file) return "cannot write " + quotedPath(s.path) + ": file is not open";
    if (!takesStoredValues())
        return "cannot write " + quotedPath(s.path) +
               ": internal: stored values are only taken for integer samples of up to 24 bits";
    if (channels != s.channels)
        return "cannot write " + quotedPath(s.path) + ": got " + std::to_string(channels) + " channels, the file has " +
               std::to_string(s.channels);
    return {};
}

std::string AudioFileWriter::storeChecked(const std::int32_t* q, int frames) {
    State& s = *state_;
    sf_count_t written = 0;
    if (std::string reason = s.storeQuantised(q, frames, written); !reason.empty())
        return "cannot write " + quotedPath(s.path) + ": " + reason;
    if (written != frames) {
        std::string reason = sf_strerror(s.file);
        return "cannot write " + quotedPath(s.path) + ": " + reason;
    }
    s.frames += frames;
    return {};
}

std::string AudioFileWriter::commit() {
    State& s = *state_;
    if (!s.file) return "cannot write " + quotedPath(s.path) + ": file is not open";
    if (std::string reason = s.flushRaw(); !reason.empty()) {
        s.discard();
        return "cannot write " + quotedPath(s.path) + ": " + reason;
    }
    const int closeError = sf_close(s.file);
    s.file = nullptr;
    if (closeError != 0) {
        std::string reason = sf_error_number(closeError);
        s.discard();
        return "cannot write " + quotedPath(s.path) + ": " + reason;
    }
    const int fd = s.fd;
    s.fd = -1;
    if (::close(fd) != 0) {
        std::string reason = std::strerror(errno);
        s.discard();
        return "cannot write " + quotedPath(s.path) + ": " + reason;
    }
    if (s.tempPath.empty()) return {}; // written straight to a device or pipe
    if (auto reason = commitTemporary(s.tempPath, s.finalPath); !reason.empty()) {
        s.discard();
        return "cannot write " + quotedPath(s.path) + ": " + reason;
    }
    s.tempPath.clear();
    return {};
}

std::string writeAudioFile(const std::string& path, OutputFormat format, double sampleRate, const ConstAudioView& audio) {
    AudioFileWriter writer;
    std::string error = writer.open(path, format, sampleRate, audio.channels);
    if (error.empty()) error = writer.write(audio);
    if (error.empty()) error = writer.commit();
    return error;
}

void AudioFileWriter::discard() { state_->discard(); }
const std::string& AudioFileWriter::path() const { return state_->path; }
const std::string& AudioFileWriter::tempPath() const { return state_->tempPath; }
OutputFormat AudioFileWriter::format() const { return state_->format; }
int AudioFileWriter::channels() const { return state_->channels; }
std::int64_t AudioFileWriter::framesWritten() const { return state_->frames; }
std::uint64_t AudioFileWriter::clippedSamples() const { return state_->clipped; }

} // namespace sg::io
