#include "host/cli/Demo.h"

#include "host/cli/Render.h"
#include "host/io/AudioFile.h"
#include "host/io/TerminalText.h"
#include "nodes/meters/LoudnessMeter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

constexpr double kDemoSampleRate = 48000;
constexpr double kDemoSeconds = 10;
constexpr const char* kDemoGraph = "mastering/streaming.yaml";

void printError(const std::string& message) {
    std::fprintf(stderr, "stagegraph demo: error: %s\n", io::terminalLines(message).c_str());
}

/// A temporary folder removed with its contents on destruction (unless released).
class ScratchFolder {
public:
    ScratchFolder() {
        std::error_code ec;
        std::string pattern = (fs::temp_directory_path(ec) / "stagegraph-demo-XXXXXX").string();
        if (::mkdtemp(pattern.data())) path_ = pattern;
    }
    ~ScratchFolder() {
        std::error_code ec;
        if (!path_.empty()) fs::remove_all(path_, ec);
    }
    ScratchFolder(const ScratchFolder&) = delete;
    ScratchFolder& operator=(const ScratchFolder&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

/// PolyBLEP correction for a sawtooth discontinuity (Välimäki & Huovilainen 2007): phase t in
/// [0, 1), increment dt per sample.
double polyBlep(double t, double dt) {
    if (t < dt) {
        t /= dt;
        return t + t - t * t - 1.0;
    }
    if (t > 1.0 - dt) {
        t = (t - 1.0) / dt;
        return t * t + t + t + 1.0;
    }
    return 0.0;
}

std::string formatDb(double db) {
    if (!std::isfinite(db)) return "-inf";
    char text[32];
    std::snprintf(text, sizeof text, "%.2f", db);
    return text;
}

std::string formatChange(double before, double after) {
    if (!std::isfinite(before) || !std::isfinite(after)) return "";
    char text[32];
    std::snprintf(text, sizeof text, "%+.2f dB", after - before);
    return text;
}

bool readWholeFile(const std::string& path, AudioBuffer& out, std::string& error) {
    io::AudioFileReader reader;
    error = reader.open(path);
    if (!error.empty()) return false;
    out = AudioBuffer(reader.channels(), int(reader.frames()));
    if (reader.read(out.view()) != reader.frames()) {
        error = reader.error().empty() ? "cannot read " + path : reader.error();
        return false;
    }
    return true;
}

/// `audio` through a BS.1770-5 meter (an unprepared meter, channels() == 0, if it cannot take it).
LoudnessMeter measureLoudness(const AudioBuffer& audio, double sampleRate) {
    LoudnessMeter meter;
    if (!meter.prepare(sampleRate, audio.channels()).empty()) return LoudnessMeter();
    std::vector<const float*> channels;
    for (int c = 0; c < audio.channels(); ++c) channels.push_back(audio.channel(c));
    meter.process(channels.data(), audio.frames());
    return meter;
}

std::string executableFolder() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.parent_path().string();
}

} // namespace

// ---- public helpers ----------------------------------------------------------------------

double peakDbfs(const float* samples, int frames) {
    float peak = 0;
    for (int i = 0; i < frames; ++i) peak = std::max(peak, std::abs(samples[i]));
    return peak > 0 ? 20.0 * std::log10(double(peak)) : -std::numeric_limits<double>::infinity();
}

double rmsDbfs(const float* samples, int frames) {
    double sumSquares = 0;
    for (int i = 0; i < frames; ++i) sumSquares += double(samples[i]) * double(samples[i]);
    return sumSquares > 0 && frames > 0 ? 10.0 * std::log10(sumSquares / frames) : -std::numeric_limits<double>::infinity();
}

std::optional<double> integratedLoudnessLufs(const AudioBuffer& audio, double sampleRate) {
    const LoudnessMeter meter = measureLoudness(audio, sampleRate);
    if (meter.channels() == 0 || !std::isfinite(meter.integratedLufs())) return std::nullopt;
    return meter.integratedLufs();
}

