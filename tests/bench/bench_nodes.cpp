// Benchmark: the cost of every node type in the registry, in nanoseconds per sample per channel.
//
//   stereo:   one instance on a stereo input (two lanes) at 48 kHz, default parameters;
//   batched:  32 mono instances in one kernel call (as the compiler batches 32 channel strips),
//             per lane — the figure a mixing graph pays per track.
// Every input port is connected (sidechains too); sources (no input) run with their own output.
// 10 s of audio in 512-frame blocks per measurement, median of 5, timed in the thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID), so other processes on a shared machine do not count. Types that
// cannot take the layout (a channel rule that refuses it) print why instead of a figure.
// The input is white noise with peaks at --peak dBFS (default -6): level-dependent kernels (the
// limiter's detection, a gate) cost differently at other levels. --music replaces the noise by a
// 4 s music-like loop (kick, snare, bright hats, saw bass, chords; each lane shifted in time)
// with the same peak (8 different lanes, repeated), copied into the input buffers block by block (the copy is timed too, about
// 0.05 ns per sample).
//
// Usage: bench_nodes [--quick] [--peak DB] [--music] [TYPE...]
#include "core/Buffer.h"
#include "core/Denormals.h"
#include "core/Node.h"
#include "core/Registry.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

using namespace sg;

