// Benchmark: the graph on 1 and on N worker threads (InstanceOptions::threads), no file I/O.
// W2 (tests/bench/graphs/w2.yaml: 32 strips into a bus, 3 minutes) and W1 (the mastering chain,
// 10 minutes stereo), alternated run by run. Prints medians of wall time, process CPU time, the
// calling thread's CPU time and the other threads' (process minus caller), and checks that every
// thread count gives the same bits as one thread.
// Usage: bench_threads [--runs N] [--threads N] [--quick] [--graphs DIR] [--block N (1024)] [--only w1|w2]
#include "bench/BenchMaterial.h"
#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/Registry.h"
#include "core/WorkerPool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

using namespace sg;

namespace {

/// tests/bench/graphs/, beside this file; with a relative __FILE__ (ccache's base folder),
/// relative to the source tree: run from there, or pass --graphs DIR.
std::string graphsDir = [] {
    const std::string here = __FILE__;
    const std::string dir = here.substr(0, here.find_last_of('/')) + "/graphs";
    return here.front() == '/' ? dir : std::string("tests/bench/graphs");
}();

std::string graphPath(const char* name) { return graphsDir + "/" + name; }

int blockFrames = 1024; ///< the executor's internal block (render's default)

std::unique_ptr<Program> load(const std::string& path, int threads) {
    Diagnostics diags;
    auto compiled = loadAndCompile(path, {}, Registry::builtin(), diags);
    InstanceOptions options;
    options.maxBlockFrames = blockFrames;
    options.threads = threads;
    auto program = compiled ? instantiate(*compiled, options, diags) : nullptr;
    if (!program) {
        std::fputs(diags.formatAll().c_str(), stderr);
        std::exit(1);
    }
    return program;
}

double cpuSeconds(clockid_t clock) {
    timespec t{};
    clock_gettime(clock, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

struct Timing {
    double wall = 0, process = 0, caller = 0;
    std::vector<WorkerPool::WaitCounts> waits;   ///< per worker, during the run
    std::uint64_t hash = 1469598103934665603ull; ///< FNV-1a of the output bits
};

/// Pushes `seconds` of a 10 s noise loop through the program.
Timing run(Program& program, double seconds) {
    Executor& ex = program.executor();
    ex.reset();
    // Host blocks of 16384 frames, as render hands a multi-threaded executor (a round of
    // internal blocks per call); the single-threaded executor cuts them the same way.
    const int block = blockFrames * std::max(1, 16384 / blockFrames);
    const int loopFrames = 48000 * 10 / block * block;
    bench::BlockBuffers io(ex, loopFrames, block, 0.25f);
    const std::int64_t total = std::int64_t(seconds * 48000) / block * block;
    Timing t;
    const WorkerPool* pool = ex.workerPool();
    std::vector<WorkerPool::WaitCounts> waits0;
    for (int w = 0; pool && w < pool->workers(); ++w) waits0.push_back(pool->waitCounts(w));
    const double process0 = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID), caller0 = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);
    const auto start = std::chrono::steady_clock::now();
    for (std::int64_t done = 0; done < total; done += block) {
        const int offset = int(done % loopFrames);
        io.at(offset);
        ex.process(io.inViews, io.outViews);
        for (const auto& o : io.outputs)
            for (int c = 0; c < o.channels(); ++c) {
                const unsigned char* bytes = reinterpret_cast<const unsigned char*>(o.channel(c));
                for (std::size_t k = 0; k < sizeof(float) * block; k += 4) { // a sample's bits at a time
                    std::uint32_t word;
                    std::memcpy(&word, bytes + k, 4);
                    t.hash = (t.hash ^ word) * 1099511628211ull;
                }
            }
    }
    t.wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    t.process = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID) - process0;
    t.caller = cpuSeconds(CLOCK_THREAD_CPUTIME_ID) - caller0;
    for (int w = 0; pool && w < pool->workers(); ++w) {
        const WorkerPool::WaitCounts now = pool->waitCounts(w);
        t.waits.push_back({now.ready - waits0[std::size_t(w)].ready, now.spun - waits0[std::size_t(w)].spun,
                           now.yielded - waits0[std::size_t(w)].yielded, now.slept - waits0[std::size_t(w)].slept,
                           now.yields - waits0[std::size_t(w)].yields});
    }
    return t;
}

} // namespace

int main(int argc, char** argv) {
    int runs = 5, threads = 2;
    double scale = 1;
    std::string only; // a graph file's stem: that workload alone
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) threads = std::max(2, std::atoi(argv[++i]));
        if (!std::strcmp(argv[i], "--quick")) scale = 0.1;
        if (!std::strcmp(argv[i], "--graphs") && i + 1 < argc) graphsDir = argv[++i];
        if (!std::strcmp(argv[i], "--block") && i + 1 < argc) blockFrames = std::clamp(std::atoi(argv[++i]), 1, 8192);
        if (!std::strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    }
    struct Workload {
        const char* name;
        const char* file;
        double seconds;
    };
    bool allSame = true;
    for (const Workload& w :
         {Workload{"W2 (32 strips, 3 min)", "w2.yaml", 180 * scale}, Workload{"W1 (chain, 10 min)", "w1.yaml", 600 * scale}}) {
        if (!only.empty() && only + ".yaml" != w.file) continue;
        auto one = load(graphPath(w.file), 1);
        auto many = load(graphPath(w.file), threads);
        std::vector<double> wall[2], process[2], caller[2];
        std::uint64_t hash[2] = {0, 0};
        std::vector<WorkerPool::WaitCounts> waits; // the last multi-threaded run's
        for (int r = 0; r < runs; ++r)
            for (int k = 0; k < 2; ++k) {
                const Timing t = run(k == 0 ? *one : *many, w.seconds);
                wall[k].push_back(t.wall);
                process[k].push_back(t.process);
                caller[k].push_back(t.caller);
                hash[k] = t.hash;
                if (k == 1) waits = t.waits;
            }
        std::printf("%s, medians of %d alternated runs, seconds:\n", w.name, runs);
        for (int k = 0; k < 2; ++k) {
            Program& p = k == 0 ? *one : *many;
            std::printf("  %d thread%s (%d used): wall %.3f  CPU %.3f  (caller %.3f, others %.3f)  %.0fx realtime\n",
                        k == 0 ? 1 : threads, k == 0 ? " " : "s", p.executor().workerThreads(), bench::median(wall[k]),
                        bench::median(process[k]), bench::median(caller[k]),
                        std::max(0.0, bench::median(process[k]) - bench::median(caller[k])), w.seconds / bench::median(wall[k]));
        }
        for (std::size_t v = 0; v < waits.size(); ++v)
            std::printf("  worker %zu's waits (last run): %llu ready, %llu spun, %llu yielded (%llu yields), %llu slept\n", v,
                        static_cast<unsigned long long>(waits[v].ready), static_cast<unsigned long long>(waits[v].spun),
                        static_cast<unsigned long long>(waits[v].yielded), static_cast<unsigned long long>(waits[v].yields),
                        static_cast<unsigned long long>(waits[v].slept));
        std::printf("  speed-up (wall) %.2fx; output %s\n", bench::median(wall[0]) / bench::median(wall[1]),
                    hash[0] == hash[1] ? "bit-identical" : "DIFFERS");
        allSame &= hash[0] == hash[1];
    }
    return allSame ? 0 : 1;
}
