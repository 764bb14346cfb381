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

} // namespace sg::test