namespace {

constexpr double kRate = 48000;
constexpr int kBlock = 512;

/// One kernel prepared for `instances` instances whose every input port has `channels`
/// channels (or the other count where the type refuses it), with its lane buffers.
struct Rig {
    std::unique_ptr<NodeKernel> kernel;
    std::vector<AudioBuffer> inputs, outputs; ///< one mono buffer per lane
    std::vector<std::vector<const float*>> inLanes;
    std::vector<std::vector<float*>> outLanes;
    std::vector<const float* const*> in;
    std::vector<float* const*> out;
    std::vector<std::vector<float>> sources; ///< --music: the loop of each input lane
    int lanes = 0;                           ///< output lanes of port 0 (or input lanes for a sink-like node)
    std::string error;
};

/// Peak of the input, linear.
float inputPeak = 0.5f;
/// --music: the input is musicLike() instead of noise.
bool music = false;
constexpr std::int64_t kMusicFrames = std::int64_t(4 * kRate);

/// A music-like loop of kMusicFrames, lane `lane` shifted by 0.1 s per lane, peaking at `peak`.
std::vector<float> musicLike(int lane, float peak) {
    std::vector<double> x(std::size_t(kMusicFrames), 0.0);
    std::uint32_t seed = 77u + std::uint32_t(lane);
    double previous = 0, most = 0;
    for (std::int64_t n = 0; n < kMusicFrames; ++n) {
        const double t = double(n) / kRate + 0.1 * lane, beat = 0.25;
        const double inBeat = std::fmod(t, 2 * beat), inHalf = std::fmod(t, beat);
        const int step = int(t / beat);
        seed = seed * 1664525u + 1013904223u;
        const double white = double(seed >> 8) / 8388608.0 - 1.0;
        const double bright = white - previous;
        previous = white;
        double v = 0.35 * bright * std::exp(-std::fmod(t, beat / 2) / 0.015);
        if (step % 2 == 0)
            v += 0.9 * std::sin(2 * M_PI * (50 * inBeat + 3 * (1 - std::exp(-inBeat / 0.03)))) * std::exp(-inBeat / 0.12);
        else
            v += (0.4 * white + 0.35 * std::sin(2 * M_PI * 190 * inHalf)) * std::exp(-inHalf / 0.06);
        const double bassHz = (step / 4) % 2 ? 55.0 : 41.2;
        for (int k = 1; k <= 30; ++k) v += 0.35 * std::sin(2 * M_PI * k * bassHz * t) / k;
        for (double hz : {261.63, 329.63, 392.0, 523.25})
            for (int k = 1; k <= 4; ++k) v += 0.08 * std::sin(2 * M_PI * k * hz * t + k) / k;
        x[std::size_t(n)] = v;
        most = std::max(most, std::fabs(v));
    }
    std::vector<float> out(x.size());
    for (std::size_t n = 0; n < x.size(); ++n) out[n] = float(x[n] * double(peak) / most);
    return out;
}

/// musicLike(lane % 8, inputPeak), made once.
const std::vector<float>& musicLoop(int lane) {
    static std::vector<std::vector<float>> loops;
    if (loops.empty())
        for (int l = 0; l < 8; ++l) loops.push_back(musicLike(l, inputPeak));
    return loops[std::size_t(lane % 8)];
}

Rig makeRig(const NodeType& type, int instances, int channels) {
    Rig rig;
    rig.kernel = type.createKernel();
    const ParamValues p = type.defaults();
    const std::size_t inPorts = type.info().inputs.size();
    std::vector<int> ins(inPorts, channels), outs;
    if (!type.resolveChannels(p, ins, outs).empty()) {
        ins.assign(inPorts, channels == 2 ? 1 : 2);
        outs.clear();
        if (std::string why = type.resolveChannels(p, ins, outs); !why.empty()) {
            rig.error = why;
            return rig;
        }
    }
    std::vector<InstanceSetup> setup(std::size_t(instances), InstanceSetup{p, ins, outs, type.info().name});
    if (std::string why = rig.kernel->prepare({kRate, kBlock, detectSimdArch()}, setup); !why.empty()) {
        rig.error = why;
        return rig;
    }
    // One mono buffer per lane, as the executor's slots are (core/passes/Buffers.cpp). Reserved
    // first: lane pointers must stay where they are.
    std::size_t inLaneCount = 0, outLaneCount = 0;
    for (int c : ins) inLaneCount += std::size_t(c * instances);
    for (int c : outs) outLaneCount += std::size_t(c * instances);
    rig.inputs.reserve(inLaneCount);
    rig.outputs.reserve(outLaneCount);
    std::uint32_t seed = 12345;
    for (std::size_t k = 0; k < inPorts; ++k) {
        rig.inLanes.emplace_back();
        for (int c = 0; c < ins[k] * instances; ++c) {
            rig.inputs.emplace_back(1, kBlock);
            for (int n = 0; n < kBlock; ++n) {
                seed = seed * 1664525u + 1013904223u;
                rig.inputs.back().channel(0)[n] = inputPeak * (float(seed >> 8) / 8388608.0f - 1.0f);
            }
            rig.inLanes.back().push_back(rig.inputs.back().channel(0));
            if (music) rig.sources.push_back(musicLoop(int(rig.sources.size())));
        }
    }
    for (std::size_t k = 0; k < outs.size(); ++k) {
        rig.outLanes.emplace_back();
        for (int c = 0; c < outs[k] * instances; ++c) {
            rig.outputs.emplace_back(1, kBlock);
            rig.outLanes.back().push_back(rig.outputs.back().channel(0));
        }
    }
    for (auto& l : rig.inLanes) rig.in.push_back(l.data());
    for (auto& l : rig.outLanes) rig.out.push_back(l.data());
    rig.lanes = !outs.empty() ? outs[0] * instances : ins.empty() ? 0 : ins[0] * instances;
    return rig;
}

/// CPU time of this thread, seconds.
double threadSeconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

/// Median nanoseconds per sample per lane over `runs` runs of `seconds` of audio.
double nsPerLaneSample(Rig& rig, double seconds, int runs) {
    const std::int64_t blocks = std::int64_t(seconds * kRate / kBlock);
    std::vector<double> times;
    ScopedFlushDenormals flush; // as the executor runs kernels
    for (int r = 0; r < runs; ++r) {
        rig.kernel->reset();
        ProcessContext ctx;
        ctx.frames = kBlock;
        ctx.inputs = rig.in.data();
        ctx.outputs = rig.out.data();
        const double start = threadSeconds();
        for (std::int64_t b = 0; b < blocks; ++b) {
            ctx.position = b * kBlock;
            const std::int64_t at = (b * kBlock) % (kMusicFrames - kBlock);
            for (std::size_t l = 0; l < rig.sources.size(); ++l)
                std::memcpy(rig.inputs[l].channel(0), rig.sources[l].data() + at, sizeof(float) * kBlock);
            rig.kernel->process(ctx);
        }
        const double elapsed = threadSeconds() - start;
        times.push_back(elapsed * 1e9 / (double(blocks) * kBlock * std::max(1, rig.lanes)));
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    bool quick = false;
    std::vector<std::string> only;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (std::strcmp(argv[i], "--music") == 0)
            music = true;
        else if (std::strcmp(argv[i], "--peak") == 0 && i + 1 < argc)
            inputPeak = float(std::pow(10.0, std::atof(argv[++i]) / 20.0));
        else
            only.push_back(argv[i]);
    }
    const double seconds = quick ? 1.0 : 10.0;
    const int runs = quick ? 3 : 5;
    std::printf("bench_nodes: SIMD %s, 48 kHz, %d-frame blocks, %.0f s of %s peaking at %.1f dBFS, thread CPU time, median "
                "of %d\n",
                simdArchName(detectSimdArch()), kBlock, seconds, music ? "music" : "noise", 20.0 * std::log10(double(inputPeak)),
                runs);
    std::printf("%-14s %-10s %16s %18s %10s\n", "node", "family", "stereo ns/smp/ch", "32 mono ns/smp/lane", "x-realtime");
    for (const NodeType* type : Registry::builtin().all()) {
        const std::string& name = type->info().name;
        if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
        Rig stereo = makeRig(*type, 1, 2);
        Rig batched = makeRig(*type, 32, 1);
        if (!stereo.error.empty() || !batched.error.empty()) {
            std::printf("%-14s %-10s (not measured: %s)\n", name.c_str(), type->info().family.c_str(),
                        (stereo.error.empty() ? batched.error : stereo.error).c_str());
            continue;
        }
        const double stereoNs = nsPerLaneSample(stereo, seconds, runs);
        const double batchedNs = nsPerLaneSample(batched, seconds, runs);
        // x-realtime of one stereo instance: 1 s of audio is 2 * 48000 lane-samples.
        std::printf("%-14s %-10s %16.2f %18.2f %10.0f\n", name.c_str(), type->info().family.c_str(), stereoNs, batchedNs,
                    1e9 / (stereoNs * 2 * kRate));
    }
    return 0;
}
