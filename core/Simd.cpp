#include "core/Simd.h"

#include <cstdlib>
#include <cstring>

namespace sg {

SimdArch detectSimdArch() {
    SimdArch best = SimdArch::Sse2;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    // libgcc checks OS support (XCR0) for the AVX and AVX-512 register state too.
    if (__builtin_cpu_supports("avx2")) best = SimdArch::Avx2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl"))
        best = SimdArch::Avx512;
#endif
    if (const char* forced = std::getenv("STAGEGRAPH_SIMD")) {
        SimdArch want = best;
        if (!std::strcmp(forced, "sse2"))
            want = SimdArch::Sse2;
        else if (!std::strcmp(forced, "avx2"))
            want = SimdArch::Avx2;
        else if (!std::strcmp(forced, "avx512"))
            want = SimdArch::Avx512;
        if (int(want) < int(best)) best = want;
    }
    return best;
}

const char* simdArchName(SimdArch arch) {
    switch (arch) {
    case SimdArch::Avx512:
        return "avx512";
    case SimdArch::Avx2:
        return "avx2";
    default:
        return "sse2";
    }
}

int simdWidth(SimdArch arch) {
    switch (arch) {
    case SimdArch::Avx512:
        return 16;
    case SimdArch::Avx2:
        return 8;
    default:
        return 4;
    }
}

} // namespace sg
