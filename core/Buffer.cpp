#include "core/Buffer.h"

#include <cstdint>
#include <sys/mman.h>

namespace sg::detail {

namespace {

/// From this size on, a buffer is mapped pages of its own (256 KiB: the render pipeline's
/// chunks, a pass's scratch; a node's block buffers stay on the heap). Under AddressSanitizer
/// every buffer stays on the heap, where an access past its end is caught.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kMappedBytes = SIZE_MAX;
#else
constexpr std::size_t kMappedBytes = std::size_t(1) << 18;
#endif

} // namespace

// Large buffers are set up in bulk before work starts (four chunks of 64k frames per stream of
// the render pipeline): zeroing them with memset wrote every page on the setting-up thread, a
// first touch of each (a page fault, and on a virtual machine often the host's too) in the
// serial start of the run, then the threads that fill them wrote them again. Anonymous pages
// read as zero until written, so the zeroes cost nothing until a page is used.
float* allocateZeroedSamples(std::size_t bytes) {
    if (bytes >= kMappedBytes) {
        void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) throw std::bad_alloc();
        return static_cast<float*>(p); // page-aligned
    }
    auto* p = static_cast<float*>(std::aligned_alloc(kBufferAlignBytes, bytes));
    if (!p) throw std::bad_alloc();
    std::memset(p, 0, bytes);
    return p;
}

void releaseZeroedSamples(float* data, std::size_t bytes) noexcept {
    if (!data) return;
    if (bytes >= kMappedBytes)
        ::munmap(data, bytes);
    else
        std::free(data);
}

} // namespace sg::detail
