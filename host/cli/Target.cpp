#include "host/cli/Target.h"

#include "core/Compiler.h"
#include "core/Elementwise.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Node.h"
#include "core/OfflineRunner.h"
#include "core/Registry.h"
#include "core/Units.h"
#include "host/cli/ChunkStream.h"
#include "host/cli/Progress.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

/// Frames per block of pass 2.
constexpr int kPassBlockFrames = io::kChunkFrames;
/// Where a run aims, LU over the target: a run that lands over it is cut onto it after the
/// limiter (up to kMaxTrimDb), one that falls short can only be lifted by its peak's headroom.
constexpr double kOverAimLu = 0.15;
/// The probe: kProbeSegmentSeconds measured out of every kProbeSpacingSeconds, each after
/// kProbeWarmupSeconds that settle the limiter (release 50 ms: e^-4); outputs shorter than
/// kProbeMinSeconds have no probe (a sample too small to tell, and a run costs little).
constexpr double kProbeSpacingSeconds = 16;
constexpr double kProbeSegmentSeconds = 2;
constexpr double kProbeWarmupSeconds = 0.2;
constexpr double kProbeMinSeconds = 48;
/// A probe loss smaller than this, LU, counts as none: the first run keeps the plain gain.
constexpr double kProbeNoLossLu = 0.005;
/// The limiter of pass 2.
constexpr double kLimiterLookaheadMs = 5;
constexpr double kLimiterReleaseMs = 50;

