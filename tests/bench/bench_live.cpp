// Benchmark: is the 32-strip mixing graph safe to run live at 64-frame blocks?
//
// The deadline of a 64-frame block at 48 kHz is 64 / 48000 s = 1.333 ms. Measured:
//  1. the executor alone, one process() call per 64-frame block;
//  2. the whole live callback (LiveEngine::processAudio: source ring, graph, mix, output meter,
//     tee ring), with a switch between two instances of the graph every 2 s, so that a quarter
//     of the blocks run two graphs (warm-up and crossfade);
//  3. if jackd is installed: a real session on a JACK server (dummy driver) started by this
//     program at 64-frame periods, playing a 32-channel file through the graph (xruns counted
//     by the server).
// Each prints mean, p50, p99, p99.9 and worst process time per block, in us and as a fraction of
// the deadline. Usage: bench_live [--seconds S] [--no-jack]
//        bench_live --sizes [--graph FILE.yaml] [--seconds S]   (4. only: cost per frame by block size)
#include "bench/BenchGraphs.h"
#include "bench/BenchMaterial.h"
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"
#include "host/cli/Live.h"
#include "host/io/AudioFile.h"
#include "host/live/AudioRing.h"
#include "host/live/LiveEngine.h"
#include "host/live/LiveGraph.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace sg;