std::optional<double> truePeakDbtp(const AudioBuffer& audio, double sampleRate) {
    const LoudnessMeter meter = measureLoudness(audio, sampleRate);
    if (meter.channels() == 0 || !std::isfinite(meter.truePeakDbtp())) return std::nullopt;
    return meter.truePeakDbtp();
}

std::vector<std::string> graphSearchFolders() {
    std::vector<std::string> folders;
    if (const char* env = std::getenv("STAGEGRAPH_GRAPHS"); env && *env) folders.emplace_back(env);
    if (const std::string exe = executableFolder(); !exe.empty()) {
        folders.push_back((fs::path(exe) / ".." / "graphs").lexically_normal().string());
        folders.push_back((fs::path(exe) / ".." / ".." / "graphs").lexically_normal().string());
        folders.push_back((fs::path(exe) / ".." / "share" / "stagegraph" / "graphs").lexically_normal().string());
    }
#ifdef STAGEGRAPH_SOURCE_DIR
    folders.push_back((fs::path(STAGEGRAPH_SOURCE_DIR) / "graphs").lexically_normal().string());
#endif
    return folders;
}

std::string findShippedGraph(const std::string& relativePath) {
    for (const auto& folder : graphSearchFolders()) {
        std::error_code ec;
        const fs::path candidate = fs::path(folder) / relativePath;
        if (fs::is_regular_file(candidate, ec)) return candidate.string();
    }
    return {};
}

