#include "host/io/AudioFile.h"

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

struct FormatEntry {
    OutputFormat format;
    const char* name;
    int sndfileFormat;
    int bits;
};

constexpr FormatEntry kFormats[] = {
    // RF64 with auto-downgrade: a plain RIFF/WAVE file unless the data passes 4 GiB.
    {OutputFormat::Wav16, "wav16", SF_FORMAT_RF64 | SF_FORMAT_PCM_16, 16},
    {OutputFormat::Wav24, "wav24", SF_FORMAT_RF64 | SF_FORMAT_PCM_24, 24},
    {OutputFormat::Wav32f, "wav32f", SF_FORMAT_RF64 | SF_FORMAT_FLOAT, 32},
    {OutputFormat::Flac16, "flac16", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16},
    {OutputFormat::Flac24, "flac24", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 24},
};

const FormatEntry& entryOf(OutputFormat format) {
    for (const auto& e : kFormats)
        if (e.format == format) return e;
    return kFormats[0];
}

std::string lowerExtension(const std::string& path) {
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    return ext;
}

bool isFlac(OutputFormat format) { return format == OutputFormat::Flac16 || format == OutputFormat::Flac24; }

std::string quotedPath(const std::string& path) { return "'" + path + "'"; }

} // namespace

const char* outputFormatName(OutputFormat format) { return entryOf(format).name; }

int outputFormatBits(OutputFormat format) { return entryOf(format).bits; }

std::optional<OutputFormat> parseOutputFormat(std::string_view text) {
    std::string lower(text);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
    for (const auto& e : kFormats)
        if (lower == e.name) return e.format;
    return std::nullopt;
}

std::optional<OutputFormat> defaultFormatForPath(const std::string& path) {
    const std::string ext = lowerExtension(path);
    if (ext == ".wav") return OutputFormat::Wav24;
    if (ext == ".flac") return OutputFormat::Flac24;
    return std::nullopt;
}

bool formatMatchesPath(OutputFormat format, const std::string& path) {
    const std::string ext = lowerExtension(path);
    if (ext == ".wav") return !isFlac(format);
    if (ext == ".flac") return isFlac(format);
    return true;
}

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

} // namespace

// ---- reader ------------------------------------------------------------------------------

struct AudioFileReader::State {
    SNDFILE* file = nullptr;
    SF_INFO info{};
    std::string path;
    std::int64_t frames = 0;
    std::int64_t position = 0;
    bool lengthIsEstimate = false; // compressed formats whose count libsndfile estimates
    std::vector<float> scratch;    // kChunkFrames interleaved frames, reused
    std::string error;

