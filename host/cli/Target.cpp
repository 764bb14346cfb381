#include "host/cli/Target.h"

#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Node.h"
#include "core/OfflineRunner.h"
#include "core/Registry.h"
#include "core/Units.h"
#include "host/cli/Progress.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <unistd.h>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

/// Frames per block of pass 2.
constexpr int kPassBlockFrames = io::kChunkFrames;
/// The limiter of pass 2.
constexpr double kLimiterLookaheadMs = 5;
constexpr double kLimiterReleaseMs = 50;

std::string lowercase(std::string text) {
    for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

std::string trimmed(const std::string& text) {
    const auto first = text.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    const auto last = text.find_last_not_of(" \t");
    return text.substr(first, last - first + 1);
}

std::string presetNames() {
    std::string names;
    for (const auto& preset : loudnessPresets()) names += (names.empty() ? "" : ", ") + preset.name;
    return names;
}

std::string formatNumber(double value, const char* format = "%g") {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

std::string formatLevel(double value, const char* unit) {
    if (!std::isfinite(value)) return std::string("-inf ") + unit;
    return formatNumber(value, "%.2f") + " " + unit;
}

} // namespace

// ---- targets -------------------------------------------------------------------------------

const std::vector<LoudnessTarget>& loudnessPresets() {
    static const std::vector<LoudnessTarget> presets = {
        {"spotify", -14, -1}, {"apple", -16, -1},    {"youtube", -14, -1},
        {"amazon", -14, -2},  {"ebu-r128", -23, -1}, {"atsc-a85", -24, -2},
    };
    return presets;
}

std::string parseLoudnessTarget(const std::string& text, LoudnessTarget& out) {
    const std::string value = trimmed(text);
    const std::string expected = "a loudness such as -14LUFS, or a preset: " + presetNames();
    if (value.empty()) return "--target: expected " + expected;
    for (const auto& preset : loudnessPresets())
        if (lowercase(value) == preset.name) {
            out = preset;
            return {};
        }
    const ParsedQuantity parsed = parseQuantity(value, UnitKind::Loudness);
    if (!parsed.value) return "--target: expected " + expected + "; got '" + text + "'";
    const double lufs = *parsed.value;
    if (!(lufs >= kMinTargetLufs && lufs <= kMaxTargetLufs))
        return "--target: " + formatNumber(lufs) + " LUFS is out of range (" + formatNumber(kMinTargetLufs) + " .. " +
               formatNumber(kMaxTargetLufs) + " LUFS)";
    out = {"", lufs, -1};
    return {};
}

std::string parseCeiling(const std::string& text, double& ceilingDbtp) {
    const std::string value = trimmed(text);
    const bool hasUnit =
        std::any_of(value.begin(), value.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
    const ParsedQuantity parsed = parseQuantity(value, UnitKind::TruePeak);
    if (!parsed.value) return "--ceiling: expected a true-peak level such as -1dBTP, got '" + text + "'";
    if (!hasUnit) return "--ceiling: give the unit, e.g. " + value + "dBTP (got '" + text + "')";
    const double dbtp = *parsed.value;
    if (!(dbtp >= kMinCeilingDbtp && dbtp <= kMaxCeilingDbtp))
        return "--ceiling: " + formatNumber(dbtp) + " dBTP is out of range (" + formatNumber(kMinCeilingDbtp) + " .. " +
               formatNumber(kMaxCeilingDbtp) + " dBTP)";
    ceilingDbtp = dbtp;
    return {};
}

std::string parseMaxGain(const std::string& text, double& maxGainDb) {
    const ParsedQuantity parsed = parseQuantity(trimmed(text), UnitKind::Gain);
    if (!parsed.value || !std::isfinite(*parsed.value)) return "--max-gain: expected a gain such as 20dB, got '" + text + "'";
    if (!(*parsed.value >= 0 && *parsed.value <= kMaxMaxGainDb))
        return "--max-gain: " + formatNumber(*parsed.value) + " dB is out of range (0 .. " + formatNumber(kMaxMaxGainDb) + " dB)";
    maxGainDb = *parsed.value;
    return {};
}

// ---- measuring what is written ------------------------------------------------------------

std::string WrittenSampleMeter::prepare(double sampleRate, int channels, io::OutputFormat format, std::uint64_t ditherSeed) {
    if (auto error = meter_.prepare(sampleRate, channels); !error.empty()) return error;
    dither_.reseed(ditherSeed);
    bits_ = format == io::OutputFormat::Wav32f ? 0 : io::outputFormatBits(format);
    channels_ = channels;
    const std::size_t samples = std::size_t(io::kChunkFrames) * std::size_t(channels);
    if (bits_ > 0) {
        interleaved_.assign(samples, 0.0f);
        ditherScratch_.assign(samples, 0.0f);
        quantised_.assign(samples, 0);
        planar_ = AudioBuffer(channels, io::kChunkFrames);
    }
    return {};
}

void WrittenSampleMeter::process(const ConstAudioView& view) {
    const float* pointers[kLoudnessMaxChannels] = {};
    for (int done = 0; done < view.frames;) {
        const int frames = std::min(io::kChunkFrames, view.frames - done);
        const ConstAudioView part = view.frameRange(done, frames);
        if (bits_ == 0) {
            for (int c = 0; c < channels_; ++c) pointers[c] = part.channel(c);
        } else {
            const std::size_t count = std::size_t(frames) * std::size_t(channels_);
            io::interleave(part, interleaved_.data());
            io::quantize(interleaved_.data(), count, bits_, quantised_.data(), ditherScratch_.data(), dither_);
            // q is left-justified in 32 bits: q / 2^31 is the stored value, exactly, in float.
            constexpr float kScale = 1.0f / 2147483648.0f;
            for (int c = 0; c < channels_; ++c) {
                float* out = planar_.channel(c);
                for (int f = 0; f < frames; ++f)
                    out[f] = float(quantised_[std::size_t(f) * std::size_t(channels_) + std::size_t(c)]) * kScale;
                pointers[c] = out;
            }
        }
        meter_.process(pointers, frames);
        done += frames;
    }
}

// ---- the pass-1 scratch file ----------------------------------------------------------------

TempSampleFile::~TempSampleFile() {
    if (file_) std::fclose(file_);
}

std::string TempSampleFile::create(const std::string& folder, int channels) {
    if (file_) std::fclose(file_);
    file_ = nullptr;
    channels_ = channels;
    frames_ = 0;
    std::vector<std::string> candidates{folder.empty() ? std::string(".") : folder};
    std::error_code ec;
    if (const fs::path system = fs::temp_directory_path(ec); !ec) candidates.push_back(system.string());
    std::string firstError;
    for (const auto& place : candidates) {
        std::string pattern = (fs::path(place) / ".stagegraph-pass1.XXXXXX.tmp").string();
        const int fd = ::mkstemps(pattern.data(), 4);
        if (fd < 0) {
            if (firstError.empty()) firstError = "cannot create a temporary file in '" + place + "': " + std::strerror(errno);
            continue;
        }
        ::unlink(pattern.c_str()); // nothing to clean up on any path: the descriptor keeps it
        file_ = ::fdopen(fd, "w+b");
        if (!file_) {
            ::close(fd);
            if (firstError.empty()) firstError = "cannot open a temporary file in '" + place + "': " + std::strerror(errno);
            continue;
        }
        return {};
    }
    return firstError;
}

std::string TempSampleFile::write(const ConstAudioView& view) {
    if (!file_) return "temporary file is not open";
    const std::size_t samples = std::size_t(view.frames) * std::size_t(channels_);
    if (interleaved_.size() < samples) interleaved_.resize(samples);
    io::interleave(view, interleaved_.data());
    if (std::fwrite(interleaved_.data(), sizeof(float), samples, file_) != samples)
        return std::string("cannot write the temporary file: ") + std::strerror(errno);
    frames_ += view.frames;
    return {};
}

std::string TempSampleFile::rewind() {
    if (!file_) return "temporary file is not open";
    if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0)
        return std::string("cannot read the temporary file: ") + std::strerror(errno);
    return {};
}

std::int64_t TempSampleFile::read(const AudioView& view) {
    if (!file_) return -1;
    const std::size_t samples = std::size_t(view.frames) * std::size_t(channels_);
    if (interleaved_.size() < samples) interleaved_.resize(samples);
    const std::size_t got = std::fread(interleaved_.data(), sizeof(float), samples, file_);
    if (got < samples && std::ferror(file_)) return -1;
    const int frames = int(got / std::size_t(channels_));
    io::deinterleave(interleaved_.data(), view.frameRange(0, frames));
    return frames;
}

// ---- pass 2 --------------------------------------------------------------------------------

namespace {

struct PassOutcome {
    OutputFigures figures;
    double maxGainReductionDb = 0, meanGainReductionDb = 0, limitedPercent = 0;
};

/// The gain node's range, dB: larger gains are spread over several gain nodes.
constexpr double kGainNodeMaxDb = 40;
/// The limiter node's lowest ceiling, dBTP: a lower one is reached by scaling around it.
constexpr double kLimiterNodeMinCeilingDbtp = -20;

std::string numberText(double value) { return formatNumber(value, "%.17g"); }

/// Pass 2 as a graph: in -> gain -> limiter -> out. A gain beyond the gain node's range is
/// spread over several gain nodes; a limiter ceiling below the node's floor C0 uses a peak
/// limiter's scale invariance, limit_C(y) = a * limit_C0(y / a) with 20 log10(a) = C - C0: the
/// input is lowered by C - C0 more and raised by it after the limiter.
std::string pass2GraphYaml(int channels, double gainDb, double limiterCeilingDbtp) {
    double shiftDb = 0;
    if (limiterCeilingDbtp < kLimiterNodeMinCeilingDbtp) {
        shiftDb = limiterCeilingDbtp - kLimiterNodeMinCeilingDbtp; // negative
        limiterCeilingDbtp = kLimiterNodeMinCeilingDbtp;
    }
    const double preGainDb = gainDb - shiftDb;
    const int stages = std::max(1, int(std::ceil(std::fabs(preGainDb) / kGainNodeMaxDb)));
    std::string yaml = "stagegraph: 1\nname: target-pass-2\nstage: mastering\n";
    yaml += "inputs: {in: {channels: " + std::to_string(channels) + "}}\n";
    yaml += "outputs: {out: {channels: " + std::to_string(channels) + "}}\nnodes:\n";
    std::string chain = "in";
    for (int i = 0; i < stages; ++i) {
        const std::string name = stages == 1 ? "gain" : "gain" + std::to_string(i + 1);
        yaml += "  " + name + ": {type: gain, gain: " + numberText(preGainDb / stages) + " dB}\n";
        chain += " -> " + name;
    }
    yaml += "  limiter: {type: limiter, ceiling: " + numberText(limiterCeilingDbtp) +
            " dBTP, lookahead: " + numberText(kLimiterLookaheadMs) + " ms, release: " + numberText(kLimiterReleaseMs) + " ms}\n";
    chain += " -> limiter";
    if (shiftDb != 0) {
        yaml += "  restore: {type: gain, gain: " + numberText(shiftDb) + " dB}\n";
        chain += " -> restore";
    }
    yaml += "connections: [\"" + chain + " -> out\"]\n";
    return yaml;
}

/// The pass-1 scratch file, read back.
class ScratchFileSource final : public AudioSource {
public:
    explicit ScratchFileSource(TempSampleFile& file) : file_(file), remaining_(file.frames()) {}
    int channels() const override { return file_.channels(); }
    int read(const AudioView& block) override {
        const int frames = int(std::min<std::int64_t>(block.frames, remaining_));
        if (frames == 0) return 0;
        const std::int64_t got = file_.read(block.frameRange(0, frames));
        if (got < 0) return -1;
        remaining_ -= got;
        if (got < frames) remaining_ = 0; // ended early: the end
        return int(got);
    }

private:
    TempSampleFile& file_;
    std::int64_t remaining_;
};

/// The output file, and a meter of exactly what it stores.
class WriterSink final : public AudioSink {
public:
    WriterSink(io::AudioFileWriter& writer, WrittenSampleMeter& meter) : writer_(writer), meter_(meter) {}
    bool write(const ConstAudioView& block) override {
        error_ = writer_.write(block);
        if (!error_.empty()) return false;
        meter_.process(block);
        return true;
    }
    const std::string& error() const { return error_; }

private:
    io::AudioFileWriter& writer_;
    WrittenSampleMeter& meter_;
    std::string error_;
};

/// One run of pass 2: source -> [gain -> limiter, a compiled graph] -> writer (opened here),
/// measuring the stored samples. Returns "" or an error ("interrupted" when the flag was raised).
std::string runPass(TempSampleFile& source, double sampleRate, double gainDb, double limiterCeilingDbtp, const std::string& path,
                    io::OutputFormat format, const std::vector<std::string>& protectedPaths, io::AudioFileWriter& writer,
                    PassOutcome& outcome, const std::string& label, bool showProgress,
                    const volatile std::sig_atomic_t* interrupted) {
    const int channels = source.channels();
    Diagnostics diags;
    const GraphDesc desc = loadGraphFromString(pass2GraphYaml(channels, gainDb, limiterCeilingDbtp), "target pass 2", ".", diags);
    std::shared_ptr<const CompiledGraph> compiled;
    if (!diags.hasErrors()) compiled = compile(desc, Registry::builtin(), diags);
    InstanceOptions options;
    options.sampleRate = sampleRate;
    options.maxBlockFrames = kPassBlockFrames;
    std::unique_ptr<Program> program;
    if (compiled && !diags.hasErrors()) program = instantiate(*compiled, options, diags);
    if (!program || diags.hasErrors()) return "internal: the graph of pass 2 does not compile: " + diags.formatAll();

    WrittenSampleMeter meter;
    if (auto error = meter.prepare(sampleRate, channels, format); !error.empty()) return error;
    writer.discard();
    if (auto error = writer.open(path, format, sampleRate, channels, protectedPaths); !error.empty()) return error;
    if (auto error = source.rewind(); !error.empty()) return error;

    ProgressBar progress(label, source.frames(), stderr, showProgress && ProgressBar::isTerminal(stderr));
    std::atomic<bool> stop{interrupted && *interrupted};
    RunnerOptions runnerOptions;
    runnerOptions.blockFrames = kPassBlockFrames;
    runnerOptions.stop = &stop;
    runnerOptions.onProgress = [&](std::int64_t outputFrames) {
        progress.update(outputFrames);
        if (interrupted && *interrupted) stop.store(true, std::memory_order_relaxed);
    };
    ScratchFileSource input(source);
    WriterSink output(writer, meter);
    AudioSource* sources[] = {&input};
    AudioSink* sinks[] = {&output};
    OfflineRunner runner(program->executor(), runnerOptions);
    const RunResult result = runner.run(sources, sinks);
    progress.finish();
    std::string error;
    switch (result.status) {
    case RunStatus::Finished:
        break;
    case RunStatus::Stopped:
        error = "interrupted";
        break;
    case RunStatus::SourceFailed:
        error = "cannot read back the temporary file of pass 1";
        break;
    case RunStatus::SinkFailed:
        error = output.error();
        break;
    case RunStatus::NonFinite:
        error = "pass 2 produced non-finite samples (NaN or infinity)";
        break;
    case RunStatus::Mismatch:
        error = "internal: " + result.mismatch;
        break;
    }
    if (!error.empty()) {
        writer.discard();
        return error;
    }

    outcome.figures = figuresOf(meter.meter());
    for (const auto& node : program->executor().measurements()) {
        if (node.node != "limiter") continue;
        for (const auto& m : node.values) {
            if (m.key == "max_gain_reduction_db")
                outcome.maxGainReductionDb = m.value;
            else if (m.key == "mean_gain_reduction_db")
                outcome.meanGainReductionDb = m.value;
            else if (m.key == "limited_percent")
                outcome.limitedPercent = m.value;
        }
    }
    return {};
}

/// One run of pass 2: the gain it used and the loudness it gave.
struct Trial {
    double gainDb = 0, lufs = 0;
};

/// The gain of the next run, or nullopt when the loudness has stopped following the gain (a
/// limiter at work everywhere). Loudness is an increasing, concave function of the gain (linear
/// until the limiter engages, then ever flatter), so: a plain step the first time; once runs lie
/// on both sides of the target, a secant step inside that bracket (bisection if it falls
/// outside); while all runs are short of it, a secant step whose slope is extrapolated from the
/// last two chords (they shrink geometrically as the limiter takes over), aimed past the target
/// so that the next run brackets it.
std::optional<double> nextGain(const std::vector<Trial>& trials, double targetLufs) {
    const Trial& last = trials.back();
    const double miss = targetLufs - last.lufs;
    // Short of the target, aim a little past it (by 30 % of the miss): the concave curve makes
    // every extrapolation fall short, and a run past the target brackets it.
    const double aim = miss > 0 ? 1.3 * miss : miss;
    if (trials.size() == 1) return last.gainDb + aim;
    const Trial* below = nullptr; // loudest run under the target
    const Trial* above = nullptr; // quietest run over it
    for (const Trial& t : trials) {
        if (t.lufs < targetLufs && (!below || t.lufs > below->lufs)) below = &t;
        if (t.lufs > targetLufs && (!above || t.lufs < above->lufs)) above = &t;
    }
    if (below && above && above->gainDb > below->gainDb) {
        const double slope = (above->lufs - below->lufs) / (above->gainDb - below->gainDb);
        double next = below->gainDb + (targetLufs - below->lufs) / slope;
        const double margin = 0.02 * (above->gainDb - below->gainDb);
        if (!(next > below->gainDb + margin && next < above->gainDb - margin)) next = 0.5 * (below->gainDb + above->gainDb);
        return next;
    }
    const Trial& previous = trials[trials.size() - 2];
    if (last.gainDb == previous.gainDb) return last.gainDb + miss;
    double slope = (last.lufs - previous.lufs) / (last.gainDb - previous.gainDb);
    if (miss > 0 && slope < 0.02) return std::nullopt; // saturated
    if (trials.size() >= 3 && miss > 0) {
        const Trial& earlier = trials[trials.size() - 3];
        if (previous.gainDb != earlier.gainDb) {
            const double before = (previous.lufs - earlier.lufs) / (previous.gainDb - earlier.gainDb);
            if (before > slope && before > 0) slope = std::max(slope * slope / before, slope / 4);
        }
    }
    slope = std::clamp(slope, 0.02, 1.5);
    return std::clamp(last.gainDb + std::clamp(aim / slope, -30.0, 30.0), -80.0, 80.0);
}

} // namespace

std::string deliverToTarget(TempSampleFile& source, const OutputFigures& before, const LoudnessTarget& target,
                            const std::string& path, io::OutputFormat format, const std::vector<std::string>& protectedPaths,
                            io::AudioFileWriter& writer, TargetResult& result, bool showProgress,
                            const volatile std::sig_atomic_t* interrupted) {
    result = {};
    result.before = before;
    if (double(before.frames) < kLoudnessBlockSeconds * before.sampleRate)
        return "'" + path + "': the output is " + formatNumber(double(before.frames) / before.sampleRate, "%.3f") +
               " s long, shorter than one 400 ms loudness block (BS.1770): its loudness is not defined, so it cannot be "
               "brought to " +
               formatNumber(target.integratedLufs) + " LUFS";
    if (!std::isfinite(before.integratedLufs))
        return "'" + path + "': the output is silent or quieter than the -70 LUFS gate: there is no loudness to bring to " +
               formatNumber(target.integratedLufs) + " LUFS";
    const auto started = std::chrono::steady_clock::now();
    double gainDb = target.integratedLufs - before.integratedLufs;
    if (gainDb > target.maxGainDb)
        return "'" + path + "' reads " + formatNumber(before.integratedLufs, "%.1f") + " LUFS: reaching " +
               formatNumber(target.integratedLufs) + " LUFS needs " + formatNumber(gainDb, "%+.1f") +
               " dB of gain, more than --max-gain " + formatNumber(target.maxGainDb) +
               " dB (check the levels, or raise --max-gain)";
    double limiterCeiling = target.ceilingDbtp - kLimiterMarginDb;
    std::vector<Trial> trials;
    PassOutcome outcome;
    bool saturated = false;
    for (int pass = 1; pass <= kMaxPass2Runs; ++pass) {
        const std::string label = pass == 1 ? "pass 2" : "pass 2, try " + std::to_string(pass);
        if (auto error = runPass(source, before.sampleRate, gainDb, limiterCeiling, path, format, protectedPaths, writer, outcome,
                                 label, showProgress, interrupted);
            !error.empty()) {
            writer.discard();
            return error;
        }
        result.pass2Runs = pass;
        result.gainDb = gainDb;
        result.limiterCeilingDbtp = limiterCeiling;
        result.after = outcome.figures;
        result.maxGainReductionDb = outcome.maxGainReductionDb;
        result.meanGainReductionDb = outcome.meanGainReductionDb;
        result.limitedPercent = outcome.limitedPercent;
        const double lufs = outcome.figures.integratedLufs;
        const double peak = outcome.figures.truePeakDbtp;
        if (!std::isfinite(lufs)) break;
        const bool peakOk = !(peak > target.ceilingDbtp);
        if (peakOk && std::fabs(target.integratedLufs - lufs) <= kLandingToleranceLu) break;
        if (pass == kMaxPass2Runs) break;
        if (!peakOk) limiterCeiling -= (peak - target.ceilingDbtp) + 0.01;
        trials.push_back({gainDb, lufs});
        const auto next = nextGain(trials, target.integratedLufs);
        if (!next) {
            saturated = true;
            break;
        }
        if (gainDb >= target.maxGainDb && *next > gainDb) break; // no more gain than --max-gain
        gainDb = std::min(*next, target.maxGainDb);
    }
    result.pass2Seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    const double lufs = result.after.integratedLufs;
    const bool landed = std::isfinite(lufs) && std::fabs(lufs - target.integratedLufs) <= kAcceptToleranceLu;
    const bool peakOk = !(result.after.truePeakDbtp > target.ceilingDbtp);
    if (landed && peakOk) return {};
    writer.discard();
    return "cannot bring '" + path + "' to " + formatNumber(target.integratedLufs) + " LUFS under a " +
           formatNumber(target.ceilingDbtp) + " dBTP ceiling: after " + std::to_string(result.pass2Runs) +
           " runs of pass 2 (last gain " + formatNumber(result.gainDb, "%+.2f") + " dB, " +
           formatNumber(result.meanGainReductionDb, "%.1f") + " dB mean gain reduction) it reads " + formatLevel(lufs, "LUFS") +
           ", true peak " + formatLevel(result.after.truePeakDbtp, "dBTP") +
           (saturated ? "; more gain only adds limiting: choose a lower target or a higher --ceiling" : "");
}

} // namespace sg::cli
