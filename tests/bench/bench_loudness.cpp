// Benchmark: loudness analysis of 10 minutes of 48 kHz stereo, sg::LoudnessMeter against
// libebur128 (when built with it) measuring the same things in the same run: integrated
// loudness, loudness range and true peak (4x).
//
// The audio is a 60 s loop generated in memory (noise bursts and tones with moving levels),
// played 10 times, fed in 4096-frame blocks: planar to our meter, interleaved (prepared
// beforehand, not timed) to libebur128 with EBUR128_MODE_I | EBUR128_MODE_LRA |
// EBUR128_MODE_TRUE_PEAK. Prints the median of several runs of each, alternating, and the ratio;
// also the K-weighting filter alone (KWeightingFilter, a sum taken after every block as the
// meter takes its 100 ms steps), in nanoseconds per stereo frame: the meter's recursion; and the
// loudness half of the meter (processLoudness: K-weighting, steps, gating) as `render --target`'s
// three meters run it (LoudnessOptions::offline: lanes along time) against the sequential one.
// Usage: bench_loudness [--quick] [--runs N]
#include "bench/BenchMaterial.h"
#include "core/Simd.h"
#include "nodes/meters/LoudnessMeter.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numbers>
#include <random>
#include <string>
#include <vector>

#include <ebur128.h>

using namespace sg;