std::string lowercase(std::string text) {
    for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

std::string presetNames() {
    std::string names;
    for (const auto& preset : loudnessPresets()) names += (names.empty() ? "" : ", ") + preset.name;
    return names;
}

std::string formatNumber(double value, const char* format = "%g") {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

std::string formatLevel(double value, const char* unit) {
    if (!std::isfinite(value)) return std::string("-inf ") + unit;
    return formatNumber(value, "%.2f") + " " + unit;
}

} // namespace

// ---- targets -------------------------------------------------------------------------------

const std::vector<LoudnessTarget>& loudnessPresets() {
    static const std::vector<LoudnessTarget> presets = {
        {"spotify", -14, -1}, {"apple", -16, -1},    {"youtube", -14, -1},
        {"amazon", -14, -2},  {"ebu-r128", -23, -1}, {"atsc-a85", -24, -2},
    };
    return presets;
}

std::string parseLoudnessTarget(const std::string& text, LoudnessTarget& out) {
    const std::string value = trimmed(text);
    const std::string expected = "a loudness such as -14LUFS, or a preset: " + presetNames();
    if (value.empty()) return "--target: expected " + expected;
    for (const auto& preset : loudnessPresets())
        if (lowercase(value) == preset.name) {
            out = preset;
            return {};
        }
    const ParsedQuantity parsed = parseQuantity(value, UnitKind::Loudness);
    if (!parsed.value) return "--target: expected " + expected + "; got '" + text + "'";
    const double lufs = *parsed.value;
    if (!(lufs >= kMinTargetLufs && lufs <= kMaxTargetLufs))
        return "--target: " + formatNumber(lufs) + " LUFS is out of range (" + formatNumber(kMinTargetLufs) + " .. " +
               formatNumber(kMaxTargetLufs) + " LUFS)";
    out = {"", lufs, -1};
    return {};
}

std::string parseCeiling(const std::string& text, double& ceilingDbtp) {
    const std::string value = trimmed(text);
    const bool hasUnit =
        std::any_of(value.begin(), value.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
    const ParsedQuantity parsed = parseQuantity(value, UnitKind::TruePeak);
    if (!parsed.value) return "--ceiling: expected a true-peak level such as -1dBTP, got '" + text + "'";
    if (!hasUnit) return "--ceiling: give the unit, e.g. " + value + "dBTP (got '" + text + "')";
    const double dbtp = *parsed.value;
    if (!(dbtp >= kMinCeilingDbtp && dbtp <= kMaxCeilingDbtp))
        return "--ceiling: " + formatNumber(dbtp) + " dBTP is out of range (" + formatNumber(kMinCeilingDbtp) + " .. " +
               formatNumber(kMaxCeilingDbtp) + " dBTP)";
    ceilingDbtp = dbtp;
    return {};
}

std::string parseMaxGain(const std::string& text, double& maxGainDb) {
    const ParsedQuantity parsed = parseQuantity(trimmed(text), UnitKind::Gain);
    if (!parsed.value || !std::isfinite(*parsed.value)) return "--max-gain: expected a gain such as 20dB, got '" + text + "'";
    if (!(*parsed.value >= 0 && *parsed.value <= kMaxMaxGainDb))
        return "--max-gain: " + formatNumber(*parsed.value) + " dB is out of range (0 .. " + formatNumber(kMaxMaxGainDb) + " dB)";
    maxGainDb = *parsed.value;
    return {};
}

// ---- measuring what is written ------------------------------------------------------------

std::string WrittenSampleMeter::prepare(double sampleRate, int channels, io::OutputFormat format, std::uint64_t ditherSeed) {
    LoudnessOptions offline;
    offline.offline = true; // read once the encoding is over
    if (auto error = meter_.prepare(sampleRate, channels, offline); !error.empty()) return error;
    if (auto error = peakMeter_.prepare(sampleRate, channels); !error.empty()) return error;
    dither_.reseed(ditherSeed);
    bits_ = format == io::OutputFormat::Wav32f ? 0 : io::outputFormatBits(format);
    channels_ = channels;
    const std::size_t samples = std::size_t(io::kChunkFrames) * std::size_t(channels);
    if (bits_ > 0) {
        interleaved_.assign(samples, 0.0f);
        ditherScratch_.assign(samples, 0.0f);
        quantised_.assign(samples, 0);
        planar_ = AudioBuffer(channels, io::kChunkFrames);
        loudnessPlanar_ = AudioBuffer(channels, io::kChunkFrames);
        peaksPlanar_ = AudioBuffer(channels, io::kChunkFrames);
    }
    return {};
}

std::uint64_t WrittenSampleMeter::stored(const ConstAudioView& view, const AudioView& out) {
    std::uint64_t clipped = 0;
    for (int done = 0; done < view.frames;) {
        const int frames = std::min(io::kChunkFrames, view.frames - done);
        const ConstAudioView part = view.frameRange(done, frames);
        if (bits_ == 0) {
            for (int c = 0; c < channels_; ++c)
                std::memcpy(out.channel(c) + done, part.channel(c), sizeof(float) * std::size_t(frames));
        } else {
            clipped += quantised(part, 1.0f, quantised_.data());
            io::deinterleaveStored(quantised_.data(), out.frameRange(done, frames));
        }
        done += frames;
    }
    return clipped;
}

std::uint64_t WrittenSampleMeter::quantised(const ConstAudioView& view, float factor, std::int32_t* out) {
    std::uint64_t clipped = 0;
    for (int done = 0; done < view.frames;) {
        const int frames = std::min(io::kChunkFrames, view.frames - done);
        const ConstAudioView part = view.frameRange(done, frames);
        const std::size_t count = std::size_t(frames) * std::size_t(channels_);
        if (factor == 1.0f)
            io::interleave(part, interleaved_.data());
        else
            io::interleave(part, factor, interleaved_.data());
        clipped += io::quantize(interleaved_.data(), count, bits_, out + std::size_t(done) * std::size_t(channels_),
                                ditherScratch_.data(), dither_);
        done += frames;
    }
    return clipped;
}

namespace {

/// The channels of `view` as the meter takes them (view.channels <= kLoudnessMaxChannels).
std::array<const float*, kLoudnessMaxChannels> meterChannels(const ConstAudioView& view) {
    std::array<const float*, kLoudnessMaxChannels> pointers{};
    for (int c = 0; c < view.channels; ++c) pointers[std::size_t(c)] = view.channel(c);
    return pointers;
}

} // namespace

void WrittenSampleMeter::measureStored(const ConstAudioView& stored) {
    meter_.process(meterChannels(stored).data(), stored.frames);
}

void WrittenSampleMeter::measureStoredLoudness(const ConstAudioView& stored) {
    meter_.processLoudness(meterChannels(stored).data(), stored.frames);
}

void WrittenSampleMeter::measureStoredPeaks(const ConstAudioView& stored) {
    peakMeter_.processPeaks(meterChannels(stored).data(), stored.frames);
}

namespace {

/// `frames` interleaved integers of quantize() converted into `planar` (io::kChunkFrames) a
/// chunk at a time, each chunk then measured.
template <class Measure>
void measureConverted(const std::int32_t* interleaved, int frames, int channels, AudioBuffer& planar, Measure&& measure) {
    for (int done = 0; done < frames;) {
        const int part = std::min(io::kChunkFrames, frames - done);
        const AudioView values = planar.view().frameRange(0, part);
        io::deinterleaveStored(interleaved + std::size_t(done) * std::size_t(channels), values);
        measure(ConstAudioView(values));
        done += part;
    }
}

} // namespace

void WrittenSampleMeter::measureQuantisedLoudness(const std::int32_t* interleaved, int frames) {
    measureConverted(interleaved, frames, channels_, loudnessPlanar_,
                     [this](const ConstAudioView& v) { measureStoredLoudness(v); });
}

void WrittenSampleMeter::measureQuantisedPeaks(const std::int32_t* interleaved, int frames) {
    measureConverted(interleaved, frames, channels_, peaksPlanar_, [this](const ConstAudioView& v) { measureStoredPeaks(v); });
}

void WrittenSampleMeter::mergePeaks() { meter_.mergePeaks(peakMeter_); }

void WrittenSampleMeter::process(const ConstAudioView& view) {
    for (int done = 0; done < view.frames;) {
        const int frames = std::min(io::kChunkFrames, view.frames - done);
        const ConstAudioView part = view.frameRange(done, frames);
        if (bits_ == 0) {
            measureStored(part);
        } else {
            const AudioView out = planar_.view().frameRange(0, frames);
            stored(part, out);
            measureStored(ConstAudioView(out));
        }
        done += frames;
    }
}

// ---- the pass-1 scratch file ----------------------------------------------------------------

namespace {

/// Writes all `size` bytes at `offset`; "" or the reason.
std::string writeAllAt(int fd, const void* data, std::size_t size, std::uint64_t offset) {
    const auto* bytes = static_cast<const char*>(data);
    while (size > 0) {
        const ssize_t n = ::pwrite(fd, bytes, size, off_t(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return std::strerror(errno);
        if (n == 0) return "nothing could be written";
        bytes += n;
        size -= std::size_t(n);
        offset += std::uint64_t(n);
    }
    return {};
}

/// Reads up to `size` bytes at `offset` (fewer only at the end of the file); the bytes read or -1.
std::int64_t readAllAt(int fd, void* data, std::size_t size, std::uint64_t offset) {
    auto* bytes = static_cast<char*>(data);
    std::size_t got = 0;
    while (got < size) {
        const ssize_t n = ::pread(fd, bytes + got, size - got, off_t(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) break;
        got += std::size_t(n);
    }
    return std::int64_t(got);
}

} // namespace

TempSampleFile::~TempSampleFile() {
    if (fd_ >= 0) ::close(fd_);
}

std::string TempSampleFile::create(const std::string& folder, int channels, std::size_t memorySamples) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    folder_ = folder;
    channels_ = channels;
    frames_ = 0;
    memoryLimit_ = memorySamples;
    // Reserved, not touched: pages become resident only as samples arrive, and growing never
    // copies (a doubling vector would briefly hold 1.5x the limit).
    std::vector<float>().swap(memory_);
    memory_.reserve(memoryLimit_);
    readFrame_ = 0;
    spilled_ = false;
    spilledBytes_ = 0;
    // The file is created now even when the samples may fit in memory, so that a folder where
    // nothing can be created fails before any work rather than after it.
    std::vector<std::string> candidates{folder.empty() ? std::string(".") : folder};
    std::error_code ec;
    if (const fs::path system = fs::temp_directory_path(ec); !ec) candidates.push_back(system.string());
    std::string firstError;
    for (const auto& place : candidates) {
        std::string pattern = (fs::path(place) / ".stagegraph-pass1.XXXXXX.tmp").string();
        const int fd = ::mkstemps(pattern.data(), 4);
        if (fd < 0) {
            if (firstError.empty()) firstError = "cannot create a temporary file in '" + place + "': " + std::strerror(errno);
            continue;
        }
        ::unlink(pattern.c_str()); // nothing to clean up on any path: the descriptor keeps it
        // Read and written with pread / pwrite straight from and to the callers' channels (the
        // file holds blocks of planar samples): no stdio buffer and no (de)interleaving in
        // between, and no shared file position (readAt() from other threads).
        fd_ = fd;
        return {};
    }
    return firstError;
}

std::uint64_t TempSampleFile::fileOffset(std::int64_t frame, int channel) const {
    const std::int64_t block = frame / kFileBlockFrames;
    const std::uint64_t sample = std::uint64_t(block * kFileBlockFrames) * std::uint64_t(channels_) +
                                 std::uint64_t(channel) * std::uint64_t(kFileBlockFrames) +
                                 std::uint64_t(frame - block * kFileBlockFrames);
    return sample * sizeof(float);
}

template <class Part> bool TempSampleFile::forEachPart(std::int64_t frame, int frames, Part&& part) const {
    for (int done = 0; done < frames;) {
        const std::int64_t at = frame + done;
        const int count = int(std::min<std::int64_t>(frames - done, kFileBlockFrames - at % kFileBlockFrames));
        for (int c = 0; c < channels_; ++c)
            if (!part(c, done, sizeof(float) * std::size_t(count), fileOffset(at, c))) return false;
        done += count;
    }
    return true;
}

std::string TempSampleFile::writeFile(const ConstAudioView& view, std::int64_t frame) {
    std::string reason;
    forEachPart(frame, view.frames, [&](int c, int done, std::size_t bytes, std::uint64_t offset) {
        reason = writeAllAt(fd_, view.channel(c) + done, bytes, offset);
        return reason.empty();
    });
    if (reason.empty()) spilledBytes_ += sizeof(float) * std::size_t(view.frames) * std::size_t(channels_);
    return reason;
}

bool TempSampleFile::readFile(std::int64_t frame, const AudioView& view) const {
    // The frames were written: a short file is an error.
    return forEachPart(frame, view.frames, [&](int c, int done, std::size_t bytes, std::uint64_t offset) {
        return readAllAt(fd_, view.channel(c) + done, bytes, offset) == std::int64_t(bytes);
    });
}

std::string TempSampleFile::spill() {
    spilled_ = true;
    // The interleaved samples in memory, moved to the file's planar blocks a chunk at a time.
    AudioBuffer planar(channels_, io::kChunkFrames);
    for (std::int64_t done = 0; done < frames_;) {
        const int count = int(std::min<std::int64_t>(io::kChunkFrames, frames_ - done));
        io::deinterleave(memory_.data() + std::size_t(done) * std::size_t(channels_), planar.view().frameRange(0, count));
        if (auto reason = writeFile(ConstAudioView(planar.view().frameRange(0, count)), done); !reason.empty())
            return "cannot write the temporary file: " + reason;
        done += count;
    }
    std::vector<float>().swap(memory_); // give the memory back
    return {};
}

std::string TempSampleFile::write(const ConstAudioView& view) {
    if (fd_ < 0) return "temporary file is not open";
    const std::size_t samples = std::size_t(view.frames) * std::size_t(channels_);
    if (!spilled_ && memory_.size() + samples <= memoryLimit_) {
        const std::size_t at = memory_.size();
        memory_.resize(at + samples);
        io::interleave(view, memory_.data() + at);
        frames_ += view.frames;
        return {};
    }
    if (!spilled_)
        if (auto error = spill(); !error.empty()) return error;
    // Spilled, the file holds every frame written so far: the new ones go after them.
    if (auto reason = writeFile(view, frames_); !reason.empty()) return "cannot write the temporary file: " + reason;
    frames_ += view.frames;
    return {};
}

std::string TempSampleFile::rewind() { return seek(0); }

std::string TempSampleFile::seek(std::int64_t frame) {
    if (fd_ < 0) return "temporary file is not open";
    if (frame < 0 || frame > frames_) return "internal: a seek past the end of a temporary file";
    readFrame_ = frame;
    return {};
}

std::string TempSampleFile::clear() {
    if (fd_ < 0) return "temporary file is not open";
    frames_ = 0;
    readFrame_ = 0;
    memory_.clear(); // keeps its capacity for the next run
    if (!spilled_) return {};
    // Stays a file: a long output would only fill the memory again.
    if (::ftruncate(fd_, 0) != 0) return std::string("cannot reuse the temporary file: ") + std::strerror(errno);
    return {};
}

std::int64_t TempSampleFile::read(const AudioView& view) {
    const std::int64_t got = readAt(readFrame_, view);
    if (got > 0) readFrame_ += got;
    return got;
}

std::string TempSampleFile::flush() {
    if (fd_ < 0) return "temporary file is not open";
    return {}; // written straight to the file: nothing is held back
}

std::int64_t TempSampleFile::readAt(std::int64_t frame, const AudioView& view) const {
    if (fd_ < 0 || frame < 0) return -1;
    const int frames = int(std::clamp<std::int64_t>(frames_ - frame, 0, view.frames));
    if (!spilled_) {
        io::deinterleave(memory_.data() + std::size_t(frame) * std::size_t(channels_), view.frameRange(0, frames));
        return frames;
    }
    return readFile(frame, view.frameRange(0, frames)) ? frames : -1;
}

// ---- the limiter's gain tape ---------------------------------------------------------------

namespace {
/// Values a tape buffers between the limiter and its file (256 KiB).
constexpr std::size_t kTapeBufferValues = std::size_t(1) << 16;
/// The longest stretch one length holds: every integer up to 2^24 is a float.
constexpr std::int64_t kTapeMaxStretch = std::int64_t(1) << 24;
/// Gains of exactly 1 in a row that are kept as a stretch of ones (a mark and a length) rather
/// than one by one: limiting starts and ends within blocks, which leaves such runs at their ends.
constexpr int kTapeMinOnes = 8;
} // namespace

GainTapeFile::GainTapeFile() = default;
GainTapeFile::~GainTapeFile() = default;

std::string GainTapeFile::create(const std::string& folder, std::int64_t expectedFrames) {
    file_ = std::make_unique<TempSampleFile>();
    buffer_.assign(kTapeBufferValues, 0.0f);
    // At most a gain a frame, plus a length a block: the memory rule of a scratch of one channel.
    if (auto error = file_->create(folder, 1, TempSampleFile::memoryFor(expectedFrames < 0 ? -1.0 : double(expectedFrames)));
        !error.empty())
        return error;
    return clear();
}

std::string GainTapeFile::clear() {
    used_ = readAt_ = 0;
    stored_ = fetched_ = pendingCopied_ = remaining_ = frames_ = 0;
    error_.clear();
    failure_ = nullptr;
    return file_ ? file_->clear() : "internal: the limiter's gain tape is not open";
}

std::unique_ptr<TempSampleFile> GainTapeFile::takeFile() {
    stored_ = fetched_ = remaining_ = frames_ = 0;
    used_ = readAt_ = 0;
    return std::move(file_);
}

bool GainTapeFile::flushBuffer() noexcept {
    if (used_ == 0) return true;
    try {
        if (auto error = file_->write(ConstAudioView{buffer_.data(), used_, 1, int(used_)}); !error.empty()) {
            error_ = std::move(error);
            return false;
        }
    } catch (const std::exception&) {
        failure_ = "out of memory while keeping the limiter's gains";
        return false;
    }
    stored_ += std::int64_t(used_);
    used_ = 0;
    return true;
}

bool GainTapeFile::put(const float* values, std::size_t count) noexcept {
    while (count > 0) {
        if (used_ == buffer_.size() && !flushBuffer()) return false;
        const std::size_t n = std::min(count, buffer_.size() - used_);
        std::memcpy(buffer_.data() + used_, values, n * sizeof(float));
        used_ += n;
        values += n;
        count -= n;
    }
    return true;
}

bool GainTapeFile::putCopied() noexcept {
    while (pendingCopied_ > 0) {
        const std::int64_t n = std::min(pendingCopied_, kTapeMaxStretch);
        const float length = -float(n);
        if (!put(&length, 1)) return false;
        pendingCopied_ -= n;
    }
    return true;
}

void GainTapeFile::record(const float* gains, int frames) noexcept {
    if (frames <= 0) return;
    frames_ += frames;
    if (!file_) failure_ = "internal: the limiter's gain tape is not open";
    if (failure_ || !error_.empty()) return;
    if (!gains) {
        pendingCopied_ += frames; // consecutive copied stretches share one length
        return;
    }
    if (frames > kTapeMaxStretch) {
        failure_ = "internal: a limiter's block is too long for its gain tape";
        return;
    }
    if (!putCopied()) return;
    for (int i = 0; i < frames;) {
        int ones = 0;
        while (i + ones < frames && gains[i + ones] == 1.0f) ++ones;
        if (ones >= kTapeMinOnes || (ones > 0 && i + ones == frames)) {
            const float mark[2] = {0.0f, float(ones)}; // multiplied by exactly 1
            if (!put(mark, 2)) return;
            i += ones;
            continue;
        }
        // Gains up to the next run of ones long enough to stand alone (or the end).
        int end = i + ones, run = 0;
        for (; end < frames && run < kTapeMinOnes; ++end) run = gains[end] == 1.0f ? run + 1 : 0;
        if (run >= kTapeMinOnes) end -= run;
        const float length = float(end - i);
        if (!put(&length, 1) || !put(gains + i, std::size_t(end - i))) return;
        i = end;
    }
}

std::string GainTapeFile::finish() {
    if (!file_) return "internal: the limiter's gain tape is not open";
    if (!failure_ && error_.empty() && putCopied() && flushBuffer())
        if (auto error = file_->flush(); !error.empty()) error_ = std::move(error);
    return error();
}

std::string GainTapeFile::rewind() {
    used_ = readAt_ = 0;
    fetched_ = remaining_ = 0;
    error_.clear();
    failure_ = nullptr;
    return file_ ? file_->rewind() : "internal: the limiter's gain tape is not open";
}

bool GainTapeFile::get(float* values, std::size_t count) noexcept {
    while (count > 0) {
        if (used_ == 0) {
            const std::int64_t want = std::min<std::int64_t>(std::int64_t(buffer_.size()), stored_ - fetched_);
            std::int64_t got = -1;
            try {
                got = want > 0 ? file_->read(AudioView{buffer_.data(), std::size_t(want), 1, int(want)}) : 0;
            } catch (const std::exception&) {
                got = -1;
            }
            if (got <= 0) {
                failure_ = want > 0 ? "cannot read back the limiter's gains of pass 2" : "the limiter's gain tape ends early";
                return false;
            }
            used_ = std::size_t(got);
            readAt_ = 0;
            fetched_ += got;
        }
        const std::size_t n = std::min(count, used_);
        std::memcpy(values, buffer_.data() + readAt_, n * sizeof(float));
        readAt_ += n;
        used_ -= n;
        values += n;
        count -= n;
    }
    return true;
}

int GainTapeFile::replay(float* gains, int frames, bool& copied) noexcept {
    if (frames <= 0 || !file_ || failure_ || !error_.empty()) return 0;
    if (remaining_ == 0) {
        float length = 0;
        if (!get(&length, 1)) return 0;
        remainingOnes_ = length == 0.0f;
        if (remainingOnes_ && !get(&length, 1)) return 0;
        if (!(std::fabs(length) >= 1 && std::fabs(length) <= float(kTapeMaxStretch)) || (remainingOnes_ && length < 0)) {
            failure_ = "internal: the limiter's gain tape is damaged";
            return 0;
        }
        remainingCopied_ = length < 0;
        remaining_ = std::int64_t(std::fabs(length));
    }
    const int n = int(std::min<std::int64_t>(remaining_, frames));
    if (remainingOnes_)
        std::fill_n(gains, n, 1.0f);
    else if (!remainingCopied_ && !get(gains, std::size_t(n)))
        return 0;
    copied = remainingCopied_;
    remaining_ -= n;
    return n;
}

// ---- pass 2 --------------------------------------------------------------------------------

namespace {

struct PassOutcome {
    OutputFigures figures;
    double maxGainReductionDb = 0, meanGainReductionDb = 0, limitedPercent = 0;
};

/// The gain node's range, dB: larger gains are spread over several gain nodes.
constexpr double kGainNodeMaxDb = 40;
/// The limiter node's lowest ceiling, dBTP: a lower one is reached by scaling around it.
constexpr double kLimiterNodeMinCeilingDbtp = -20;

std::string numberText(double value) { return formatNumber(value, "%.17g"); }

/// The shape of pass 2's chain: `stages` gain nodes of stageGainDb each before a limiter at
/// limiterCeilingDbtp, then a gain of shiftDb (when not 0) after it.
struct Pass2Shape {
    double stageGainDb = 0, shiftDb = 0, limiterCeilingDbtp = 0;
    int stages = 1;
};

/// Pass 2's chain for a gain and a limiter ceiling. A gain beyond the gain node's range is
/// spread over several gain nodes; a limiter ceiling below the node's floor C0 uses a peak
/// limiter's scale invariance, limit_C(y) = a * limit_C0(y / a) with 20 log10(a) = C - C0: the
/// input is lowered by C - C0 more and raised by it after the limiter.
Pass2Shape pass2Shape(double gainDb, double limiterCeilingDbtp) {
    Pass2Shape shape;
    shape.limiterCeilingDbtp = limiterCeilingDbtp;
    if (limiterCeilingDbtp < kLimiterNodeMinCeilingDbtp) {
        shape.shiftDb = limiterCeilingDbtp - kLimiterNodeMinCeilingDbtp; // negative
        shape.limiterCeilingDbtp = kLimiterNodeMinCeilingDbtp;
    }
    const double preGainDb = gainDb - shape.shiftDb;
    shape.stages = std::max(1, int(std::ceil(std::fabs(preGainDb) / kGainNodeMaxDb)));
    // As the graph's text gives it to the gain nodes (numberText's 17 digits read back: the same double).
    shape.stageGainDb = std::strtod(numberText(preGainDb / shape.stages).c_str(), nullptr);
    return shape;
}

/// The factors of pass 2's gain nodes before the limiter, in order: each node's float multiply
/// (the gain node's factor, float(10^(dB/20))).
std::vector<float> pass2GainFactors(double gainDb, double limiterCeilingDbtp) {
    const Pass2Shape shape = pass2Shape(gainDb, limiterCeilingDbtp);
    return std::vector<float>(std::size_t(shape.stages), float(dbToGain(shape.stageGainDb)));
}

/// Multiplies `chunk` in place by pass2GainFactors(), one factor after the other: what the gain
/// nodes would do to it (pass2GraphYaml without them).
void applyPass2Gains(const std::vector<float>& factors, const AudioView& chunk) {
    const Elementwise& scale = Elementwise::forArch(detectSimdArch());
    for (const float k : factors) {
        if (k == 1.0f) continue; // as the gain node in place
        for (int c = 0; c < chunk.channels; ++c) scale.multiplyByConstant(chunk.channel(c), chunk.channel(c), chunk.frames, k);
    }
}

/// Pass 2 as a graph: in -> gain -> limiter -> out (pass2Shape), or without the gain nodes
/// (`gainNodes` false: the caller applies pass2GainFactors() to the input).
std::string pass2GraphYaml(int channels, double gainDb, double limiterCeilingDbtp, double trimDb = 0, bool gainNodes = true) {
    const Pass2Shape shape = pass2Shape(gainDb, limiterCeilingDbtp);
    const double shiftDb = shape.shiftDb;
    std::string yaml = "stagegraph: 1\nname: target-pass-2\nstage: mastering\n";
    yaml += "inputs: {in: {channels: " + std::to_string(channels) + "}}\n";
    yaml += "outputs: {out: {channels: " + std::to_string(channels) + "}}\nnodes:\n";
    std::string chain = "in";
    for (int i = 0; gainNodes && i < shape.stages; ++i) {
        const std::string name = shape.stages == 1 ? "gain" : "gain" + std::to_string(i + 1);
        yaml += "  " + name + ": {type: gain, gain: " + numberText(shape.stageGainDb) + " dB}\n";
        chain += " -> " + name;
    }
    yaml += "  limiter: {type: limiter, ceiling: " + numberText(shape.limiterCeilingDbtp) +
            " dBTP, lookahead: " + numberText(kLimiterLookaheadMs) + " ms, release: " + numberText(kLimiterReleaseMs) + " ms}\n";
    chain += " -> limiter";
    if (shiftDb != 0) {
        yaml += "  restore: {type: gain, gain: " + numberText(shiftDb) + " dB}\n";
        chain += " -> restore";
    }
    if (trimDb != 0) {
        yaml += "  trim: {type: gain, gain: " + numberText(trimDb) + " dB}\n";
        chain += " -> trim";
    }
    yaml += "connections: [\"" + chain + " -> out\"]\n";
    return yaml;
}

/// The share of the limiter's detection (lanes times blocks) that a run of pass 2 leaves to the
/// thread that reads its source. Measured on the bench's W1 --target (perf, per thread): with
/// half (one channel of two) this thread was busy all through the run and the reader 46 % of it;
/// with all, the reader 80-92 % and this thread 60-70 %, and the run took as long either way;
/// with 7/8 the reader was busy throughout and this thread half the time. A detect-only copy
/// runs every tile at the ceiling, where the limiter skips the tiles its release lets it skip,
/// so a channel costs the reader more than it saves here. Pass 2's time in alternated renders
/// (11 each, medians): 0.748 s with 1/2, 0.712 s with 3/4, 0.739 s with 7/8.
constexpr double kDetectedAheadShare = 0.75;

/// Frames per chunk handed between the threads of pass 2: each hand-off wakes a thread, and
/// 65536 frames measured 0.1 to 0.2 s less wall time than 16384 on the 10-minute W1 --target
/// (fewer context switches; about a third less system time).
constexpr int kHandOffFrames = 65536;

/// Compiles in -> gain -> limiter -> out for `channels` at `sampleRate` into `program` (without
/// the gain nodes when `gainNodes` is false); its limiter records into `tape`, or plays it back
/// with `replay` (LimiterGainTapeScope). Returns "" or an error.
std::string chainProgram(int channels, double sampleRate, double gainDb, double limiterCeilingDbtp,
                         std::unique_ptr<Program>& program, LimiterGainTape* tape = nullptr, bool replay = false,
                         LimiterPeakFeed* feed = nullptr, bool detectOnly = false, bool gainNodes = true) {
    Diagnostics diags;
    const GraphDesc desc =
        loadGraphFromString(pass2GraphYaml(channels, gainDb, limiterCeilingDbtp, 0, gainNodes), "target pass 2", ".", diags);
    std::shared_ptr<const CompiledGraph> compiled;
    if (!diags.hasErrors()) compiled = compile(desc, Registry::builtin(), diags);
    InstanceOptions options;
    options.sampleRate = sampleRate;
    options.maxBlockFrames = kPassBlockFrames;
    program.reset();
    const LimiterGainTapeScope scope(tape, replay);
    const LimiterPeakFeedScope feedScope(feed, detectOnly);
    if (compiled && !diags.hasErrors()) program = instantiate(*compiled, options, diags);
    if (!program || diags.hasErrors()) return "internal: the graph of pass 2 does not compile: " + diags.formatAll();
    return {};
}

/// Streams `input` through `program` (chainProgram's, run by the OfflineRunner) into `output`;
/// `frames` is for the progress bar, `sinkError` the sink's message when it fails. Fills the
/// limiter's figures of `outcome`. Returns "" or an error ("interrupted" when the flag was raised).
std::string runProgram(Program& program, AudioSource& input, AudioSink& output, const std::string* sinkError, std::int64_t frames,
                       PassOutcome& outcome, const std::string& label, bool showProgress,
                       const volatile std::sig_atomic_t* interrupted) {
    ProgressBar progress(label, frames, stderr, showProgress && ProgressBar::isTerminal(stderr));
    std::atomic<bool> stop{interrupted && *interrupted};
    RunnerOptions runnerOptions;
    runnerOptions.blockFrames = kPassBlockFrames;
    runnerOptions.stop = &stop;
    runnerOptions.onProgress = [&](std::int64_t outputFrames) {
        progress.update(outputFrames);
        if (interrupted && *interrupted) stop.store(true, std::memory_order_relaxed);
    };
    AudioSource* sources[] = {&input};
    AudioSink* sinks[] = {&output};
    OfflineRunner runner(program.executor(), runnerOptions);
    const RunResult result = runner.run(sources, sinks);
    progress.finish();
    std::string error;
    switch (result.status) {
    case RunStatus::Finished:
        break;
    case RunStatus::Stopped:
        error = "interrupted";
        break;
    case RunStatus::SourceFailed:
        error = "cannot read back the temporary file of pass 1";
        break;
    case RunStatus::SinkFailed:
        error = sinkError ? *sinkError : "internal: a sink of pass 2 failed";
        break;
    case RunStatus::NonFinite:
        error = "pass 2 produced non-finite samples (NaN or infinity)";
        break;
    case RunStatus::Mismatch:
        error = "internal: " + result.mismatch;
        break;
    }
    if (!error.empty()) return error;

    for (const auto& node : program.executor().measurements()) {
        if (node.node != "limiter") continue;
        for (const auto& m : node.values) {
            if (m.key == "max_gain_reduction_db")
                outcome.maxGainReductionDb = m.value;
            else if (m.key == "mean_gain_reduction_db")
                outcome.meanGainReductionDb = m.value;
            else if (m.key == "limited_percent")
                outcome.limitedPercent = m.value;
        }
    }
    return {};
}

/// runProgram over a chain compiled here (its limiter on `tape` as chainProgram's).
std::string runChain(AudioSource& input, AudioSink& output, const std::string* sinkError, std::int64_t frames, double sampleRate,
                     double gainDb, double limiterCeilingDbtp, PassOutcome& outcome, const std::string& label, bool showProgress,
                     const volatile std::sig_atomic_t* interrupted, LimiterGainTape* tape = nullptr, bool replay = false,
                     bool gainNodes = true) {
    std::unique_ptr<Program> program;
    if (auto error = chainProgram(input.channels(), sampleRate, gainDb, limiterCeilingDbtp, program, tape, replay, nullptr, false,
                                  gainNodes);
        !error.empty())
        return error;
    return runProgram(*program, input, output, sinkError, frames, outcome, label, showProgress, interrupted);
}

/// A reader of `source` from its start, ahead on a thread of its own; `onChunk`, if any, sees
/// each chunk read, on that thread, before it is handed over.
ChunkProducer sourceReader(TempSampleFile& source, std::function<void(const AudioView&)> onChunk = {}) {
    return ChunkProducer(
        source.channels(), kHandOffFrames,
        [&source, remaining = source.frames(), onChunk = std::move(onChunk)](const AudioView& view, std::string& error) mutable {
            const int want = int(std::min<std::int64_t>(view.frames, remaining));
            const std::int64_t got = want > 0 ? source.read(view.frameRange(0, want)) : 0;
            if (got < 0) {
                error = "cannot read back the temporary file of pass 1";
                return std::int64_t(-1);
            }
            remaining -= got;
            if (onChunk && got > 0) onChunk(view.frameRange(0, int(got)));
            return got;
        });
}

/// One run of pass 2: source -> [gain -> limiter], measuring the limiter's float output
/// (integrated loudness, true peak), its gains recorded on `tape` (cleared here); nothing is
/// kept of the output itself, nothing is encoded. Returns "" or an error ("interrupted" when the
/// flag was raised).
std::string runPass(TempSampleFile& source, double sampleRate, double gainDb, double limiterCeilingDbtp, GainTapeFile& tape,
                    PassOutcome& outcome, const std::string& label, bool showProgress,
                    const volatile std::sig_atomic_t* interrupted) {
    LoudnessMeter meter;
    LoudnessOptions offline;
    offline.offline = true; // read once the run is over
    if (auto error = meter.prepare(sampleRate, source.channels(), offline); !error.empty()) return error;
    if (auto error = tape.clear(); !error.empty()) return error;
    if (auto error = source.rewind(); !error.empty()) return error;
    // The limiter's detection is shared with the thread that reads the source: a detect-only
    // copy of the chain there detects most of the channels' blocks (kDetectedAheadShare) and
    // puts their peaks into the feed before the chunk is handed over (the chunks in flight, and
    // two more, fit in it). This thread detects the rest, limits and records the gains; a third
    // measures the result. Bit for bit the run of a limiter that detects everything itself
    // (LimiterPeakFeed); what the feed lacks (the block with the latency's tail) it detects
    // itself. On the bench file the detection is most of the limiter's work: the reader was 85 %
    // idle without it.
    // The reading thread also applies the gain (the gain nodes' multiplies, in place), once for
    // both chains, which start at the limiter.
    LimiterPeakFeed feed((kChunkSlots + 2) * kHandOffFrames, kDetectedAheadShare * source.channels());
    std::unique_ptr<Program> detector, program;
    if (auto error =
            chainProgram(source.channels(), sampleRate, gainDb, limiterCeilingDbtp, detector, nullptr, false, &feed, true, false);
        !error.empty())
        return error;
    if (auto error =
            chainProgram(source.channels(), sampleRate, gainDb, limiterCeilingDbtp, program, &tape, false, &feed, false, false);
        !error.empty())
        return error;
    const std::vector<float> gains = pass2GainFactors(gainDb, limiterCeilingDbtp);
    AudioBuffer silenced(source.channels(), kPassBlockFrames); // the detect-only chain's output
    ChunkProducer reader = sourceReader(source, [&](const AudioView& chunk) {
        applyPass2Gains(gains, chunk);
        Executor& detect = detector->executor();
        for (int start = 0; start < chunk.frames; start += kPassBlockFrames) {
            const int frames = std::min(kPassBlockFrames, chunk.frames - start);
            const ConstAudioView in[] = {chunk.frameRange(start, frames)};
            const AudioView out[] = {silenced.view().frameRange(0, frames)};
            detect.process(in, out);
        }
    });
    ChunkConsumer keeper(source.channels(), kHandOffFrames, [&](const ConstAudioView& view) {
        const float* pointers[kLoudnessMaxChannels] = {};
        for (int c = 0; c < view.channels; ++c) pointers[c] = view.channel(c);
        meter.process(pointers, view.frames);
        return std::string();
    });
    outcome = {};
    const std::string error =
        runProgram(*program, reader.source(), keeper.sink(), nullptr, source.frames(), outcome, label, showProgress, interrupted);
    if (auto keepError = keeper.finish(); !keepError.empty()) return keepError;
    if (!error.empty()) return error;
    if (auto tapeError = tape.finish(); !tapeError.empty()) return "cannot keep the limiter's gains of pass 2: " + tapeError;
    if (tape.frames() < source.frames()) return "internal: the limiter's gain tape is shorter than pass 2";
    outcome.figures = figuresOf(meter);
    return {};
}

/// An AudioSink that hands each block to a function: "" or its error (kept for the runner).
class FunctionSink final : public AudioSink {
public:
    explicit FunctionSink(std::function<std::string(const ConstAudioView&)> take) : take_(std::move(take)) {}
    bool write(const ConstAudioView& block) override {
        error_ = take_(block);
        return error_.empty();
    }
    const std::string& error() const { return error_; }

private:
    std::function<std::string(const ConstAudioView&)> take_;
    std::string error_;
};

/// Plays back the run of pass 2 recorded on `tape` (source -> [gain -> limiter replaying its
/// gains]) into `take`, a block at a time: the run's output, bit for bit, without its detection.
/// Returns "" or an error ("interrupted" when the flag was raised).
std::string replayPass(TempSampleFile& source, double sampleRate, double gainDb, double limiterCeilingDbtp, GainTapeFile& tape,
                       const std::function<std::string(const ConstAudioView&)>& take, const std::string& label, bool showProgress,
                       const volatile std::sig_atomic_t* interrupted) {
    if (auto error = tape.rewind(); !error.empty()) return error;
    if (auto error = source.rewind(); !error.empty()) return error;
    // The gain applied on the reading thread, as in the run (runPass).
    const std::vector<float> gains = pass2GainFactors(gainDb, limiterCeilingDbtp);
    ChunkProducer reader = sourceReader(source, [&gains](const AudioView& chunk) { applyPass2Gains(gains, chunk); });
    FunctionSink sink(take);
    PassOutcome ignored; // a replaying limiter measures nothing
    if (auto error = runChain(reader.source(), sink, &sink.error(), source.frames(), sampleRate, gainDb, limiterCeilingDbtp,
                              ignored, label, showProgress, interrupted, &tape, true, false);
        !error.empty())
        return error;
    if (auto tapeError = tape.error(); !tapeError.empty()) return tapeError;
    if (!tape.atEnd()) return "internal: the replay of pass 2 left gains of its tape unplayed";
    return {};
}

// ---- the probe: the limiter's loudness loss on a sample of the output ------------------------

/// A stretch of the output the probe runs over: `warmup` frames that settle the limiter, then
/// `frames` frames that are measured.
struct ProbeSegment {
    std::int64_t start = 0; ///< first frame read (the warm-up's)
    std::int64_t warmup = 0, frames = 0;
    std::size_t index = 0; ///< among all the probe's segments
};

/// Measured stretches: kProbeSegmentSeconds out of every kProbeSpacingSeconds, centred.
std::vector<ProbeSegment> probeSegments(std::int64_t frames, double sampleRate) {
    const auto spacing = std::int64_t(std::llround(kProbeSpacingSeconds * sampleRate));
    const auto length = std::int64_t(std::llround(kProbeSegmentSeconds * sampleRate));
    const auto warmup = std::int64_t(std::llround(kProbeWarmupSeconds * sampleRate));
    std::vector<ProbeSegment> segments;
    for (std::int64_t window = 0; window + spacing <= frames; window += spacing)
        segments.push_back({window + (spacing - length) / 2 - warmup, warmup, length, segments.size()});
    return segments;
}

/// The segments of a scratch file, one after the other (TempSampleFile::readAt: another thread
/// may read the same file at the same time).
class ProbeSource final : public AudioSource {
public:
    ProbeSource(const TempSampleFile& file, const std::vector<ProbeSegment>& segments) : file_(file), segments_(segments) {}
    int channels() const override { return file_.channels(); }
    int read(const AudioView& block) override {
        int done = 0;
        while (done < block.frames && next_ < segments_.size()) {
            const ProbeSegment& s = segments_[next_];
            const int n = int(std::min<std::int64_t>(s.warmup + s.frames - at_, block.frames - done));
            if (file_.readAt(s.start + at_, block.frameRange(done, n)) != n) return -1;
            done += n;
            at_ += n;
            if (at_ == s.warmup + s.frames) ++next_, at_ = 0;
        }
        return done;
    }

private:
    const TempSampleFile& file_;
    const std::vector<ProbeSegment>& segments_;
    std::size_t next_ = 0;
    std::int64_t at_ = 0; ///< frames of segments_[next_] done
};

/// One channel's K-weighting (BS.1770): two biquads, direct form I, in double.
struct KFilter {
    double x1 = 0, x2 = 0, y1 = 0, y2 = 0, z1 = 0, z2 = 0; // shelf in/out, then high-pass out
    double run(const KWeightingStage& s, const KWeightingStage& h, double x) {
        const double y = s.b0 * x + s.b1 * x1 + s.b2 * x2 - s.a1 * y1 - s.a2 * y2;
        x2 = x1, x1 = x;
        const double z = h.b0 * y + h.b1 * y1 + h.b2 * y2 - h.a1 * z1 - h.a2 * z2;
        y2 = y1, y1 = y;
        z2 = z1, z1 = z;
        return z;
    }
    double magnitude() const {
        return std::max({std::fabs(x1), std::fabs(x2), std::fabs(y1), std::fabs(y2), std::fabs(z1), std::fabs(z2)});
    }
};

/// Where a probe's measurements go: the K-weighted energy (channel weights applied, summed over
/// the frames) of every 100 ms step that follows a segment's warm-up, at
/// steps[index * stepsPerSegment + j]. Each segment has its own slots, so segments measured on
/// different threads never share one, and the gating sees the same steps in any case.
struct ProbeSteps {
    int stepFrames = 0, stepsPerSegment = 0;
    std::vector<double> steps;
};

ProbeSteps probeSteps(std::size_t segments, std::int64_t segmentFrames, double sampleRate) {
    ProbeSteps out;
    out.stepFrames = std::max(1, int(std::lround(sampleRate / 10)));
    out.stepsPerSegment = int(segmentFrames / out.stepFrames);
    out.steps.assign(segments * std::size_t(out.stepsPerSegment), 0.0);
    return out;
}

/// BS.1770's gated integration over 400 ms blocks (four steps, a new one every step) that lie
/// within one segment each; -inf when every block is gated.
double probeLufs(const ProbeSteps& measured) {
    const int perSegment = measured.stepsPerSegment;
    if (perSegment < 4) return -HUGE_VAL;
    const std::size_t segments = measured.steps.size() / std::size_t(perSegment);
    const double blockFrames = 4.0 * measured.stepFrames;
    std::vector<double> energies;
    double sumAbsolute = 0;
    int countAbsolute = 0;
    for (std::size_t k = 0; k < segments; ++k) {
        const double* steps = measured.steps.data() + k * std::size_t(perSegment);
        for (int j = 3; j < perSegment; ++j) {
            const double e = (steps[j - 3] + steps[j - 2] + steps[j - 1] + steps[j]) / blockFrames;
            energies.push_back(e);
            if (-0.691 + 10 * std::log10(e) > -70) sumAbsolute += e, ++countAbsolute;
        }
    }
    if (countAbsolute == 0) return -HUGE_VAL;
    const double relativeGate = -0.691 + 10 * std::log10(sumAbsolute / countAbsolute) - 10;
    double sumKept = 0;
    int countKept = 0;
    for (double e : energies) {
        const double l = -0.691 + 10 * std::log10(e);
        if (l > -70 && l > relativeGate) sumKept += e, ++countKept;
    }
    return countKept == 0 ? -HUGE_VAL : -0.691 + 10 * std::log10(sumKept / countKept);
}

/// Measures what follows each segment's warm-up into its steps; the K filters start from rest
/// at each segment's first frame and settle over its warm-up. The filtering is the loudness
/// meter's vector kernel (KWeightingFilter), each step's sums per channel in frame order.
class ProbeSink final : public AudioSink {
public:
    ProbeSink(const std::vector<ProbeSegment>& segments, int channels, double sampleRate, ProbeSteps& out)
        : segments_(segments), out_(out), weights_(defaultChannelWeights(channels)) {
        error_ = filter_.prepare(sampleRate, channels);
    }
    /// "" or why the filter could not be set up (then nothing is measured).
    const std::string& error() const { return error_; }
    bool write(const ConstAudioView& block) override {
        if (!error_.empty()) return false;
        const auto planar = meterChannels(block);
        const int stepFrames = out_.stepFrames;
        const std::int64_t measuredFrames = std::int64_t(out_.stepsPerSegment) * stepFrames;
        for (int f = 0; f < block.frames && next_ < segments_.size();) {
            const ProbeSegment& s = segments_[next_];
            if (at_ == 0) filter_.reset();
            // Up to the next boundary: the warm-up's end, a step's end, or the segment's end.
            const std::int64_t measured = at_ - s.warmup;
            const bool counted = measured >= 0 && measured < measuredFrames;
            const std::int64_t until = measured < 0 ? -measured
                                       : counted    ? stepFrames - measured % stepFrames
                                                    : s.warmup + s.frames - at_;
            const int n = int(std::min<std::int64_t>(until, block.frames - f));
            filter_.process(planar.data(), f, n);
            f += n;
            at_ += n;
            double sums[kLoudnessMaxChannels] = {};
            if (measured < 0 && n == until) filter_.takeSums(sums); // the warm-up's: not counted
            if (counted && n == until) {
                filter_.takeSums(sums);
                double energy = 0;
                for (int c = 0; c < block.channels; ++c) energy += weights_[std::size_t(c)] * sums[c];
                out_.steps[s.index * std::size_t(out_.stepsPerSegment) + std::size_t(measured / stepFrames)] += energy;
            }
            if (at_ == s.warmup + s.frames) ++next_, at_ = 0;
        }
        return true;
    }

private:
    const std::vector<ProbeSegment>& segments_;
    ProbeSteps& out_;
    std::vector<double> weights_;
    KWeightingFilter filter_;
    std::string error_;
    std::size_t next_ = 0;
    std::int64_t at_ = 0;
};

/// The probe's segments in two interleaved halves (even and odd), the second limited and
/// measured on another thread: the two cores each take half of the sample.
using ProbeHalves = std::array<std::vector<ProbeSegment>, 2>;

ProbeHalves splitProbe(const std::vector<ProbeSegment>& segments) {
    ProbeHalves halves;
    for (std::size_t i = 0; i < segments.size(); ++i) halves[i % 2].push_back(segments[i]);
    return halves;
}

/// Measures one half's segments into `out`: as they are when `program` is null, else through
/// that chain (gain -> limiter). Returns "" or an error.
std::string probeHalf(const TempSampleFile& source, const std::vector<ProbeSegment>& segments, double sampleRate,
                      Program* program, ProbeSteps& out, bool showProgress, const volatile std::sig_atomic_t* interrupted) {
    if (segments.empty()) return {};
    ProbeSource input(source, segments);
    ProbeSink measured(segments, source.channels(), sampleRate, out);
    if (!measured.error().empty()) return measured.error();
    if (program) {
        std::int64_t frames = 0;
        for (const auto& s : segments) frames += s.warmup + s.frames;
        PassOutcome ignored;
        return runProgram(*program, input, measured, nullptr, frames, ignored, "probe", showProgress, interrupted);
    }
    AudioBuffer block(source.channels(), kPassBlockFrames);
    for (;;) {
        const int got = input.read(block.view());
        if (got < 0) return "cannot read back the temporary file of pass 1";
        if (got == 0) return {};
        measured.write(ConstAudioView(block.view().frameRange(0, got)));
    }
}

/// Integrated loudness of the probe's segments of `source` as they are (`gainDb` nullopt: no
/// gain, no limiter) or through gain -> limiter, the two halves on two threads (each its own
/// chain). Returns "" or an error.
std::string probeLoudness(TempSampleFile& source, const ProbeHalves& halves, double sampleRate, std::optional<double> gainDb,
                          double limiterCeilingDbtp, double& lufs, bool showProgress,
                          const volatile std::sig_atomic_t* interrupted) {
    if (auto error = source.flush(); !error.empty()) return error;
    const std::int64_t segmentFrames = halves[0].empty() ? 0 : halves[0].front().frames;
    ProbeSteps measured = probeSteps(halves[0].size() + halves[1].size(), segmentFrames, sampleRate);
    std::array<std::string, 2> errors;
    // Each half's chain is built on its own thread, the two at once (a few ms each).
    const auto half = [&](int h, bool progress) {
        std::unique_ptr<Program> program;
        if (gainDb)
            if (auto error = chainProgram(source.channels(), sampleRate, *gainDb, limiterCeilingDbtp, program); !error.empty())
                return error;
        return probeHalf(source, halves[std::size_t(h)], sampleRate, program.get(), measured, progress, interrupted);
    };
    std::thread second([&] { errors[1] = half(1, false); });
    errors[0] = half(0, showProgress);
    second.join();
    for (const auto& error : errors)
        if (!error.empty()) return error;
    lufs = probeLufs(measured);
    return {};
}

/// The one encoding: the accepted run's samples, replayed from `tape` over `source`
/// (replayPass), times the trim (as a gain node after the limiter would: a float factor), into
/// `writer` (opened here on `path`, left uncommitted) and into `meter` (prepared here: what the
/// writer stores). Returns "" or an error; on error `writer` holds nothing.
std::string encodeReplayed(TempSampleFile& source, GainTapeFile& tape, double sampleRate, double gainDb,
                           double limiterCeilingDbtp, double trimDb, const std::string& path, io::OutputFormat format,
                           const std::vector<std::string>& protectedPaths, io::AudioFileWriter& writer, WrittenSampleMeter& meter,
                           bool showProgress, const volatile std::sig_atomic_t* interrupted) {
    writer.discard();
    const int channels = source.channels();
    if (auto error = meter.prepare(sampleRate, channels, format); !error.empty()) return error;
    if (auto error = writer.open(path, format, sampleRate, channels, protectedPaths); !error.empty()) return error;
    const float factor = float(dbToGain(trimDb));                      // the gain node's factor, bit for bit
    const Elementwise& scale = Elementwise::forArch(detectSimdArch()); // one float multiply a sample
    // A second thread reads the source ahead; this one replays the run, trims and works out
    // what the writer stores (the same dither and quantisation), straight into the chunks that
    // two more threads measure and another packs and writes (integer samples of up to 24 bits;
    // others are encoded here): the loudness and the peaks of the written samples are each about
    // as costly as the trimming and quantising here, or the packing and writing. One copy of the
    // stored values for the three (ChunkFanOut). For integer samples that copy is the integers
    // themselves, trimmed on their way into the quantiser: the writer packs them as they are and
    // each meter converts them on its own thread, so this thread (the encoding's longest) makes
    // one pass over the samples fewer and hands on half of what it did.
    const bool packs = writer.takesStoredValues();
    std::optional<ChunkFanOut> quantised, stored;
    if (packs)
        quantised.emplace(channels, kHandOffFrames,
                          std::vector<QuantisedConsume>{[&](const std::int32_t* values, int frames) {
                                                            meter.measureQuantisedLoudness(values, frames);
                                                            return std::string();
                                                        },
                                                        [&](const std::int32_t* values, int frames) {
                                                            meter.measureQuantisedPeaks(values, frames);
                                                            return std::string();
                                                        },
                                                        [&writer, channels](const std::int32_t* values, int frames) {
                                                            return writer.writeQuantised(values, frames, channels, 0);
                                                        }});
    else
        stored.emplace(channels, kHandOffFrames,
                       std::vector<ChunkConsume>{[&](const ConstAudioView& view) {
                                                     meter.measureStoredLoudness(view);
                                                     return std::string();
                                                 },
                                                 [&](const ConstAudioView& view) {
                                                     meter.measureStoredPeaks(view);
                                                     return std::string();
                                                 }});
    AudioBuffer trimmed(channels, kPassBlockFrames);
    std::uint64_t clipped = 0;
    const std::string consumerFailed = "\x01"; // a consumer's own error, reported below
    const auto take = [&](const ConstAudioView& block) -> std::string {
        if (packs) {
            for (int done = 0; done < block.frames;) {
                std::int32_t* values = nullptr;
                int count = 0;
                if (!quantised->reserveQuantised(block.frames - done, values, count)) return consumerFailed;
                clipped += meter.quantised(block.frameRange(done, count), trimDb != 0 ? factor : 1.0f, values);
                quantised->commit(count);
                done += count;
            }
            return {};
        }
        for (int start = 0; start < block.frames; start += kPassBlockFrames) {
            const int count = std::min(kPassBlockFrames, block.frames - start);
            ConstAudioView view = block.frameRange(start, count);
            if (trimDb != 0) {
                for (int c = 0; c < channels; ++c) scale.multiplyByConstant(view.channel(c), trimmed.channel(c), count, factor);
                view = ConstAudioView(trimmed.view().frameRange(0, count));
            }
            AudioView values;
            if (!stored->reserve(count, values)) return consumerFailed;
            clipped += meter.stored(view, values);
            stored->commit(count);
            if (auto error = writer.write(view); !error.empty()) return error;
        }
        return {};
    };
    const std::string error =
        replayPass(source, sampleRate, gainDb, limiterCeilingDbtp, tape, take, "writing", showProgress, interrupted);
    if (!error.empty() && error != consumerFailed) return error;
    if (auto consumerError = packs ? quantised->finish() : stored->finish(); !consumerError.empty()) return consumerError;
    if (!error.empty()) return "internal: a consumer of the encoding stopped without saying why";
    if (packs)
        if (auto storedError = writer.writeQuantised(nullptr, 0, channels, clipped); !storedError.empty()) return storedError;
    meter.mergePeaks();
    return {};
}

/// The run recorded on `tape` played back into `out` (created on first use beside `path`), for
/// LoudnessPredictor, which reads a run's output beside its source. Returns "" or an error.
std::string replayInto(TempSampleFile& source, GainTapeFile& tape, double sampleRate, double gainDb, double limiterCeilingDbtp,
                       const std::string& path, std::unique_ptr<TempSampleFile>& out) {
    if (!out) {
        out = std::make_unique<TempSampleFile>();
        if (auto error = out->create(fs::path(path).parent_path().string(), source.channels(),
                                     TempSampleFile::memoryFor(double(source.frames()) * double(source.channels())));
            !error.empty())
            return error;
    } else if (auto error = out->clear(); !error.empty()) {
        return error;
    }
    return replayPass(
        source, sampleRate, gainDb, limiterCeilingDbtp, tape, [&out](const ConstAudioView& view) { return out->write(view); },
        "pass 2, replay", false, nullptr);
}

/// One run of pass 2: the gain it used and the loudness it gave.
struct Trial {
    double gainDb = 0, lufs = 0;
};

/// The gain of the next run, or nullopt when the loudness has stopped following the gain (a
/// limiter at work everywhere). Loudness is an increasing, concave function of the gain (linear
/// until the limiter engages, then ever flatter), so: a plain step the first time; once runs lie
/// on both sides of the target, a secant step inside that bracket (bisection if it falls
/// outside); while all runs are short of it, a secant step whose slope is extrapolated from the
/// last two chords (they shrink geometrically as the limiter takes over), aimed past the target
/// so that the next run brackets it.
std::optional<double> nextGain(const std::vector<Trial>& trials, double targetLufs) {
    const Trial& last = trials.back();
    const double miss = targetLufs - last.lufs;
    // Short of the target, aim a little past it (by 30 % of the miss): the concave curve makes
    // every extrapolation fall short, and a run past the target brackets it.
    const double aim = miss > 0 ? 1.3 * miss : miss;
    if (trials.size() == 1) return last.gainDb + aim;
    const Trial* below = nullptr; // loudest run under the target
    const Trial* above = nullptr; // quietest run over it
    for (const Trial& t : trials) {
        if (t.lufs < targetLufs && (!below || t.lufs > below->lufs)) below = &t;
        if (t.lufs > targetLufs && (!above || t.lufs < above->lufs)) above = &t;
    }
    if (below && above && above->gainDb > below->gainDb) {
        const double slope = (above->lufs - below->lufs) / (above->gainDb - below->gainDb);
        double next = below->gainDb + (targetLufs - below->lufs) / slope;
        const double margin = 0.02 * (above->gainDb - below->gainDb);
        if (!(next > below->gainDb + margin && next < above->gainDb - margin)) next = 0.5 * (below->gainDb + above->gainDb);
        return next;
    }
    const Trial& previous = trials[trials.size() - 2];
    if (last.gainDb == previous.gainDb) return last.gainDb + miss;
    double slope = (last.lufs - previous.lufs) / (last.gainDb - previous.gainDb);
    if (miss > 0 && slope < 0.02) return std::nullopt; // saturated
    if (trials.size() >= 3 && miss > 0) {
        const Trial& earlier = trials[trials.size() - 3];
        if (previous.gainDb != earlier.gainDb) {
            const double before = (previous.lufs - earlier.lufs) / (previous.gainDb - earlier.gainDb);
            if (before > slope && before > 0) slope = std::max(slope * slope / before, slope / 4);
        }
    }
    slope = std::clamp(slope, 0.02, 1.5);
    return std::clamp(last.gainDb + std::clamp(aim / slope, -30.0, 30.0), -80.0, 80.0);
}

} // namespace

// ---- the probe's plain loudness, kept from pass 1 ----------------------------------------------

void ProbeReference::reserve(std::int64_t frames, double sampleRate) {
    *this = {};
    sampleRate_ = sampleRate;
    const auto stepFrames = std::int64_t(std::llround(sampleRate / 10));
    const auto spacing = std::int64_t(std::llround(kProbeSpacingSeconds * sampleRate));
    const auto length = std::int64_t(std::llround(kProbeSegmentSeconds * sampleRate));
    // The stretches fall on the meter's steps only where a step is a whole number of frames and
    // the stretches' spacing, offset and length are whole numbers of steps.
    if (stepFrames < 1 || double(stepFrames) * 10 != sampleRate || spacing % stepFrames != 0 ||
        ((spacing - length) / 2) % stepFrames != 0 || length % stepFrames != 0 || frames < spacing) {
        broken_ = true;
        return;
    }
    stepFrames_ = int(stepFrames);
    spacingSteps_ = spacing / stepFrames;
    offsetSteps_ = (spacing - length) / 2 / stepFrames;
    perStretch_ = int(length / stepFrames);
    steps_.reserve(std::size_t(frames / spacing) * std::size_t(perStretch_));
}

void ProbeReference::tap(void* context, std::int64_t step, double energy) noexcept {
    auto& self = *static_cast<ProbeReference*>(context);
    if (self.broken_) return;
    if (step != self.nextStep_) { // the meter was reset, or a step was skipped: keep nothing
        self.broken_ = true;
        return;
    }
    ++self.nextStep_;
    const std::int64_t j = step % self.spacingSteps_ - self.offsetSteps_;
    if (j < 0 || j >= self.perStretch_) return;
    // Stretch step / spacing, step j: the steps arrive in order, so it is the next slot.
    if (self.steps_.size() == self.steps_.capacity()) return; // past the room reserved: not kept
    self.steps_.push_back(energy);
}

std::optional<double> ProbeReference::lufs(std::int64_t frames, double sampleRate) const {
    if (broken_ || sampleRate != sampleRate_) return std::nullopt;
    const std::vector<ProbeSegment> stretches = probeSegments(frames, sampleRate);
    const std::size_t needed = stretches.size() * std::size_t(perStretch_);
    if (stretches.empty() || steps_.size() < needed) return std::nullopt;
    ProbeSteps measured = probeSteps(stretches.size(), stretches.front().frames, sampleRate);
    if (measured.stepFrames != stepFrames_ || measured.stepsPerSegment != perStretch_) return std::nullopt;
    std::copy_n(steps_.begin(), needed, measured.steps.begin());
    return probeLufs(measured);
}

std::string targetChainYaml(int channels, double gainDb, double limiterCeilingDbtp, double trimDb) {
    return pass2GraphYaml(channels, gainDb, limiterCeilingDbtp, trimDb);
}

// ---- predicting the loudness at another gain ------------------------------------------------

std::string LoudnessPredictor::measure(TempSampleFile& source, TempSampleFile& result, double gainDb, double sampleRate) {
    const int channels = source.channels();
    steps_.clear();
    if (channels < 1 || channels > kLoudnessMaxChannels || result.channels() != channels || result.frames() != source.frames())
        return "internal: pass 2's result does not match its source";
    KWeightingStage shelf, highpass;
    kWeightingStages(sampleRate, shelf, highpass);
    const std::vector<double> weights = defaultChannelWeights(channels);
    stepFrames_ = std::max(1, int(std::lround(sampleRate / 10)));
    const double gain = std::pow(10.0, gainDb / 20);
    // Filter state per channel, for y and l.
    using Filter = KFilter;
    const auto count = std::size_t(channels);
    std::vector<Filter> whole(count), limited(count);
    std::vector<char> limitedActive(count, 0);
    if (auto error = source.rewind(); !error.empty()) return error;
    if (auto error = result.rewind(); !error.empty()) return error;
    AudioBuffer xs(channels, kPassBlockFrames), ys(channels, kPassBlockFrames);
    std::vector<double> weighted(count * std::size_t(kPassBlockFrames)); // K(y), channel after channel
    Step step;
    int inStep = 0;
    double peakReductionDb = 0;
    const double peakDecay = std::exp(-1 / sampleRate); // the largest recent reduction, forgotten over ~1 s
    for (std::int64_t done = 0; done < source.frames();) {
        const int want = int(std::min<std::int64_t>(kPassBlockFrames, source.frames() - done));
        if (source.read(xs.view().frameRange(0, want)) != want || result.read(ys.view().frameRange(0, want)) != want)
            return "cannot read back the temporary files of pass 2";
        // K(y) of the block, one channel at a time: a tight recursion, no branches.
        for (std::size_t k = 0; k < count; ++k) {
            double* out = weighted.data() + k * std::size_t(kPassBlockFrames);
            const float* in = ys.channel(int(k));
            for (int f = 0; f < want; ++f) out[f] = whole[k].run(shelf, highpass, double(in[f]));
        }
        for (int f = 0; f < want; ++f) {
            // The frame's gain reduction (one gain for all channels: read on the largest sample).
            double x = 0, y = 0;
            for (int c = 0; c < channels; ++c)
                if (std::fabs(double(xs.channel(c)[f])) > std::fabs(x))
                    x = double(xs.channel(c)[f]), y = double(ys.channel(c)[f]);
            x *= gain;
            // Left alone (y = g x to float precision, under 1e-4 dB of reduction): no logarithm.
            double reductionDb = 0;
            if (std::fabs(y) < (1 - 1.2e-5) * std::fabs(x) && std::fabs(x) > 1e-6)
                reductionDb = -20 * std::log10(std::fabs(y / x));
            // Share of a gain change the frame follows: all of it unlimited, none at the peak
            // of a reduction, 1 - R/Rpeak on its release (R = Rpeak c^k grows by d c^k).
            peakReductionDb = std::max(reductionDb, peakReductionDb * peakDecay);
            const double stays = reductionDb > 0 ? reductionDb / peakReductionDb : 0.0; // no division when unlimited
            for (int c = 0; c < channels; ++c) {
                const auto k = std::size_t(c);
                const double sample = double(ys.channel(c)[f]);
                const double ky = weighted[k * std::size_t(kPassBlockFrames) + std::size_t(f)];
                // K(l) only while l or its filter's memory is not zero (most frames are unlimited).
                double kl = 0;
                if (stays != 0 || limitedActive[k]) {
                    kl = limited[k].run(shelf, highpass, stays * sample);
                    limitedActive[k] = stays != 0 || limited[k].magnitude() > 1e-30;
                    if (!limitedActive[k]) limited[k] = {};
                }
                const double w = weights[k];
                if (kl == 0) { // most frames: v = y
                    step.a += w * ky * ky;
                    continue;
                }
                const double kv = ky - kl; // K is linear: K(v) = K(y) - K(l)
                step.a += w * kv * kv;
                step.b += w * 2 * kv * kl;
                step.c += w * kl * kl;
            }
            if (++inStep == stepFrames_) {
                steps_.push_back(step);
                step = {};
                inStep = 0;
            }
        }
        done += want;
    }
    return {};
}

double LoudnessPredictor::integratedLufs(double deltaDb) const {
    const double a = std::pow(10.0, deltaDb / 20);
    const double blockFrames = 4.0 * stepFrames_;
    double sumAbsolute = 0, sumKept = 0;
    int countAbsolute = 0, countKept = 0;
    std::vector<double>& energies = energies_;
    energies.clear();
    for (std::size_t j = 3; j < steps_.size(); ++j) { // 400 ms blocks, a new one every 100 ms
        double e = 0;
        for (std::size_t k = j - 3; k <= j; ++k) e += steps_[k].a * a * a + steps_[k].b * a + steps_[k].c;
        e = std::max(0.0, e / blockFrames);
        energies.push_back(e);
        if (-0.691 + 10 * std::log10(e) > -70) sumAbsolute += e, ++countAbsolute;
    }
    if (countAbsolute == 0) return -HUGE_VAL;
    const double relativeGate = -0.691 + 10 * std::log10(sumAbsolute / countAbsolute) - 10;
    for (double e : energies) {
        const double l = -0.691 + 10 * std::log10(e);
        if (l > -70 && l > relativeGate) sumKept += e, ++countKept;
    }
    return countKept == 0 ? -HUGE_VAL : -0.691 + 10 * std::log10(sumKept / countKept);
}

std::optional<double> LoudnessPredictor::deltaFor(double targetLufs) const {
    constexpr double kSearchDb = 6;
    double lo = -kSearchDb, hi = kSearchDb;
    if (steps_.size() < 4 || !(integratedLufs(lo) < targetLufs) || !(integratedLufs(hi) > targetLufs)) return std::nullopt;
    for (int i = 0; i < 50; ++i) {
        const double mid = 0.5 * (lo + hi);
        (integratedLufs(mid) < targetLufs ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

std::string deliverToTarget(TempSampleFile& source, const OutputFigures& before, const LoudnessTarget& target,
                            const std::string& path, io::OutputFormat format, const std::vector<std::string>& protectedPaths,
                            io::AudioFileWriter& writer, TargetResult& result, bool showProgress,
                            const volatile std::sig_atomic_t* interrupted, std::unique_ptr<TempSampleFile>* spent,
                            const ProbeReference* kept) {
    result = {};
    result.before = before;
    if (double(before.frames) < kLoudnessBlockSeconds * before.sampleRate)
        return "'" + path + "': the output is " + formatNumber(double(before.frames) / before.sampleRate, "%.3f") +
               " s long, shorter than one 400 ms loudness block (BS.1770): its loudness is not defined, so it cannot be "
               "brought to " +
               formatNumber(target.integratedLufs) + " LUFS";
    if (!std::isfinite(before.integratedLufs))
        return "'" + path + "': the output is silent or quieter than the -70 LUFS gate: there is no loudness to bring to " +
               formatNumber(target.integratedLufs) + " LUFS";
    const auto started = std::chrono::steady_clock::now();
    const auto fail = [&](std::string error) {
        writer.discard();
        result.pass2Seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        return error;
    };
    const double plainGainDb = target.integratedLufs - before.integratedLufs;
    if (plainGainDb > target.maxGainDb)
        return "'" + path + "' reads " + formatNumber(before.integratedLufs, "%.1f") + " LUFS: reaching " +
               formatNumber(target.integratedLufs) + " LUFS needs " + formatNumber(plainGainDb, "%+.1f") +
               " dB of gain, more than --max-gain " + formatNumber(target.maxGainDb) +
               " dB (check the levels, or raise --max-gain)";
    double limiterCeiling = target.ceilingDbtp - kLimiterMarginDb;
    const double aimLufs = target.integratedLufs + kOverAimLu;
    double gainDb = plainGainDb;

    // The probe: where the limiter will work, how much loudness it takes off, measured on a
    // sample of the output; the first run's gain makes up for it (and aims over the target).
    const bool mayLimit = !(before.truePeakDbtp + plainGainDb < limiterCeiling - 0.5);
    if (mayLimit && double(before.frames) >= kProbeMinSeconds * before.sampleRate) {
        const ProbeHalves halves = splitProbe(probeSegments(before.frames, before.sampleRate));
        // The stretches as they are: pass 1 measured them already, else they are read back.
        double reference = -HUGE_VAL;
        if (const auto lufs = kept ? kept->lufs(before.frames, before.sampleRate) : std::nullopt)
            reference = *lufs;
        else if (auto error = probeLoudness(source, halves, before.sampleRate, std::nullopt, limiterCeiling, reference, false,
                                            interrupted);
                 !error.empty())
            return fail(error);
        if (std::isfinite(reference)) {
            // h(g): the whole output's loudness at gain g, predicted as its plain loudness plus the
            // loss on the sample; increasing in g, ever flatter as the limiter takes over.
            std::vector<Trial> probes;
            double g = plainGainDb;
            for (int k = 0; k < 2; ++k) {
                double lufs = -HUGE_VAL;
                if (auto error =
                        probeLoudness(source, halves, before.sampleRate, g, limiterCeiling, lufs, showProgress, interrupted);
                    !error.empty())
                    return fail(error);
                ++result.probeRuns;
                if (!std::isfinite(lufs)) break;
                const double loss = std::min(0.0, lufs - (reference + g));
                result.probeLossDb = loss;
                probes.push_back({g, before.integratedLufs + g + loss});
                if (k == 0 && loss > -kProbeNoLossLu) break; // nothing to make up for
                if (k == 0) {
                    g = plainGainDb + kOverAimLu - loss; // what the loss at the plain gain asks for
                } else {
                    const Trial& a = probes[0];
                    const Trial& b = probes[1];
                    const double slope = std::clamp((b.lufs - a.lufs) / (b.gainDb - a.gainDb), 0.05, 1.0);
                    g = b.gainDb + (aimLufs - b.lufs) / slope;
                }
            }
            if (!probes.empty()) gainDb = probes.size() == 1 ? probes[0].gainDb : std::max(plainGainDb, g);
        }
    }
    gainDb = std::min(gainDb, target.maxGainDb);

    // Each run records its limiter's gains (memory, or a scratch file beside the output); only
    // the run that lands is replayed and encoded, once.
    GainTapeFile tape;
    struct HandOver { // the tape's scratch goes to `spent` on every way out
        GainTapeFile& tape;
        std::unique_ptr<TempSampleFile>* spent;
        ~HandOver() {
            if (spent) *spent = tape.takeFile();
        }
    } handOver{tape, spent};
    // About as long as its source: past the memory's share, straight to the file (RenderCommit.cpp).
    if (auto error = tape.create(fs::path(path).parent_path().string(), source.frames()); !error.empty()) return fail(error);
    std::unique_ptr<TempSampleFile> replayed; // a run's output, only for LoudnessPredictor
    std::vector<Trial> trials;
    LoudnessPredictor predictor;
    struct Followed {
        double lufs = 0;          ///< the run the prediction was made from, LUFS
        double predictedRise = 0; ///< the change it predicted, LU
    };
    Followed followed; ///< the prediction the current run follows, when `following`
    bool following = false;
    double modelTrust = 1; ///< actual / predicted change of the last one that was followed
    PassOutcome outcome;
    bool saturated = false;
    for (int pass = 1; pass <= kMaxPass2Runs; ++pass) {
        const std::string label = pass == 1 ? "pass 2" : "pass 2, try " + std::to_string(pass);
        if (auto error =
                runPass(source, before.sampleRate, gainDb, limiterCeiling, tape, outcome, label, showProgress, interrupted);
            !error.empty())
            return fail(error);
        result.pass2Runs = pass;
        result.gainDb = gainDb;
        result.trimDb = 0;
        result.limiterCeilingDbtp = limiterCeiling;
        result.after = outcome.figures;
        result.maxGainReductionDb = outcome.maxGainReductionDb;
        result.meanGainReductionDb = outcome.meanGainReductionDb;
        result.limitedPercent = outcome.limitedPercent;
        const double lufs = outcome.figures.integratedLufs;
        double peak = outcome.figures.truePeakDbtp;
        if (!std::isfinite(lufs)) break;

        // The trim that lands this run: a cut of up to kMaxTrimDb, a lift within the peak's room.
        const double wanted = target.integratedLufs - lufs;
        std::optional<double> trim;
        if (std::fabs(wanted) <= kLandingToleranceLu && !(peak > target.ceilingDbtp - kTrimPeakMarginDb)) {
            trim = 0.0;
        } else {
            const double low = -kMaxTrimDb;
            const double high = std::isfinite(peak) ? target.ceilingDbtp - kTrimPeakMarginDb - peak : kMaxTrimDb;
            const double t = std::clamp(wanted, low, std::max(low, high));
            if (low <= high && std::fabs(t - wanted) <= kLandingToleranceLu) trim = t;
        }
        if (trim) {
            WrittenSampleMeter written;
            ++result.encodes;
            if (auto error = encodeReplayed(source, tape, before.sampleRate, gainDb, limiterCeiling, *trim, path, format,
                                            protectedPaths, writer, written, showProgress, interrupted);
                !error.empty())
                return fail(error);
            result.trimDb = *trim;
            result.after = figuresOf(written.meter());
            const double writtenLufs = result.after.integratedLufs;
            peak = result.after.truePeakDbtp;
            if (std::isfinite(writtenLufs) && std::fabs(writtenLufs - target.integratedLufs) <= kAcceptToleranceLu &&
                !(peak > target.ceilingDbtp)) {
                result.scratchBytes = tape.fileBytes() + (replayed ? replayed->fileBytes() : 0);
                result.pass2Seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
                return {};
            }
            // What the writer stores missed (quantisation can add to a peak): search on.
            writer.discard();
        }
        if (pass == kMaxPass2Runs) break;
        if (peak > target.ceilingDbtp) limiterCeiling -= (peak - target.ceilingDbtp) + 0.01;
        trials.push_back({gainDb, lufs});
        auto next = nextGain(trials, aimLufs);
        if (!next) {
            saturated = true;
            break;
        }
        // The run's own result predicts the gain that lands. The model misses what only starts to
        // be limited at the new gain, so its predicted change is scaled by how the last followed
        // prediction came true (actual / predicted change); it aims over the target, so that a
        // cut after the limiter lands it. Kept when it falls inside the bracket of earlier runs.
        if (following && std::fabs(followed.predictedRise) > 0.01)
            modelTrust = std::clamp((lufs - followed.lufs) / followed.predictedRise, 0.25, 1.5);
        following = false;
        // A prediction that cannot be made (an unreadable scratch file fails the encoding anyway)
        // leaves the plain search.
        const bool measured = replayInto(source, tape, before.sampleRate, gainDb, limiterCeiling, path, replayed).empty() &&
                              predictor.measure(source, *replayed, gainDb, before.sampleRate).empty();
        const double base = measured ? predictor.integratedLufs(0) : -HUGE_VAL;
        const double miss = aimLufs - lufs;
        if (const auto delta = std::isfinite(base) ? predictor.deltaFor(base + miss / modelTrust) : std::nullopt) {
            const double predicted = gainDb + *delta;
            double low = -HUGE_VAL, high = HUGE_VAL; // gains known to land under / over the aim
            for (const Trial& t : trials) {
                if (t.lufs < aimLufs) low = std::max(low, t.gainDb);
                if (t.lufs > aimLufs) high = std::min(high, t.gainDb);
            }
            if (predicted > low && predicted < high && predicted <= target.maxGainDb) {
                next = predicted;
                followed = Followed{lufs, predictor.integratedLufs(*delta) - base};
                following = true;
            }
        }
        if (gainDb >= target.maxGainDb && *next > gainDb) break; // no more gain than --max-gain
        gainDb = std::min(*next, target.maxGainDb);
    }

    const double lufs = result.after.integratedLufs;
    fail({});
    return "cannot bring '" + path + "' to " + formatNumber(target.integratedLufs) + " LUFS under a " +
           formatNumber(target.ceilingDbtp) + " dBTP ceiling: after " + std::to_string(result.pass2Runs) +
           " runs of pass 2 (last gain " + formatNumber(result.gainDb, "%+.2f") + " dB, " +
           formatNumber(result.meanGainReductionDb, "%.1f") + " dB mean gain reduction) it reads " + formatLevel(lufs, "LUFS") +
           ", true peak " + formatLevel(result.after.truePeakDbtp, "dBTP") +
           (saturated ? "; more gain only adds limiting: choose a lower target or a higher --ceiling" : "");
}

} // namespace sg::cli