AudioBuffer makeDemoMix(double sampleRate, double seconds) {
    const int frames = int(std::lround(sampleRate * seconds));
    std::vector<double> left(std::size_t(frames), 0.0), right(std::size_t(frames), 0.0);
    const double twoPi = 2.0 * M_PI;

    // Pad: an A minor chord, two detuned band-limited saws per note, a little wider on the
    // right, through a one-pole low-pass at 1.8 kHz, swelling slowly.
    const double notesHz[] = {110.0, 164.81, 220.0, 261.63, 329.63};
    const double centsLeft[] = {-7.0, 7.0}, centsRight[] = {-9.0, 10.0};
    for (int side = 0; side < 2; ++side) {
        std::vector<double>& out = side == 0 ? left : right;
        const double* cents = side == 0 ? centsLeft : centsRight;
        double lowpass = 0;
        const double lowpassCoefficient = 1.0 - std::exp(-twoPi * 1800.0 / sampleRate);
        std::vector<double> phases;
        std::vector<double> increments;
        int voice = 0;
        for (double note : notesHz) {
            for (int d = 0; d < 2; ++d) {
                increments.push_back(note * std::pow(2.0, cents[d] / 1200.0) / sampleRate);
                phases.push_back(std::fmod(0.137 * (voice + 1) + 0.31 * side, 1.0));
                ++voice;
            }
        }
        for (int n = 0; n < frames; ++n) {
            double sum = 0;
            for (std::size_t v = 0; v < phases.size(); ++v) {
                double& t = phases[v];
                sum += (2.0 * t - 1.0) - polyBlep(t, increments[v]);
                t += increments[v];
                if (t >= 1.0) t -= 1.0;
            }
            lowpass += lowpassCoefficient * (sum - lowpass);
            const double swell = 0.75 + 0.25 * std::sin(twoPi * 0.1 * n / sampleRate);
            out[std::size_t(n)] += 0.05 * swell * lowpass;
        }
    }

    // Kick: every 0.5 s, a sine falling from 120 Hz to 45 Hz with a 0.25 s decay, centred.
    const int beatFrames = int(std::lround(0.5 * sampleRate));
    for (int start = 0; start < frames; start += beatFrames) {
        double phase = 0;
        for (int n = 0; n < beatFrames * 2 && start + n < frames; ++n) {
            const double t = n / sampleRate;
            const double frequencyHz = 45.0 + 75.0 * std::exp(-t / 0.04);
            const double value = 0.9 * std::exp(-t / 0.25) * std::sin(phase);
            phase += twoPi * frequencyHz / sampleRate;
            left[std::size_t(start + n)] += value;
            right[std::size_t(start + n)] += value;
        }
    }

    // Hats: high-passed noise bursts (30 ms decay) on the off-beats, quieter 16th ghosts, panned
    // right. Deterministic noise (xorshift32).
    std::uint32_t seed = 0x2545F491u;
    auto white = [&seed] {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        return double(seed) / 2147483648.0 - 1.0;
    };
    const int sixteenth = beatFrames / 4;
    const double highpassCoefficient = std::exp(-twoPi * 7000.0 / sampleRate);
    for (int step = 0, start = 0; start < frames; ++step, start += sixteenth) {
        const double level = step % 4 == 2 ? 0.25 : (step % 2 == 1 ? 0.07 : 0.0);
        if (level == 0) continue;
        double previousInput = 0, highpass = 0;
        for (int n = 0; n < sixteenth && start + n < frames; ++n) {
            const double x = white();
            highpass = highpassCoefficient * (highpass + x - previousInput); // one-pole high-pass
            previousInput = x;
            const double value = level * std::exp(-(n / sampleRate) / 0.03) * highpass;
            left[std::size_t(start + n)] += 0.7 * value;
            right[std::size_t(start + n)] += value;
        }
    }

    // 5 ms fades, then peak at -6 dBFS.
    const int fadeFrames = std::min(frames / 2, int(0.005 * sampleRate));
    for (int n = 0; n < fadeFrames; ++n) {
        const double g = double(n) / fadeFrames;
        left[std::size_t(n)] *= g;
        right[std::size_t(n)] *= g;
        left[std::size_t(frames - 1 - n)] *= g;
        right[std::size_t(frames - 1 - n)] *= g;
    }
    double peak = 0;
    for (int n = 0; n < frames; ++n) peak = std::max({peak, std::abs(left[std::size_t(n)]), std::abs(right[std::size_t(n)])});
    const double gain = peak > 0 ? std::pow(10.0, -6.0 / 20.0) / peak : 0.0;
    AudioBuffer mix(2, frames);
    for (int n = 0; n < frames; ++n) {
        mix.channel(0)[n] = float(left[std::size_t(n)] * gain);
        mix.channel(1)[n] = float(right[std::size_t(n)] * gain);
    }
    return mix;
}

// ---- the command ---------------------------------------------------------------------------

