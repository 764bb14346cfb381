// A lock-free single-producer, single-consumer queue of trivially copyable items.
//
// Lamport's ring: the producer owns `tail`, the consumer owns `head`; each publishes its index
// with a release store and reads the other's with an acquire load, so an item is fully written
// before the consumer can see it. Indices count up forever (64-bit: no wrap in practice) and are
// masked into a power-of-two array, so "full" and "empty" are never ambiguous. After
// construction neither side allocates, locks or blocks: push() and pop() are wait-free.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

namespace sg::live {

template <typename T> class SpscQueue {
    static_assert(std::is_trivially_copyable_v<T>, "items are copied with plain assignment");

public:
    /// Room for at least `capacity` items (rounded up to a power of two). Allocates.
    explicit SpscQueue(std::size_t capacity) {
        std::size_t size = 1;
        while (size < capacity) size <<= 1;
        items_.resize(size);
        mask_ = size - 1;
    }
    SpscQueue(const SpscQueue&) = delete;
    SpscQueue& operator=(const SpscQueue&) = delete;

    /// Producer: appends `item`; false (and nothing changes) when the queue is full.
    bool push(const T& item) noexcept {
        const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_.load(std::memory_order_acquire) > mask_) return false;
        items_[std::size_t(tail) & mask_] = item;
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }
    /// Consumer: takes the oldest item into `item`; false when the queue is empty.
    bool pop(T& item) noexcept {
        const std::uint64_t head = head_.load(std::memory_order_relaxed);
        if (head == tail_.load(std::memory_order_acquire)) return false;
        item = items_[std::size_t(head) & mask_];
        head_.store(head + 1, std::memory_order_release);
        return true;
    }
    /// Items waiting (exact for either side's own view; a snapshot for anyone else).
    std::size_t size() const noexcept {
        return std::size_t(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire));
    }
    /// Most items the queue holds.
    std::size_t capacity() const noexcept { return mask_ + 1; }

private:
    std::vector<T> items_;
    std::size_t mask_ = 0;
    alignas(64) std::atomic<std::uint64_t> head_{0}; ///< next item to pop (consumer)
    alignas(64) std::atomic<std::uint64_t> tail_{0}; ///< next free slot (producer)
};

} // namespace sg::live
