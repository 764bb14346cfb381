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

CommandResult runCli(const std::string& arguments) { return runShell("'" + cliPath() + "' " + arguments); }

std::vector<float> sine(double frequencyHz, double amplitude, double sampleRate, std::int64_t frames, double phase) {
    std::vector<float> out(std::size_t(frames));
    for (std::int64_t n = 0; n < frames; ++n)
        out[std::size_t(n)] = float(amplitude * std::sin(2 * M_PI * frequencyHz * double(n) / sampleRate + phase));
    return out;
}

std::vector<float> noise(std::int64_t frames, float amplitude, std::uint32_t seed) {
    std::vector<float> out(std::size_t(frames));
    std::uint32_t s = seed ? seed : 1;
    for (auto& v : out) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        v = amplitude * (float(double(s) / 4294967295.0) * 2.0f - 1.0f);
    }
    return out;
}

} // namespace sg::test
