// Shared helpers for tests: paths, temporary folders, running the CLI, signal generators.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sg::test {

/// The project's source folder (for graphs/ and tests/data/).
std::string sourceDir();
/// Path of the built `stagegraph` command.
std::string cliPath();

/// A fresh temporary folder, removed with everything in it on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    /// path() + "/" + name
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    /// Writes `text` to file(name) and returns its path.
    std::string write(const std::string& name, const std::string& text) const;
    /// Names of the entries in the folder, sorted.
    std::vector<std::string> list() const;

private:
    std::string path_;
};

/// Exit status and captured output of a command.
struct CommandResult {
    int status = -1;
    std::string out;
    std::string err;
};
/// Runs `stagegraph <arguments>` (arguments are passed to /bin/sh as written).
CommandResult runCli(const std::string& arguments);
/// Runs a shell command line.
CommandResult runShell(const std::string& commandLine);

/// A sine of `frequencyHz` at `amplitude` (linear), `frames` long, phase in radians.
std::vector<float> sine(double frequencyHz, double amplitude, double sampleRate, std::int64_t frames, double phase = 0);
/// Deterministic white noise in [-amplitude, amplitude] (xorshift, seeded).
std::vector<float> noise(std::int64_t frames, float amplitude, std::uint32_t seed);
/// Hostile material: noise(frames, 0.25, seed) plus a tone of `toneHz` at 0.05 (near Nyquist, say),
/// driven +20 dB and clipped at full scale.
std::vector<float> drivenNoise(std::int64_t frames, double toneHz, double sampleRate, std::uint32_t seed);

} // namespace sg::test

#include "core/Compiler.h"
#include "core/Diagnostics.h"

#include <functional>
#include <memory>

namespace sg::test {

/// Loads YAML text (as file `name`, `use:` paths relative to `baseDir`) and compiles it.
std::unique_ptr<Program> compileYaml(const std::string& yaml, Diagnostics& diags, const CompileOptions& options = {},
                                     const std::string& name = "test.yaml", const std::string& baseDir = ".");

/// Planar signal: [channel][frame].
using Planar = std::vector<std::vector<float>>;

/// Runs `frames` frames through the program's executor from its current state, cutting the
/// stream into host blocks whose sizes come from `nextBlock` (called until all frames are
/// done; results are clamped to what is left). Returns one Planar per external output.
std::vector<Planar> renderBlocks(Executor& executor, const std::vector<Planar>& inputs, std::int64_t frames,
                                 const std::function<int()>& nextBlock);
/// Same, with a fixed host block size.
std::vector<Planar> renderFixed(Executor& executor, const std::vector<Planar>& inputs, std::int64_t frames, int block);

/// True if both are bit-identical (memcmp), with a message naming the first difference.
bool bitIdentical(const std::vector<Planar>& a, const std::vector<Planar>& b, std::string* where = nullptr);

} // namespace sg::test
