// The file side of a live session, on threads of their own: a reader that keeps the input ring
// full (with --loop it seeks back to the start at the end), and a tee writer that empties the
// output ring into a file. Both poll their ring every kPollMilliseconds and never make the
// audio thread wait: the ring holds far more than one poll period (see LiveSession.cpp for the
// sizes), so the reader stays ahead and the writer keeps up.
#pragma once

#include "core/Buffer.h"
#include "host/io/AudioFile.h"
#include "host/live/AudioRing.h"

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace sg::live {

/// How often the reader and writer threads look at their ring, in ms.
inline constexpr int kPollMilliseconds = 4;

/// Reads an audio file into an AudioRing on its own thread.
class FileFeeder {
public:
    FileFeeder() = default;
    ~FileFeeder(); ///< stops the thread
    FileFeeder(const FileFeeder&) = delete;
    FileFeeder& operator=(const FileFeeder&) = delete;

    /// Opens the file. Returns "" or a message naming it. Control thread.
    std::string open(const std::string& path);
    const io::AudioFileReader& reader() const { return reader_; }

    /// Fills `ring` as far as it goes, on the calling thread (before the stream starts).
    /// Returns "" or the reader's error.
    std::string prefill(AudioRing& ring, bool loop);
    /// Keeps `ring` filled from a thread of its own until stop().
    void start(AudioRing& ring, bool loop);
    /// Stops and joins the thread. Safe to call twice.
    void stop();
    /// True once a read failed (truncated file, I/O error); error() says why. Any thread.
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    std::string error() const { return failed() ? error_ : std::string(); }

private:
    bool fillOnce(); // true when the ring is full or the file ended (nothing more to do now)

    io::AudioFileReader reader_;
    AudioBuffer chunk_;
    int chunkFrames_ = 0, chunkOffset_ = 0;
    bool ended_ = false, loop_ = false;
    AudioRing* ring_ = nullptr;
    std::thread thread_;
    std::atomic<bool> stop_{false}, failed_{false};
    std::string error_; // written before failed_ is set
};

/// Writes an AudioRing to a file (temporary file, renamed into place by finish()).
class TeeWriter {
public:
    TeeWriter() = default;
    ~TeeWriter(); ///< stops the thread; the file is discarded unless finish() committed it
    TeeWriter(const TeeWriter&) = delete;
    TeeWriter& operator=(const TeeWriter&) = delete;

    /// Creates the temporary file. Returns "" or a message naming the file. Control thread.
    std::string open(const std::string& path, io::OutputFormat format, double sampleRate, int channels,
                     const std::vector<std::string>& protectedPaths);
    /// Empties `ring` into the file from a thread of its own.
    void start(AudioRing& ring);
    /// Stops the thread, writes what is left in the ring and commits the file. Returns "" or
    /// the first error (then nothing is left behind).
    std::string finish();
    /// Stops the thread and removes the temporary file.
    void discard();
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    std::string error() const { return failed() ? error_ : std::string(); }
    std::int64_t framesWritten() const { return framesWritten_.load(std::memory_order_relaxed); }
    const std::string& path() const { return writer_.path(); }

private:
    void drain();
    void stopThread();

    io::AudioFileWriter writer_;
    AudioBuffer chunk_;
    AudioRing* ring_ = nullptr;
    std::thread thread_;
    std::atomic<bool> stop_{false}, failed_{false};
    std::atomic<std::int64_t> framesWritten_{0};
    std::string error_;
};

/// Reads up to `frames` frames of `path` from frame `start` (for calibration). Returns an empty
/// buffer on any error.
AudioBuffer readExcerpt(const std::string& path, std::int64_t start, std::int64_t frames);

} // namespace sg::live
