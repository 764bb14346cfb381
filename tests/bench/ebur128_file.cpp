// The libebur128 peer of `stagegraph analyze` in `make bench-compare` (bench_compare.py): a
// whole process that reads FILE with libsndfile in large interleaved blocks and measures what
// analyze measures by default: integrated loudness, loudness range and 4x true peak
// (EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK).
// Usage: ebur128_file FILE      prints "integrated_lufs loudness_range_lu true_peak_dbtp"
#include <cmath>
#include <cstdio>
#include <vector>

#include <ebur128.h>
#include <sndfile.h>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: ebur128_file FILE\n");
        return 2;
    }
    SF_INFO info{};
    SNDFILE* file = sf_open(argv[1], SFM_READ, &info);
    if (!file) {
        std::fprintf(stderr, "cannot open '%s': %s\n", argv[1], sf_strerror(nullptr));
        return 1;
    }
    ebur128_state* state = ebur128_init(unsigned(info.channels), static_cast<unsigned long>(info.samplerate),
                                        EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK);
    if (!state) return 1;
    constexpr sf_count_t kBlockFrames = 65536;
    std::vector<float> block(std::size_t(kBlockFrames) * std::size_t(info.channels));
    for (sf_count_t got; (got = sf_readf_float(file, block.data(), kBlockFrames)) > 0;)
        if (ebur128_add_frames_float(state, block.data(), std::size_t(got)) != EBUR128_SUCCESS) return 1;
    sf_close(file);
    double integrated = 0, range = 0, peak = 0;
    ebur128_loudness_global(state, &integrated);
    ebur128_loudness_range(state, &range);
    for (int c = 0; c < info.channels; ++c) {
        double p = 0;
        ebur128_true_peak(state, unsigned(c), &p);
        peak = std::fmax(peak, p);
    }
    ebur128_destroy(&state);
    std::printf("%.2f %.2f %.2f\n", integrated, range, peak > 0 ? 20 * std::log10(peak) : -HUGE_VAL);
    return 0;
}