    void close() {
        if (file) sf_close(file);
        file = nullptr;
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
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return s.error = "cannot open " + quotedPath(path) + ": " + std::strerror(errno);
    if (S_ISDIR(st.st_mode)) return s.error = "cannot open " + quotedPath(path) + ": is a directory";
    s.file = sf_open(path.c_str(), SFM_READ, &s.info);
    if (!s.file) return s.error = "cannot open " + quotedPath(path) + ": " + sf_strerror(nullptr);
    if (s.info.channels <= 0 || s.info.samplerate <= 0) {
        s.close();
        return s.error = "cannot open " + quotedPath(path) + ": no audio channels or no sample rate";
    }
    s.frames = s.info.frames;
    if (auto declared = declaredFrames(path, s.info); declared && *declared > s.frames) s.frames = *declared;
    s.lengthIsEstimate = (s.info.format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG;
    s.scratch.assign(std::size_t(kChunkFrames) * std::size_t(s.info.channels), 0.0f);
    return {};
}

void AudioFileReader::close() { state_->close(); }
bool AudioFileReader::isOpen() const { return state_->file != nullptr; }
const std::string& AudioFileReader::path() const { return state_->path; }
double AudioFileReader::sampleRate() const { return state_->info.samplerate; }
int AudioFileReader::channels() const { return state_->info.channels; }
std::int64_t AudioFileReader::frames() const { return state_->frames; }
std::int64_t AudioFileReader::position() const { return state_->position; }
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
    const std::int64_t wanted = std::min<std::int64_t>(view.frames, s.frames - s.position);
    std::int64_t done = 0;
    while (done < wanted) {
        const int chunk = int(std::min<std::int64_t>(kChunkFrames, wanted - done));
        const sf_count_t got = sf_readf_float(s.file, s.scratch.data(), chunk);
        if (got > 0) deinterleave(s.scratch.data(), view.frameRange(int(done), int(got)));
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
    if (frame < 0 || frame > s.frames) return s.error = "cannot seek in " + quotedPath(s.path) + ": frame out of range";
    if (sf_seek(s.file, frame, SEEK_SET) < 0)
        return s.error = "cannot seek in " + quotedPath(s.path) + ": " + sf_strerror(s.file);
    s.position = frame;
    return {};
}

// ---- writer ------------------------------------------------------------------------------

struct AudioFileWriter::State {
    SNDFILE* file = nullptr;
    int fd = -1;
    std::string path;
    std::string tempPath;
    OutputFormat format = OutputFormat::Wav24;
    int channels = 0;
    int bits = 24;
    bool floatSamples = false;
    TpdfDither dither;
    std::vector<float> floatScratch;      // kChunkFrames interleaved frames
    std::vector<float> ditherScratch;     // as many dither values (integer formats)
    std::vector<std::int32_t> intScratch; // as many quantised samples
    std::int64_t frames = 0;
    std::uint64_t clipped = 0;

    void discard() {
        if (file) sf_close(file);
        file = nullptr;
        if (fd >= 0) ::close(fd);
        fd = -1;
        if (!tempPath.empty()) ::unlink(tempPath.c_str());
        tempPath.clear();
    }
    ~State() { discard(); }
};

namespace {

/// Creates ".name.XXXXXX.tmp" beside `path` (mkstemps) with the target's mode, or the usual
/// 0666 & ~umask for a new file (mkstemp's own is 0600). Returns "" or the reason.
std::string openTemporary(const std::string& path, const struct stat* existing, int& fd, std::string& tempPath) {
    const fs::path target(path);
    fs::path folder = target.parent_path();
    if (folder.empty()) folder = ".";
    std::string name = ".";
    name += target.filename().string();
    name += ".XXXXXX.tmp";
    std::string pattern = (folder / name).string();
    fd = ::mkstemps(pattern.data(), 4);
    if (fd < 0) return "cannot create a temporary file in '" + folder.string() + "': " + std::strerror(errno);
    tempPath = pattern;
    mode_t mode;
    if (existing) {
        mode = existing->st_mode & 07777;
    } else {
        const mode_t mask = ::umask(0);
        ::umask(mask);
        mode = 0666 & ~mask;
    }
    (void)::fchmod(fd, mode);
    return {};
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
    s.path = path;
    s.format = format;
    s.channels = channels;
    s.bits = outputFormatBits(format);
    s.floatSamples = format == OutputFormat::Wav32f;
    s.dither.reseed(ditherSeed);
    s.frames = 0;
    s.clipped = 0;
    const std::string cannot = "cannot write " + quotedPath(path) + ": ";
    if (channels < 1) return cannot + "no channels";
    if (!(sampleRate >= 1 && sampleRate <= 1e7) || sampleRate != double(int(sampleRate)))
        return cannot + "unsupported sample rate " + std::to_string(sampleRate) + " Hz";
    if (path.empty()) return "cannot write '': empty file name";

    struct stat target {};
    const bool targetExists = ::stat(path.c_str(), &target) == 0;
    if (targetExists && S_ISDIR(target.st_mode)) return cannot + "is a directory";
    for (const auto& input : protectedPaths)
        if (sameFile(path, input)) return cannot + "refusing to overwrite input file " + quotedPath(input);

    if (targetExists && !S_ISREG(target.st_mode)) {
        // A device or a pipe (/dev/null, a FIFO): write straight to it. Renaming over it would
        // replace the device node itself.
        if (!S_ISCHR(target.st_mode) && !S_ISFIFO(target.st_mode)) return cannot + "not a regular file";
        const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0) return cannot + std::strerror(errno);
        s.fd = fd;
    } else {
        // Temporary file in the target's folder, so the final rename stays within one file system.
        if (auto error = openTemporary(path, targetExists ? &target : nullptr, s.fd, s.tempPath); !error.empty())
            return cannot + error;
    }

    SF_INFO info{};
    info.samplerate = int(sampleRate);
    info.channels = channels;
    info.format = entryOf(format).sndfileFormat;
    if (!sf_format_check(&info)) {
        s.discard();
        return cannot + outputFormatName(format) + " cannot hold " + std::to_string(channels) + " channels at " +
               std::to_string(int(sampleRate)) + " Hz";
    }
    s.file = sf_open_fd(s.fd, SFM_WRITE, &info, SF_FALSE);
    if (!s.file) {
        std::string reason = sf_strerror(nullptr);
        s.discard();
        return cannot + reason;
    }
    if (!isFlac(format)) sf_command(s.file, SFC_RF64_AUTO_DOWNGRADE, nullptr, SF_TRUE);
    const std::size_t scratchSamples = std::size_t(kChunkFrames) * std::size_t(channels);
    s.floatScratch.assign(scratchSamples, 0.0f);
    if (!s.floatSamples) {
        s.ditherScratch.assign(scratchSamples, 0.0f);
        s.intScratch.assign(scratchSamples, 0);
    }
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
            s.clipped += quantize(s.floatScratch.data(), std::size_t(chunk) * std::size_t(s.channels), s.bits,
                                  s.intScratch.data(), s.ditherScratch.data(), s.dither);
            written = sf_writef_int(s.file, s.intScratch.data(), chunk);
        }
        if (written != chunk) {
            std::string reason = sf_strerror(s.file);
            return "cannot write " + quotedPath(s.path) + ": " + reason;
        }
        s.frames += chunk;
        done += chunk;
    }
    return {};
}

std::string AudioFileWriter::commit() {
    State& s = *state_;
    if (!s.file) return "cannot write " + quotedPath(s.path) + ": file is not open";
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
    if (::rename(s.tempPath.c_str(), s.path.c_str()) != 0) {
        std::string reason = std::strerror(errno);
        s.discard();
        return "cannot write " + quotedPath(s.path) + ": " + reason;
    }
    s.tempPath.clear();
    return {};
}

void AudioFileWriter::discard() { state_->discard(); }
const std::string& AudioFileWriter::path() const { return state_->path; }
const std::string& AudioFileWriter::tempPath() const { return state_->tempPath; }
OutputFormat AudioFileWriter::format() const { return state_->format; }
int AudioFileWriter::channels() const { return state_->channels; }
std::int64_t AudioFileWriter::framesWritten() const { return state_->frames; }
std::uint64_t AudioFileWriter::clippedSamples() const { return state_->clipped; }

} // namespace sg::io
