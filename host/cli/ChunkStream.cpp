#include "host/cli/ChunkStream.h"

#include <algorithm>
#include <cstring>

namespace sg::cli {

SlotQueue::SlotQueue() : slots_(kChunkSlots) {}

void SlotQueue::push(int slot) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        slots_[std::size_t((head_ + count_) % kChunkSlots)] = slot;
        ++count_;
    }
    ready_.notify_all();
}

int SlotQueue::pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return count_ > 0 || closed_ || cancelled_; });
    if (cancelled_ || count_ == 0) return -1;
    const int slot = slots_[std::size_t(head_)];
    head_ = (head_ + 1) % kChunkSlots;
    --count_;
    return slot;
}

void SlotQueue::close() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        closed_ = true;
    }
    ready_.notify_all();
}

void SlotQueue::cancel() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        cancelled_ = true;
    }
    ready_.notify_all();
}

ChunkStream::ChunkStream(int channels, int chunkFrames) {
    for (int s = 0; s < kChunkSlots; ++s) {
        buffers.emplace_back(channels, chunkFrames);
        free.push(s);
    }
    frames.assign(kChunkSlots, 0);
    errorFrame.assign(kChunkSlots, -1);
    errors.resize(kChunkSlots);
}

void ChunkStream::cancel() {
    free.cancel();
    full.cancel();
}

void copyFrames(const ConstAudioView& from, int fromStart, const AudioView& to, int toStart, int frames) {
    for (int c = 0; c < to.channels; ++c)
        std::memcpy(to.channel(c) + toStart, from.channel(c) + fromStart, sizeof(float) * std::size_t(frames));
}

int ChunkSource::read(const AudioView& block) {
    const std::int64_t blockEnd = position_ + block.frames;
    int done = 0;
    while (done < block.frames) {
        if (slot_ >= 0) {
            const auto s = std::size_t(slot_);
            if (stream_.errorFrame[s] >= 0 && stream_.errorFrame[s] < blockEnd) {
                error_ = stream_.errors[s];
                return -1;
            }
            if (offset_ < stream_.frames[s]) {
                const int frames = std::min(block.frames - done, stream_.frames[s] - offset_);
                copyFrames(stream_.buffers[s].view(), offset_, block, done, frames);
                offset_ += frames;
                done += frames;
                position_ += frames;
                continue;
            }
            stream_.free.push(slot_);
            slot_ = -1;
        }
        if (ended_) break;
        slot_ = stream_.full.pop();
        offset_ = 0;
        if (slot_ < 0) ended_ = true; // the end (the producer closed the stream)
    }
    return done;
}

bool ChunkSource::borrow(int frames, ConstAudioView& out) {
    if (ended_) return false;
    // A read error that this block reaches stays with read(), which reports it.
    if (slot_ >= 0 && stream_.errorFrame[std::size_t(slot_)] >= 0 && stream_.errorFrame[std::size_t(slot_)] < position_ + frames)
        return false;
    if (slot_ >= 0 && offset_ >= stream_.frames[std::size_t(slot_)]) {
        stream_.free.push(slot_);
        slot_ = -1;
    }
    if (slot_ < 0) {
        slot_ = stream_.full.pop();
        offset_ = 0;
        if (slot_ < 0) {
            ended_ = true;
            return false;
        }
    }
    const auto s = std::size_t(slot_);
    if (stream_.errorFrame[s] >= 0 && stream_.errorFrame[s] < position_ + frames) return false;
    if (stream_.frames[s] - offset_ < frames) return false;
    out = stream_.buffers[s].view().frameRange(offset_, frames);
    offset_ += frames;
    position_ += frames;
    return true;
}

bool ChunkSink::write(const ConstAudioView& block) {
    if (consumerFailed_.load(std::memory_order_acquire)) return false;
    for (int done = 0; done < block.frames;) {
        if (slot_ < 0) {
            slot_ = stream_.free.pop();
            fill_ = 0;
            if (slot_ < 0) return false; // cancelled
        }
        const int frames = std::min(block.frames - done, chunkFrames_ - fill_);
        copyFrames(block, done, stream_.buffers[std::size_t(slot_)].view(), fill_, frames);
        fill_ += frames;
        done += frames;
        if (fill_ == chunkFrames_) submit();
    }
    return true;
}

bool ChunkSink::reserve(int frames, AudioView& out) {
    if (consumerFailed_.load(std::memory_order_acquire)) return false;
    if (slot_ < 0) {
        slot_ = stream_.free.pop();
        fill_ = 0;
        if (slot_ < 0) return false; // cancelled: write() says so
    }
    if (frames > chunkFrames_ - fill_) return false;
    out = stream_.buffers[std::size_t(slot_)].view().frameRange(fill_, frames);
    return true;
}

bool ChunkSink::commit(int frames) {
    if (consumerFailed_.load(std::memory_order_acquire)) return false;
    fill_ += frames;
    if (fill_ == chunkFrames_) submit();
    return true;
}

void ChunkSink::finish() {
    if (slot_ >= 0 && fill_ > 0) submit();
    stream_.full.close();
}

void ChunkSink::submit() {
    stream_.frames[std::size_t(slot_)] = fill_;
    stream_.full.push(slot_);
    slot_ = -1;
}

ChunkConsumer::ChunkConsumer(int channels, int chunkFrames, ChunkConsume consume)
    : fanOut_(channels, chunkFrames, std::vector<ChunkConsume>{std::move(consume)}) {}

bool ChunkConsumer::Sink::write(const ConstAudioView& block) {
    for (int done = 0; done < block.frames;) {
        AudioView out;
        if (!fanOut_.reserve(std::min(block.frames - done, fanOut_.chunkFrames()), out)) return false;
        copyFrames(block, done, out, 0, out.frames);
        fanOut_.commit(out.frames);
        done += out.frames;
    }
    return !fanOut_.failed();
}

