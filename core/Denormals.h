// Flush-to-zero and denormals-are-zero for a scope: recursive filters decaying into denormal
// numbers would otherwise cost up to a hundred times more per sample. Restores the thread's
// previous floating-point mode on exit. Real-time safe.
#pragma once

#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

namespace sg {

class ScopedFlushDenormals {
public:
    ScopedFlushDenormals() noexcept {
#if defined(__SSE2__)
        saved_ = _mm_getcsr();
        _mm_setcsr(saved_ | 0x8040u); // FTZ (bit 15) | DAZ (bit 6)
#endif
    }
    ~ScopedFlushDenormals() {
#if defined(__SSE2__)
        _mm_setcsr(saved_);
#endif
    }
    ScopedFlushDenormals(const ScopedFlushDenormals&) = delete;
    ScopedFlushDenormals& operator=(const ScopedFlushDenormals&) = delete;

private:
    unsigned saved_ = 0;
};

} // namespace sg
