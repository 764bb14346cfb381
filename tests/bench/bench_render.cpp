// Benchmark: rendering speed of the engine (no file I/O), as x-realtime.
//  1. 10 minutes of 48 kHz stereo through a chain of 8 biquads.
//  2. 3 minutes of 32 mono strips (4 biquads + gain + pan each) summed to one stereo bus,
//     lane-batched and unbatched: the batching speed-up.
// Prints medians of several runs. Usage: bench_render [--quick] [--runs N]
#include "bench/BenchGraphs.h"
#include "bench/BenchMaterial.h"
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace sg;

namespace {

std::unique_ptr<Program> compile(const std::string& yaml, bool batch) {
    Diagnostics diags;
    GraphDesc desc = loadGraphFromString(yaml, "bench.yaml", ".", diags);
    CompileOptions options;
    options.batch = batch;
    options.maxBlockFrames = 1024;
    auto program = diags.hasErrors() ? nullptr : compileGraph(desc, Registry::builtin(), options, diags);
    if (!program) {
        std::fputs(diags.formatAll().c_str(), stderr);
        std::exit(1);
    }
    return program;
}

/// Seconds to push `seconds` of audio through the program in 1024-frame host blocks. The input is
/// a 10 s noise loop (so memory does not grow with duration).
double timeRender(Program& program, double seconds) {
    Executor& ex = program.executor();
    ex.reset();
    const int block = 1024;
    const int loopFrames = 48000 * 10 / block * block;
    bench::BlockBuffers io(ex, loopFrames, block, 0.125f);
    const std::int64_t total = std::int64_t(seconds * 48000);
    auto start = std::chrono::steady_clock::now();
    for (std::int64_t done = 0, offset = 0; done < total; done += block, offset = (offset + block) % loopFrames) {
        io.at(int(offset));
        ex.process(io.inViews, io.outViews);
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string chainGraph() {
    return "stagegraph: 1\ninputs:\n  mix: {channels: 2}\noutputs:\n  out: {channels: 2}\nnodes:\n"
           "  b1: {type: highpass, freq: 30 Hz}\n  b2: {type: lowshelf, freq: 100 Hz, gain: 1 dB}\n"
           "  b3: {type: peak, freq: 250 Hz, gain: -1 dB}\n  b4: {type: peak, freq: 800 Hz, gain: 0.5 dB}\n"
           "  b5: {type: peak, freq: 2 kHz, gain: -1 dB}\n  b6: {type: peak, freq: 5 kHz, gain: 1 dB}\n"
           "  b7: {type: highshelf, freq: 10 kHz, gain: 1 dB}\n  b8: {type: lowpass, freq: 19 kHz}\n"
           "connections:\n  - mix -> b1 -> b2 -> b3 -> b4 -> b5 -> b6 -> b7 -> b8 -> out\n";
}

} // namespace

int main(int argc, char** argv) {
    int runs = 5;
    double chainSeconds = 600, stripSeconds = 180;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--quick")) {
            runs = 3;
            chainSeconds = 60;
            stripSeconds = 20;
        } else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = std::max(1, std::atoi(argv[++i]));
    }
    std::printf("bench_render: SIMD %s, %d runs each, medians\n", simdArchName(detectSimdArch()), runs);

    auto chain = compile(chainGraph(), true);
    std::vector<double> t;
    for (int r = 0; r < runs; ++r) t.push_back(timeRender(*chain, chainSeconds));
    double chainMedian = bench::median(t);
    std::printf("8-biquad chain, stereo, %.0f s of audio: %.3f s  -> %.0fx realtime (%.1f M biquad-lane-frames/s)\n",
                chainSeconds, chainMedian, chainSeconds / chainMedian, chainSeconds * 48000 * 2 * 8 / chainMedian / 1e6);

    auto batched = compile(sg::bench::stripsGraph(32), true);
    auto unbatched = compile(sg::bench::stripsGraph(32), false);
    std::vector<double> tb, tu;
    for (int r = 0; r < runs; ++r) { // interleaved so machine noise hits both alike
        tb.push_back(timeRender(*batched, stripSeconds));
        tu.push_back(timeRender(*unbatched, stripSeconds));
    }
    double b = bench::median(tb), u = bench::median(tu);
    std::printf("32 strips x (4 biquads + gain + pan) -> stereo bus, %.0f s of audio:\n", stripSeconds);
    std::printf("  batched:   %.3f s  -> %.0fx realtime (%zu steps)\n", b, stripSeconds / b, batched->schedule().steps.size());
    std::printf("  unbatched: %.3f s  -> %.0fx realtime (%zu steps)\n", u, stripSeconds / u, unbatched->schedule().steps.size());
    std::printf("  batching speed-up: %.2fx\n", u / b);
    return 0;
}