bool ChunkConsumer::Sink::reserve(int frames, AudioView& out) {
    return frames <= fanOut_.chunkFrames() && fanOut_.reserve(frames, out);
}

bool ChunkConsumer::Sink::commit(int frames) {
    fanOut_.commit(frames);
    return !fanOut_.failed();
}

ChunkFanOut::ChunkFanOut(int channels, int chunkFrames, std::size_t consumers, bool quantised)
    : channels_(channels), chunkFrames_(chunkFrames), remaining_(new std::atomic<int>[kChunkSlots]) {
    for (int s = 0; s < kChunkSlots; ++s) {
        if (quantised)
            ints_.emplace_back(std::size_t(chunkFrames) * std::size_t(channels), 0);
        else
            buffers_.emplace_back(channels, chunkFrames);
        remaining_[std::size_t(s)].store(0, std::memory_order_relaxed);
        free_.push(s);
    }
    frames_.assign(kChunkSlots, 0);
    for (std::size_t c = 0; c < consumers; ++c) full_.push_back(std::make_unique<SlotQueue>());
}

ChunkFanOut::ChunkFanOut(int channels, int chunkFrames, std::vector<ChunkConsume> consumers)
    : ChunkFanOut(channels, chunkFrames, consumers.size(), false) {
    consume_ = std::move(consumers);
    for (std::size_t c = 0; c < consume_.size(); ++c) threads_.emplace_back([this, c] { run(c); });
}

ChunkFanOut::ChunkFanOut(int channels, int chunkFrames, std::vector<QuantisedConsume> consumers)
    : ChunkFanOut(channels, chunkFrames, consumers.size(), true) {
    consumeQuantised_ = std::move(consumers);
    for (std::size_t c = 0; c < consumeQuantised_.size(); ++c) threads_.emplace_back([this, c] { run(c); });
}

ChunkFanOut::~ChunkFanOut() { finish(); }

bool ChunkFanOut::nextSlot(int frames) {
    if (failed_.load(std::memory_order_acquire)) return false;
    if (slot_ >= 0 && fill_ + frames > chunkFrames_) submit();
    if (slot_ < 0) {
        slot_ = free_.pop();
        fill_ = 0;
        if (slot_ < 0) return false;
    }
    return true;
}

bool ChunkFanOut::reserve(int frames, AudioView& out) {
    if (buffers_.empty() || !nextSlot(frames)) return false;
    out = buffers_[std::size_t(slot_)].view().frameRange(fill_, std::min(frames, chunkFrames_ - fill_));
    return true;
}

bool ChunkFanOut::reserveQuantised(int frames, std::int32_t*& out, int& count) {
    if (ints_.empty() || !nextSlot(frames)) return false;
    out = ints_[std::size_t(slot_)].data() + std::size_t(fill_) * std::size_t(channels_);
    count = std::min(frames, chunkFrames_ - fill_);
    return true;
}

void ChunkFanOut::commit(int frames) {
    fill_ += frames;
    if (fill_ >= chunkFrames_) submit();
}

void ChunkFanOut::submit() {
    const auto s = std::size_t(slot_);
    frames_[s] = fill_;
    remaining_[s].store(int(full_.size()), std::memory_order_relaxed); // published by the pushes
    for (auto& queue : full_) queue->push(slot_);
    if (full_.empty()) free_.push(slot_);
    slot_ = -1;
}

std::string ChunkFanOut::finish() {
    if (threads_.empty()) return error_;
    if (slot_ >= 0 && fill_ > 0) submit();
    for (auto& queue : full_) queue->close();
    for (auto& thread : threads_) thread.join();
    threads_.clear();
    return error_;
}

void ChunkFanOut::run(std::size_t consumer) {
    SlotQueue& queue = *full_[consumer];
    for (int slot = queue.pop(); slot >= 0; slot = queue.pop()) {
        const auto s = std::size_t(slot);
        if (!failed_.load(std::memory_order_relaxed)) {
            std::string error = ints_.empty() ? consume_[consumer](ConstAudioView(buffers_[s].view().frameRange(0, frames_[s])))
                                              : consumeQuantised_[consumer](ints_[s].data(), frames_[s]);
            if (!error.empty()) {
                {
                    const std::lock_guard<std::mutex> lock(errorMutex_);
                    if (error_.empty()) error_ = std::move(error);
                }
                failed_.store(true, std::memory_order_release);
            }
        }
        // The last consumer done with the slot frees it (after a failure: keep recycling).
        if (remaining_[s].fetch_sub(1, std::memory_order_acq_rel) == 1) free_.push(slot);
    }
}

ChunkProducer::ChunkProducer(int channels, int chunkFrames, Produce produce)
    : produce_(std::move(produce)), stream_(channels, chunkFrames), source_(stream_, channels) {
    thread_ = std::thread([this, chunkFrames] { run(chunkFrames); });
}

ChunkProducer::~ChunkProducer() {
    stream_.cancel();
    thread_.join();
}

void ChunkProducer::run(int chunkFrames) {
    for (std::int64_t position = 0;;) {
        const int slot = stream_.free.pop();
        if (slot < 0) return; // cancelled
        const auto s = std::size_t(slot);
        std::int64_t got = produce_(stream_.buffers[s].view(), stream_.errors[s]);
        stream_.errorFrame[s] = -1;
        if (got < 0) {
            stream_.errorFrame[s] = position;
            got = 0;
        }
        stream_.frames[s] = int(got);
        position += got;
        stream_.full.push(slot);
        if (stream_.errorFrame[s] >= 0 || got < chunkFrames) {
            stream_.full.close();
            return;
        }
    }
}

} // namespace sg::cli