int runDemo(const std::vector<std::string>& args) {
    std::string keepFolder;
    bool help = false;
    if (std::string error = parseDemoArguments(args, keepFolder, help); !error.empty()) {
        printError(error);
        std::fputs("(see 'stagegraph demo --help')\n", stderr);
        return 2;
    }
    if (help) {
        std::fputs(demoUsage(), stdout);
        return 0;
    }

    const std::string graphPath = findShippedGraph(kDemoGraph);
    if (graphPath.empty()) {
        std::string looked;
        for (const auto& folder : graphSearchFolders()) looked += "\n  " + folder;
        printError(std::string("cannot find the shipped graph ") + kDemoGraph + "; looked in:" + looked +
                   "\n(set STAGEGRAPH_GRAPHS to the graphs folder)");
        return 1;
    }

    ScratchFolder scratch;
    std::string folder = keepFolder;
    if (folder.empty()) {
        folder = scratch.path();
        if (folder.empty()) {
            printError("cannot create a temporary folder");
            return 1;
        }
    } else {
        std::error_code ec;
        fs::create_directories(folder, ec);
        if (ec) {
            printError("cannot create '" + folder + "': " + ec.message());
            return 1;
        }
    }
    const std::string mixPath = (fs::path(folder) / "demo-mix.wav").string();
    const std::string masterPath = (fs::path(folder) / "demo-master.wav").string();

    // The mix, as 32-bit float so "before" is exactly what was synthesised.
    const AudioBuffer mix = makeDemoMix(kDemoSampleRate, kDemoSeconds);
    {
        io::AudioFileWriter writer;
        std::string error = writer.open(mixPath, io::OutputFormat::Wav32f, kDemoSampleRate, mix.channels());
        if (error.empty()) error = writer.write(mix.view());
        if (error.empty()) error = writer.commit();
        if (!error.empty()) {
            printError(error);
            return 1;
        }
    }

    // The master, through the same path as `stagegraph render`.
    RenderRequest request;
    request.graphPath = graphPath;
    request.inputs = {mixPath};
    request.outputs = {masterPath};
    request.format = io::OutputFormat::Wav24;
    request.printSummary = false;
    RenderSummary summary;
    if (const int status = render(request, &summary); status != 0) return status;

    AudioBuffer master;
    if (std::string error; !readWholeFile(masterPath, master, error)) {
        printError(error);
        return 1;
    }

    std::printf("stagegraph demo: a %.1f s synthetic stereo mix (pad, kick, hats) at %.0f Hz\n", kDemoSeconds, kDemoSampleRate);
    std::printf("through %s\n\n", io::terminalText(graphPath).c_str());
    std::printf("                 %12s %12s %10s\n", "before", "after", "change");
    const char* channelNames[] = {"L", "R"};
    for (int measure = 0; measure < 2; ++measure) {
        for (int c = 0; c < std::min(mix.channels(), master.channels()); ++c) {
            const double before = measure == 0 ? peakDbfs(mix.channel(c), mix.frames()) : rmsDbfs(mix.channel(c), mix.frames());
            const double after =
                measure == 0 ? peakDbfs(master.channel(c), master.frames()) : rmsDbfs(master.channel(c), master.frames());
            std::printf("  %-5s %-8s %7s dBFS %7s dBFS %10s\n", measure == 0 ? "peak" : "RMS", c < 2 ? channelNames[c] : "",
                        formatDb(before).c_str(), formatDb(after).c_str(), formatChange(before, after).c_str());
        }
    }
    const auto loudnessBefore = integratedLoudnessLufs(mix, kDemoSampleRate);
    const auto loudnessAfter = integratedLoudnessLufs(master, summary.sampleRate);
    if (loudnessBefore && loudnessAfter)
        std::printf("  %-14s %7.2f LUFS %7.2f LUFS %+8.2f LU\n", "loudness", *loudnessBefore, *loudnessAfter,
                    *loudnessAfter - *loudnessBefore);
    else
        std::printf("  %-14s (nothing above the -70 LUFS gate)\n", "loudness");
    const auto peakBefore = truePeakDbtp(mix, kDemoSampleRate);
    const auto peakAfter = truePeakDbtp(master, summary.sampleRate);
    if (peakBefore && peakAfter)
        std::printf("  %-14s %7.2f dBTP %7.2f dBTP %10s\n", "true peak", *peakBefore, *peakAfter,
                    formatChange(*peakBefore, *peakAfter).c_str());
    std::printf("  %-14s %d frames (%.2f ms), trimmed: the master lines up with the mix\n", "latency", summary.latencyFrames,
                1000.0 * summary.latencyFrames / summary.sampleRate);
    std::printf("  %-14s %.3f s (%.0fx realtime)\n\n", "rendered in", summary.wallSeconds,
                summary.wallSeconds > 0 ? double(summary.frames) / summary.sampleRate / summary.wallSeconds : 0.0);
    if (!keepFolder.empty())
        std::printf("files: %s\n       %s\n", io::terminalText(mixPath).c_str(), io::terminalText(masterPath).c_str());
    else
        std::printf("(the files were temporary; keep them with --keep DIR)\n");
    return 0;
}

} // namespace sg::cli