namespace {

constexpr double kRate = 48000;
constexpr int kBlockFrames = 4096;

struct Loop {
    std::vector<float> left, right, interleaved;
};

/// 60 s of stereo: a tone pair and noise bursts under a slowly moving level.
Loop makeLoop() {
    const int frames = int(60 * kRate);
    Loop loop;
    loop.left.resize(std::size_t(frames));
    loop.right.resize(std::size_t(frames));
    std::mt19937 rng(1);
    std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
    double burst = 0;
    for (int n = 0; n < frames; ++n) {
        const double t = n / kRate;
        const double level = std::pow(10.0, (-20 + 6 * std::sin(2 * std::numbers::pi * t / 17)) / 20);
        if (n % 24000 == 0) burst = 1;
        burst *= 0.9998;
        const double tone = 0.4 * std::sin(2 * std::numbers::pi * 220 * t) + 0.2 * std::sin(2 * std::numbers::pi * 1760 * t);
        loop.left[std::size_t(n)] = float(level * (tone + burst * uni(rng)));
        loop.right[std::size_t(n)] = float(level * (0.8 * tone + burst * uni(rng)));
    }
    loop.interleaved.resize(2 * std::size_t(frames));
    for (int n = 0; n < frames; ++n) {
        loop.interleaved[2 * std::size_t(n)] = loop.left[std::size_t(n)];
        loop.interleaved[2 * std::size_t(n) + 1] = loop.right[std::size_t(n)];
    }
    return loop;
}

/// Calls feed(at, n) for the blocks of `audioSeconds` of the loop played over and over: frames
/// [at, at + n) of the loop, at most kBlockFrames, none across the loop's end.
template <class Feed> void forEachBlock(const Loop& loop, double audioSeconds, Feed&& feed) {
    const std::int64_t total = std::llround(audioSeconds * kRate);
    const std::int64_t loopFrames = std::int64_t(loop.left.size());
    for (std::int64_t done = 0; done < total;) {
        const std::int64_t at = done % loopFrames;
        const int n = int(std::min<std::int64_t>({kBlockFrames, total - done, loopFrames - at}));
        feed(at, n);
        done += n;
    }
}

struct Result {
    double seconds = 0, integrated = 0, range = 0, truePeak = 0;
};

/// The meter over the loop; `offline` as LoudnessOptions::offline; `peaks` false: only
/// processLoudness (what the loudness thread of an encoding runs).
Result runOurs(const Loop& loop, double audioSeconds, int oversampling, bool offline = false, bool peaks = true) {
    const auto start = std::chrono::steady_clock::now();
    LoudnessMeter meter;
    LoudnessOptions options;
    options.truePeakOversampling = oversampling;
    options.offline = offline;
    if (!meter.prepare(kRate, 2, options).empty()) std::exit(1);
    forEachBlock(loop, audioSeconds, [&](std::int64_t at, int n) {
        const float* pointers[2] = {loop.left.data() + at, loop.right.data() + at};
        if (peaks)
            meter.process(pointers, n);
        else
            meter.processLoudness(pointers, n);
    });
    Result r;
    r.integrated = meter.integratedLufs();
    r.range = meter.loudnessRangeLu();
    r.truePeak = meter.truePeakDbtp();
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

/// The K-weighting filter alone (KWeightingFilter: the meter's part that is a recursion).
double runKWeighting(const Loop& loop, double audioSeconds) {
    const auto start = std::chrono::steady_clock::now();
    KWeightingFilter filter;
    if (!filter.prepare(kRate, 2).empty()) std::exit(1);
    double sums[2] = {}, energy = 0;
    forEachBlock(loop, audioSeconds, [&](std::int64_t at, int n) {
        const float* pointers[2] = {loop.left.data() + at, loop.right.data() + at};
        filter.process(pointers, 0, n);
        filter.takeSums(sums);
        energy += sums[0] + sums[1];
    });
    if (!(energy > 0)) std::exit(1);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Result runEbur128(const Loop& loop, double audioSeconds) {
    const auto start = std::chrono::steady_clock::now();
    ebur128_state* st = ebur128_init(2, (unsigned long)kRate, EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK);
    if (!st) std::exit(1);
    forEachBlock(loop, audioSeconds,
                 [&](std::int64_t at, int n) { ebur128_add_frames_float(st, loop.interleaved.data() + 2 * at, std::size_t(n)); });
    Result r;
    ebur128_loudness_global(st, &r.integrated);
    ebur128_loudness_range(st, &r.range);
    double peak = 0, channelPeak = 0;
    for (unsigned c = 0; c < 2; ++c) {
        ebur128_true_peak(st, c, &channelPeak);
        peak = std::max(peak, channelPeak);
    }
    r.truePeak = 20 * std::log10(peak);
    ebur128_destroy(&st);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

} // namespace

int main(int argc, char** argv) {
    int runs = 5;
    double audioSeconds = 600;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick")) {
            audioSeconds = 60;
            runs = 3;
        } else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
            runs = std::max(1, std::atoi(argv[++i]));
        } else {
            std::fprintf(stderr, "usage: bench_loudness [--quick] [--runs N]\n");
            return 2;
        }
    }
    const Loop loop = makeLoop();
    std::printf("loudness analysis of %.0f s of 48 kHz stereo (integrated + LRA + true peak 4x), %d runs, simd %s\n",
                audioSeconds, runs, simdArchName(detectSimdArch()));
    std::vector<double> ours, ours8, theirs, kWeighting, loudnessSequential, loudnessOffline;
    Result lastOurs, lastOurs8, lastTheirs, lastSequential, lastOffline;
    for (int run = 0; run < runs; ++run) {
        lastSequential = runOurs(loop, audioSeconds, 4, false, false);
        loudnessSequential.push_back(lastSequential.seconds);
        lastOffline = runOurs(loop, audioSeconds, 4, true, false);
        loudnessOffline.push_back(lastOffline.seconds);
        lastOurs = runOurs(loop, audioSeconds, 4);
        ours.push_back(lastOurs.seconds);
        lastOurs8 = runOurs(loop, audioSeconds, 8);
        ours8.push_back(lastOurs8.seconds);
        lastTheirs = runEbur128(loop, audioSeconds);
        theirs.push_back(lastTheirs.seconds);
        kWeighting.push_back(runKWeighting(loop, audioSeconds));
    }
    const double oursMedian = bench::median(ours), ours8Median = bench::median(ours8);
    std::printf("  stagegraph LoudnessMeter (4x): %8.3f s  %7.0fx realtime   I %.2f LUFS  LRA %.2f LU  TP %.2f dBTP\n",
                oursMedian, audioSeconds / oursMedian, lastOurs.integrated, lastOurs.range, lastOurs.truePeak);
    std::printf("  stagegraph LoudnessMeter (8x): %8.3f s  %7.0fx realtime   I %.2f LUFS  LRA %.2f LU  TP %.2f dBTP\n",
                ours8Median, audioSeconds / ours8Median, lastOurs8.integrated, lastOurs8.range, lastOurs8.truePeak);
    const double kWeightingMedian = bench::median(kWeighting);
    std::printf("  stagegraph K-weighting alone:  %8.3f s  %7.0fx realtime   %.2f ns per frame\n", kWeightingMedian,
                audioSeconds / kWeightingMedian, kWeightingMedian / (audioSeconds * kRate) * 1e9);
    const double sequentialMedian = bench::median(loudnessSequential), offlineMedian = bench::median(loudnessOffline);
    std::printf("  loudness half, one lane per channel: %8.3f s  %.2f ns per frame   I %.6f LUFS\n", sequentialMedian,
                sequentialMedian / (audioSeconds * kRate) * 1e9, lastSequential.integrated);
    std::printf("  loudness half, lanes along time:     %8.3f s  %.2f ns per frame   I %.6f LUFS   %.2fx\n", offlineMedian,
                offlineMedian / (audioSeconds * kRate) * 1e9, lastOffline.integrated, sequentialMedian / offlineMedian);
    const double theirsMedian = bench::median(theirs);
    std::printf("  libebur128 %d.%d.%d:               %8.3f s  %7.0fx realtime   I %.2f LUFS  LRA %.2f LU  TP %.2f dBTP\n",
                EBUR128_VERSION_MAJOR, EBUR128_VERSION_MINOR, EBUR128_VERSION_PATCH, theirsMedian, audioSeconds / theirsMedian,
                lastTheirs.integrated, lastTheirs.range, lastTheirs.truePeak);
    std::printf("  ratio libebur128 / stagegraph (4x): %.2fx %s\n", theirsMedian / oursMedian,
                theirsMedian > oursMedian ? "(stagegraph faster)" : "(libebur128 faster)");
    return 0;
}
