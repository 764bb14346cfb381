#include "nodes/filters/SectionBank.h"

namespace sg::biquad {

void SectionBank::prepare(int lanes, int sections, const BankScratch& scratch, SimdArch simd) {
    process_ = SG_SIMD_PICK(simd, processBiquadBank);
    bank_.lanes = lanes;
    bank_.stride = (lanes + kLanePad - 1) / kLanePad * kLanePad;
    bank_.sections = std::max(sections, 1);
    const std::size_t stride = std::size_t(bank_.stride), count = std::size_t(bank_.sections);
    coefficients_.assign(count * 5 * stride);
    for (std::size_t s = 0; s < count; ++s) // pass-through: b0 = 1
        std::fill_n(coefficients_.data() + s * 5 * stride, stride, 1.0);
    state_.assign(count * 2 * stride);
    roundAfter_.assign(count * stride); // no rounding inside the cascade
    sectionRounds_.assign(count, 0);
    bank_.coefficients = coefficients_.data();
    bank_.state = state_.data();
    bank_.scratch = scratch.data();
    bank_.roundAfter = roundAfter_.data();
    bank_.sectionRounds = sectionRounds_.data();
}

void SectionBank::set(int section, int firstLane, int count, const Section& c) noexcept {
    const std::size_t stride = std::size_t(bank_.stride);
    double* base = coefficients_.data() + std::size_t(section) * 5 * stride;
    for (std::size_t j = 0; j < 5; ++j)
        for (int l = firstLane; l < firstLane + count; ++l) base[j * stride + std::size_t(l)] = c[j];
}

} // namespace sg::biquad
