#include "core/Elementwise.h"

namespace sg {

namespace {

template <int Arch> Elementwise table() {
    const SimdArch arch = SimdArch(Arch);
    return {SG_SIMD_PICK(arch, multiplyByConstant),
            SG_SIMD_PICK(arch, multiplyByCurve),
            SG_SIMD_PICK(arch, mix),
            SG_SIMD_PICK(arch, sum),
            SG_SIMD_PICK(arch, sumSources),
            SG_SIMD_PICK(arch, copyFlaggingNonFinite),
            SG_SIMD_PICK(arch, anyNonFinite),
            SG_SIMD_PICK(arch, decibelsToGain),
            SG_SIMD_PICK(arch, gainToDecibels),
            SG_SIMD_PICK(arch, gainToDecibelsFloored),
            SG_SIMD_PICK(arch, offsetDecibelsToGain)};
}

} // namespace

const Elementwise& Elementwise::forArch(SimdArch arch) {
    static const Elementwise tables[] = {table<0>(), table<1>(), table<2>()};
    return tables[int(arch) >= 0 && int(arch) <= 2 ? int(arch) : 0];
}

} // namespace sg
