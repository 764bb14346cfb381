#include "host/live/FileStreams.h"

#include <algorithm>
#include <chrono>

namespace sg::live {

// ---- FileFeeder ---------------------------------------------------------------------------------

FileFeeder::~FileFeeder() { stop(); }

std::string FileFeeder::open(const std::string& path) {
    if (auto error = reader_.open(path); !error.empty()) return error;
    chunk_.resize(reader_.channels(), io::kChunkFrames);
    chunkFrames_ = chunkOffset_ = 0;
    ended_ = false;
    return {};
}

bool FileFeeder::fillOnce() {
    for (;;) {
        if (chunkOffset_ == chunkFrames_) {
            if (ended_) return true;
            std::int64_t got = reader_.read(chunk_.view());
            if (got == 0 && loop_ && reader_.frames() > 0) {
                if (auto error = reader_.seek(0); !error.empty()) {
                    error_ = error;
                    failed_.store(true, std::memory_order_release);
                    return true;
                }
                got = reader_.read(chunk_.view());
            }
            if (got < 0) {
                error_ = reader_.error();
                failed_.store(true, std::memory_order_release);
                ended_ = true;
                return true;
            }
            if (got == 0) {
                ended_ = true;
                return true;
            }
            chunkFrames_ = int(got);
            chunkOffset_ = 0;
        }
        const int wrote = ring_->write(chunk_.view().frameRange(chunkOffset_, chunkFrames_ - chunkOffset_));
        chunkOffset_ += wrote;
        if (chunkOffset_ < chunkFrames_) return true; // the ring is full
    }
}

std::string FileFeeder::prefill(AudioRing& ring, bool loop) {
    ring_ = &ring;
    loop_ = loop;
    fillOnce();
    return error();
}

void FileFeeder::start(AudioRing& ring, bool loop) {
    ring_ = &ring;
    loop_ = loop;
    stop_ = false;
    thread_ = std::thread([this] {
        while (!stop_.load(std::memory_order_acquire)) {
            fillOnce();
            if (failed()) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(kPollMilliseconds));
        }
    });
}

void FileFeeder::stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

// ---- TeeWriter ----------------------------------------------------------------------------------

TeeWriter::~TeeWriter() { discard(); }

std::string TeeWriter::open(const std::string& path, io::OutputFormat format, double sampleRate, int channels,
                            const std::vector<std::string>& protectedPaths) {
    chunk_.resize(channels, io::kChunkFrames);
    return writer_.open(path, format, sampleRate, channels, protectedPaths);
}

void TeeWriter::drain() {
    if (!ring_ || failed()) return;
    for (;;) {
        const int got = ring_->read(chunk_.view());
        if (got == 0) return;
        if (auto error = writer_.write(ConstAudioView(chunk_.view().frameRange(0, got))); !error.empty()) {
            error_ = error;
            failed_.store(true, std::memory_order_release);
            return;
        }
        framesWritten_.fetch_add(got, std::memory_order_relaxed);
    }
}

void TeeWriter::start(AudioRing& ring) {
    ring_ = &ring;
    stop_ = false;
    thread_ = std::thread([this] {
        while (!stop_.load(std::memory_order_acquire)) {
            drain();
            std::this_thread::sleep_for(std::chrono::milliseconds(kPollMilliseconds));
        }
    });
}

void TeeWriter::stopThread() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
}

std::string TeeWriter::finish() {
    stopThread();
    drain();
    if (failed()) {
        writer_.discard();
        return error_;
    }
    if (auto error = writer_.commit(); !error.empty()) return error;
    return {};
}

void TeeWriter::discard() {
    stopThread();
    writer_.discard();
}

// ---- excerpt ------------------------------------------------------------------------------------

AudioBuffer readExcerpt(const std::string& path, std::int64_t start, std::int64_t frames) {
    io::AudioFileReader reader;
    if (!reader.open(path).empty()) return {};
    start = std::clamp<std::int64_t>(start, 0, reader.frames());
    frames = std::clamp<std::int64_t>(frames, 0, reader.frames() - start);
    if (frames <= 0 || !reader.seek(start).empty()) return {};
    AudioBuffer excerpt(reader.channels(), int(frames));
    for (std::int64_t done = 0; done < frames;) {
        const int want = int(std::min<std::int64_t>(io::kChunkFrames, frames - done));
        const std::int64_t got = reader.read(excerpt.view().frameRange(int(done), want));
        if (got <= 0) return {};
        done += got;
    }
    return excerpt;
}

} // namespace sg::live
