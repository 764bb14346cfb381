#include "support/TestSupport.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::test {

std::string sourceDir() {
#ifdef STAGEGRAPH_SOURCE_DIR
    return STAGEGRAPH_SOURCE_DIR;
#else
    return ".";
#endif
}

std::string cliPath() {
#ifdef STAGEGRAPH_CLI
    return STAGEGRAPH_CLI;
#else
    return "stagegraph";
#endif
}

TempDir::TempDir() {
    std::string pattern = (fs::temp_directory_path() / "stagegraph-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::string TempDir::write(const std::string& name, const std::string& text) const {
    std::string p = file(name);
    fs::create_directories(fs::path(p).parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
}

std::vector<std::string> TempDir::list() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
}

static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

CommandResult runShell(const std::string& commandLine) {
    TempDir tmp;
    std::string outFile = tmp.file("out"), errFile = tmp.file("err");
    std::string full = "(" + commandLine + ") </dev/null >" + outFile + " 2>" + errFile;
    int raw = std::system(full.c_str());
    CommandResult r;
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + (WIFSIGNALED(raw) ? WTERMSIG(raw) : 0);
    r.out = slurp(outFile);
    r.err = slurp(errFile);
    return r;
}

CommandResult runCli(const std::string& arguments) {
    std::string line = "'";
    line += cliPath();
    line += "' ";
    line += arguments;
    return runShell(line);
}

std::vector<float> sine(double frequencyHz, double amplitude, double sampleRate, std::int64_t frames, double phase) {
    std::vector<float> out(static_cast<std::size_t>(frames));
    for (std::int64_t n = 0; n < frames; ++n)
        out[std::size_t(n)] = float(amplitude * std::sin(2 * M_PI * frequencyHz * double(n) / sampleRate + phase));
    return out;
}

std::vector<float> noise(std::int64_t frames, float amplitude, std::uint32_t seed) {
    std::vector<float> out(static_cast<std::size_t>(frames));
    std::uint32_t s = seed ? seed : 1;
    for (auto& v : out) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        v = amplitude * (float(double(s) / 4294967295.0) * 2.0f - 1.0f);
    }
    return out;
}

} // namespace sg::test

#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"

#include <cstring>

namespace sg::test {

std::unique_ptr<Program> compileYaml(const std::string& yaml, Diagnostics& diags, const CompileOptions& options,
                                     const std::string& name, const std::string& baseDir) {
    GraphDesc desc = loadGraphFromString(yaml, name, baseDir, diags);
    // As the hosts do (loadAndCompile): a loader error does not hide the compiler's.
    const bool loaded = !diags.hasErrors();
    auto program = desc.version != 0 ? compileGraph(desc, Registry::builtin(), options, diags) : nullptr;
    return loaded ? std::move(program) : nullptr;
}

std::vector<Planar> renderBlocks(Executor& executor, const std::vector<Planar>& inputs, std::int64_t frames,
                                 const std::function<int()>& nextBlock) {
    std::vector<Planar> outputs;
    for (const auto& port : executor.outputs())
        outputs.emplace_back(std::size_t(port.channels), std::vector<float>(std::size_t(frames)));
    std::vector<std::vector<float>> inScratch, outScratch;
    for (std::int64_t done = 0; done < frames;) {
        int block = int(std::min<std::int64_t>(std::max(1, nextBlock()), frames - done));
        std::vector<AudioBuffer> inBuffers, outBuffers;
        std::vector<ConstAudioView> inViews;
        std::vector<AudioView> outViews;
        for (std::size_t i = 0; i < executor.inputs().size(); ++i) {
            AudioBuffer b(executor.inputs()[i].channels, block);
            for (int c = 0; c < b.channels(); ++c)
                std::memcpy(b.channel(c), inputs[i][std::size_t(c)].data() + done, sizeof(float) * std::size_t(block));
            inBuffers.push_back(std::move(b));
        }
        for (const auto& port : executor.outputs()) outBuffers.emplace_back(port.channels, block);
        for (auto& b : inBuffers) inViews.push_back(b.view());
        for (auto& b : outBuffers) outViews.push_back(b.view());
        executor.process(inViews, outViews);
        for (std::size_t o = 0; o < outBuffers.size(); ++o)
            for (int c = 0; c < outBuffers[o].channels(); ++c)
                std::memcpy(outputs[o][std::size_t(c)].data() + done, outBuffers[o].channel(c),
                            sizeof(float) * std::size_t(block));
        done += block;
    }
    return outputs;
}

std::vector<Planar> renderFixed(Executor& executor, const std::vector<Planar>& inputs, std::int64_t frames, int block) {
    return renderBlocks(executor, inputs, frames, [block] { return block; });
}

bool bitIdentical(const std::vector<Planar>& a, const std::vector<Planar>& b, std::string* where) {
    if (a.size() != b.size()) {
        if (where) *where = "output count differs";
        return false;
    }
    for (std::size_t o = 0; o < a.size(); ++o) {
        if (a[o].size() != b[o].size()) {
            if (where) *where = "channel count differs";
            return false;
        }
        for (std::size_t c = 0; c < a[o].size(); ++c) {
            if (a[o][c].size() != b[o][c].size()) {
                if (where) *where = "length differs";
                return false;
            }
            if (std::memcmp(a[o][c].data(), b[o][c].data(), sizeof(float) * a[o][c].size()) != 0) {
                std::size_t n = 0;
                while (n < a[o][c].size() && std::memcmp(&a[o][c][n], &b[o][c][n], sizeof(float)) == 0) ++n;
                if (where)
                    *where = "output " + std::to_string(o) + " channel " + std::to_string(c) + " frame " + std::to_string(n) +
                             ": " + std::to_string(a[o][c][n]) + " vs " + std::to_string(b[o][c][n]);
                return false;
            }
        }
    }
    return true;
}

std::vector<float> drivenNoise(std::int64_t frames, double toneHz, double sampleRate, std::uint32_t seed) {
    std::vector<float> out = noise(frames, 0.25f, seed);
    const std::vector<float> tone = sine(toneHz, 0.05, sampleRate, frames);
    for (std::size_t n = 0; n < out.size(); ++n) out[n] = std::clamp(10.0f * (out[n] + tone[n]), -1.0f, 1.0f);
    return out;
}

} // namespace sg::test