namespace {

constexpr double kRate = 48000;
constexpr int kBlock = 64;
constexpr double kDeadlineUs = 1e6 * kBlock / kRate; // 1333.3 us

void report(const char* what, std::vector<double> us) {
    std::sort(us.begin(), us.end());
    auto at = [&](double p) { return us[std::min(us.size() - 1, std::size_t(std::ceil(p * double(us.size()))) - 1)]; };
    double mean = 0;
    for (double v : us) mean += v;
    mean /= double(us.size());
    std::printf("%s (%zu blocks):\n", what, us.size());
    std::printf("  mean %7.1f us  p50 %7.1f us  p99 %7.1f us  p99.9 %7.1f us  worst %7.1f us\n", mean, at(0.5), at(0.99),
                at(0.999), us.back());
    std::printf("  of the %.0f us deadline: mean %.3f  p99 %.3f  worst %.3f\n", kDeadlineUs, mean / kDeadlineUs,
                at(0.99) / kDeadlineUs, us.back() / kDeadlineUs);
}

void benchExecutor(double seconds) {
    Diagnostics diags;
    GraphDesc desc = loadGraphFromString(sg::bench::stripsGraph(32), "strips.yaml", ".", diags);
    CompileOptions options;
    options.maxBlockFrames = kBlock;
    auto program = compileGraph(desc, Registry::builtin(), options, diags);
    if (!program) {
        std::fputs(diags.formatAll().c_str(), stderr);
        std::exit(1);
    }
    Executor& ex = program->executor();
    const int loop = int(kRate) * 4 / kBlock * kBlock;
    std::vector<AudioBuffer> inputs;
    for (std::size_t i = 0; i < ex.inputs().size(); ++i) inputs.push_back(bench::noise(1, loop, 0.125f));
    AudioBuffer out(2, kBlock);
    std::vector<ConstAudioView> inViews(inputs.size());
    std::vector<AudioView> outViews{out.view()};
    const std::int64_t blocks = std::int64_t(seconds * kRate / kBlock);
    std::vector<double> us;
    us.reserve(std::size_t(blocks));
    for (std::int64_t b = 0, offset = 0; b < blocks; ++b, offset = (offset + kBlock) % loop) {
        for (std::size_t i = 0; i < inputs.size(); ++i) inViews[i] = inputs[i].view().frameRange(int(offset), kBlock);
        const auto start = std::chrono::steady_clock::now();
        ex.process(inViews, outViews);
        us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
    }
    std::printf("32 strips -> stereo bus, %zu schedule steps, SIMD %s\n", program->schedule().steps.size(),
                simdArchName(detectSimdArch()));
    report("1. executor alone, 64-frame blocks", us);
}

void benchEngine(double seconds) {
    const std::string path =
        (std::filesystem::temp_directory_path() / ("bench_live_" + std::to_string(::getpid()) + ".yaml")).string();
    std::ofstream(path) << sg::bench::stripsGraph(32);
    live::LiveFormat format;
    format.maxBlockFrames = kBlock;
    format.sourceChannels = 32;
    Diagnostics diags;
    std::string error;
    auto a = live::LiveGraph::create(path, {}, format, diags, error);
    auto b = live::LiveGraph::create(path, {}, format, diags, error);
    std::filesystem::remove(path);
    if (!a || !b) {
        std::fprintf(stderr, "%s%s\n", diags.formatAll().c_str(), error.c_str());
        std::exit(1);
    }
    a->alignTo(a->latencyFrames());
    b->alignTo(b->latencyFrames());

    const int loop = int(kRate) * 2;
    const AudioBuffer source = bench::noise(32, loop, 0.125f);
    live::AudioRing input(32, 1 << 14), tee(2, 1 << 14);
    live::EngineConfig config;
    config.maxBlockFrames = kBlock;
    config.sourceChannels = 32;
    config.outputChannels = 2;
    config.crossfadeFrames = int(0.05 * kRate);
    config.warmupFrames = live::kWarmupMarginFrames;
    config.inputRing = &input;
    config.teeRing = &tee;
    live::LiveEngine engine(config);
    engine.setInitialGraph(a.get(), 1);
    AudioBuffer out(2, kBlock), drain(2, 4096);
    float* outs[2] = {out.channel(0), out.channel(1)};
    const std::int64_t blocks = std::int64_t(seconds * kRate / kBlock);
    std::vector<double> us, fadeUs;
    us.reserve(std::size_t(blocks));
    int offset = 0;
    for (std::int64_t k = 0; k < blocks; ++k) {
        // The reader's and the tee writer's work, done here between callbacks (not timed).
        while (input.writableFrames() >= 4096) {
            const int n = std::min(4096, loop - offset);
            input.write(source.view().frameRange(offset, n));
            offset = (offset + n) % loop;
        }
        while (tee.readableFrames() > 0) tee.read(drain.view());
        if (k % int(2 * kRate / kBlock) == int(kRate / kBlock)) {
            live::EngineCommand command;
            command.kind = live::EngineCommand::Kind::Switch;
            command.graph = engine.currentGraph() == 1 ? b.get() : a.get();
            command.graphIndex = engine.currentGraph() == 1 ? 2 : 1;
            engine.post(command);
        }
        const bool twoGraphs = engine.targetGraph() != engine.currentGraph();
        const auto start = std::chrono::steady_clock::now();
        engine.processAudio(nullptr, outs, kBlock, false);
        const double t = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
        us.push_back(t);
        if (twoGraphs || engine.targetGraph() != engine.currentGraph()) fadeUs.push_back(t);
    }
    report("2. whole live callback (engine, meters, rings), a switch every 2 s", us);
    report("   of which blocks running two graphs (warm-up + crossfade)", fadeUs);
    std::printf("   switches %llu, underrun frames %lld\n", static_cast<unsigned long long>(engine.switchesCompleted()),
                static_cast<long long>(engine.underrunFrames()));
}

void benchJack(double seconds) {
    if (std::system("command -v jackd >/dev/null 2>&1") != 0) {
        std::printf("3. through JACK: skipped (jackd is not installed)\n");
        return;
    }
    const std::string dir = (std::filesystem::temp_directory_path() / ("bench_live_" + std::to_string(::getpid()))).string();
    std::filesystem::create_directories(dir);
    const std::string server = "sg-bench-" + std::to_string(::getpid());
    ::setenv("JACK_DEFAULT_SERVER", server.c_str(), 1);
    ::setenv("JACK_NO_START_SERVER", "1", 1);
    // Real-time scheduling where allowed (as the test fixture does), else --no-realtime.
    const bool realtime = std::system("chrt -f 1 true >/dev/null 2>&1") == 0;
    const std::string start = std::string("jackd ") + (realtime ? "-R -P 70" : "--no-realtime") + " -n " + server +
                              " -d dummy -r 48000 -p " + std::to_string(kBlock) + " </dev/null >'" + dir +
                              "/jackd.log' 2>&1 & echo $! >'" + dir + "/jackd.pid'";
    std::system(start.c_str());
    bool up = false;
    for (int i = 0; i < 200 && !up; ++i) {
        up = std::system("jack_lsp >/dev/null 2>&1") == 0;
        if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (up) {
        std::ofstream(dir + "/strips.yaml") << sg::bench::stripsGraph(32);
        const int frames = int(seconds * kRate);
        {
            io::AudioFileWriter writer;
            AudioBuffer block = bench::noise(32, int(kRate), 0.125f);
            writer.open(dir + "/stems.wav", io::OutputFormat::Wav32f, kRate, 32);
            for (int done = 0; done < frames; done += int(kRate))
                writer.write(block.view().frameRange(0, std::min(int(kRate), frames - done)));
            writer.commit();
        }
        live::LiveConsole console;
        console.commandFd = -1;
        console.interactive = 0;
        std::FILE* quiet = std::tmpfile();
        console.out = quiet;
        console.err = quiet;
        live::LiveSummary summary;
        const int status =
            cli::runLive({dir + "/strips.yaml", "-i", dir + "/stems.wav", "--api", "jack", "--block", "64"}, console, &summary);
        std::fclose(quiet);
        if (status == 0) {
            std::printf("3. through JACK (dummy driver, %s, %d-frame periods, %.0f s, %llu callbacks):\n",
                        realtime ? "real-time" : "not real-time", summary.blockFrames, double(summary.frames) / kRate,
                        static_cast<unsigned long long>(summary.callbacks));
            std::printf("  mean %7.1f us  p50 %7.1f us  p99 %7.1f us  p99.9 %7.1f us  worst %7.1f us  (histogram bins: "
                        "percentiles rounded up by < 0.05 us)\n",
                        summary.meanProcessUs, summary.p50ProcessUs, summary.p99ProcessUs, summary.p999ProcessUs,
                        summary.worstProcessUs);
            std::printf("  worst callback: %.1f us on the CPU, %lld page faults, %lld involuntary switches; heaviest "
                        "callback %.1f us on the CPU; longest gap between callbacks %.1f us, %llu late starts\n",
                        summary.worstCpuUs, static_cast<long long>(summary.worstPageFaults),
                        static_cast<long long>(summary.worstSwitches), summary.heaviestCpuUs, summary.longestGapUs,
                        static_cast<unsigned long long>(summary.lateStarts));
            std::printf("  of the %.0f us deadline: mean %.3f  p99 %.3f  worst %.3f;  xruns %llu, underrun frames %lld\n",
                        summary.deadlineUs, summary.meanProcessUs / summary.deadlineUs, summary.p99ProcessUs / summary.deadlineUs,
                        summary.worstProcessUs / summary.deadlineUs, static_cast<unsigned long long>(summary.xruns),
                        static_cast<long long>(summary.underrunFrames));
        } else {
            std::printf("3. through JACK: the session failed (status %d)\n", status);
        }
    } else {
        std::printf("3. through JACK: the server did not start (see %s/jackd.log)\n", dir.c_str());
    }
    std::system(("kill $(cat '" + dir + "/jackd.pid') 2>/dev/null; while kill -0 $(cat '" + dir +
                 "/jackd.pid') 2>/dev/null; do sleep 0.05; done")
                    .c_str());
    std::filesystem::remove_all(dir);
}

/// Thread CPU time, ns.
std::int64_t cpuNow() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return std::int64_t(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

/// 4. The per-callback overhead: a graph file (by default the strips graph) through LiveGraph
/// at several block sizes, the same audio each time; thread CPU time per frame, the median of
/// `rounds` alternated rounds. A cost per block shows as ns per frame growing as blocks shrink;
/// the fit t(block) = fixed + perFrame * block gives both.
void benchBlockSizes(const std::string& graphPath, double seconds, int rounds) {
    std::string path = graphPath;
    const std::string temp =
        (std::filesystem::temp_directory_path() / ("bench_live_sizes_" + std::to_string(::getpid()) + ".yaml")).string();
    if (path.empty()) {
        std::ofstream(temp) << sg::bench::stripsGraph(32);
        path = temp;
    }
    const int sizes[] = {16, 32, 64, 128, 256, 1024};
    std::vector<std::unique_ptr<live::LiveGraph>> graphs;
    int channels = 0;
    for (int size : sizes) {
        live::LiveFormat format;
        format.maxBlockFrames = size;
        format.sourceChannels = 32;
        Diagnostics diags;
        std::string error;
        auto graph = live::LiveGraph::create(path, {}, format, diags, error);
        if (!graph) {
            std::fprintf(stderr, "%s%s\n", diags.formatAll().c_str(), error.c_str());
            std::exit(1);
        }
        graph->warmUp();
        channels = graph->inputChannels();
        graphs.push_back(std::move(graph));
    }
    if (!temp.empty()) std::filesystem::remove(temp);
    const int frames = int(seconds * kRate) / 1024 * 1024;
    const AudioBuffer source = bench::noise(channels, frames, 0.125f);
    AudioBuffer out(2, 1024);
    std::vector<std::vector<double>> nsPerFrame(std::size(sizes));
    for (int round = 0; round < rounds; ++round) {
        for (std::size_t i = 0; i < std::size(sizes); ++i) {
            live::LiveGraph& graph = *graphs[i];
            const int block = sizes[i];
            graph.restart();
            const std::int64_t start = cpuNow();
            for (int at = 0; at < frames; at += block)
                graph.process(source.view().frameRange(at, block), out.view().frameRange(0, block));
            nsPerFrame[i].push_back(double(cpuNow() - start) / frames);
        }
    }
    std::printf("4. %s through LiveGraph, %d s of noise, thread CPU time, median of %d rounds:\n",
                graphPath.empty() ? "the strips graph" : graphPath.c_str(), frames / int(kRate), rounds);
    std::vector<double> medians;
    for (std::size_t i = 0; i < std::size(sizes); ++i) {
        auto v = nsPerFrame[i];
        std::sort(v.begin(), v.end());
        medians.push_back(v[v.size() / 2]);
        std::printf("  block %5d: %7.1f ns per frame, %8.2f us per block (%.2f%% of its period)\n", sizes[i], medians.back(),
                    medians.back() * sizes[i] / 1000, 100 * medians.back() * 1e-9 * kRate);
    }
    // Least squares over the sizes: t(block) = fixed + perFrame * block (ns).
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    const double n = double(std::size(sizes));
    for (std::size_t i = 0; i < std::size(sizes); ++i) {
        const double x = sizes[i], y = medians[i] * sizes[i];
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx), fixed = (sy - slope * sx) / n;
    std::printf("  fit: %.2f us fixed per block + %.1f ns per frame (at 64 frames the fixed part is %.0f%% of the block)\n",
                fixed / 1000, slope, 100 * fixed / (fixed + slope * 64));
}

} // namespace

int main(int argc, char** argv) {
    double seconds = 60;
    bool jack = true, sizesOnly = false;
    std::string graph;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = std::max(1.0, std::atof(argv[++i]));
        else if (!std::strcmp(argv[i], "--quick"))
            seconds = 10;
        else if (!std::strcmp(argv[i], "--no-jack"))
            jack = false;
        else if (!std::strcmp(argv[i], "--sizes"))
            sizesOnly = true;
        else if (!std::strcmp(argv[i], "--graph") && i + 1 < argc)
            graph = argv[++i];
    }
    if (sizesOnly) {
        benchBlockSizes(graph, std::min(seconds, 20.0), 5);
        return 0;
    }
    std::printf("bench_live: 32-strip mixing graph at %d-frame blocks, %.0f s of audio per measurement, deadline %.1f us\n",
                kBlock, seconds, kDeadlineUs);
    benchExecutor(seconds);
    benchEngine(seconds);
    if (jack) benchJack(std::min(seconds, 20.0));
    return 0;
}
