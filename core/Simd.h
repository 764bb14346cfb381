// Run-time SIMD selection.
//
// Kernels that vectorise live in `*.simd.cpp` files. CMake compiles each such file three
// times, once per architecture, with
//   SG_SIMD_NS   = simd_sse2 | simd_avx2 | simd_avx512   (namespace for that copy)
//   SG_SIMD_ARCH = xsimd::sse2 | xsimd::avx2 | xsimd::avx512bw
// and the matching compiler flags. Headers declare the kernel in all three namespaces with
// SG_SIMD_DECLARE, and setup code picks one function pointer with SG_SIMD_PICK. No FMA
// contraction is allowed (-ffp-contract=off), so every architecture computes bit-identical
// results for a lane, and so do batched and unbatched runs.
#pragma once

namespace sg {

enum class SimdArch { Sse2 = 0, Avx2 = 1, Avx512 = 2 };

/// The best architecture this CPU and OS support, lowered by the environment variable
/// STAGEGRAPH_SIMD=sse2|avx2|avx512 if set (never raised above what the CPU has).
SimdArch detectSimdArch();
/// "sse2", "avx2", "avx512".
const char* simdArchName(SimdArch arch);
/// Floats per batch: 4, 8, 16.
int simdWidth(SimdArch arch);

template <typename Fn> Fn pickSimd(SimdArch arch, Fn sse2, Fn avx2, Fn avx512) {
    switch (arch) {
    case SimdArch::Avx512:
        return avx512;
    case SimdArch::Avx2:
        return avx2;
    default:
        return sse2;
    }
}

} // namespace sg

#define SG_SIMD_DECLARE(...)                                                                                                     \
    namespace sg::simd_sse2 {                                                                                                    \
    __VA_ARGS__;                                                                                                                 \
    }                                                                                                                            \
    namespace sg::simd_avx2 {                                                                                                    \
    __VA_ARGS__;                                                                                                                 \
    }                                                                                                                            \
    namespace sg::simd_avx512 {                                                                                                  \
    __VA_ARGS__;                                                                                                                 \
    }

#define SG_SIMD_PICK(arch, name) ::sg::pickSimd((arch), &::sg::simd_sse2::name, &::sg::simd_avx2::name, &::sg::simd_avx512::name)
