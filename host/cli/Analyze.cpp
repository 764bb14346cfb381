#include "host/cli/Analyze.h"

#include "core/Buffer.h"
#include "host/cli/CommandLine.h"
#include "host/cli/CommandParser.h"
#include "host/cli/HtmlPages.h"
#include "host/cli/HtmlReport.h"
#include "host/cli/Json.h"
#include "host/cli/Progress.h"
#include "host/cli/TextTable.h"
#include "host/io/AudioFile.h"
#include "host/io/TerminalText.h"
#include "nodes/meters/LoudnessMeter.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <mutex>
#include <thread>

namespace sg::cli {

namespace {

constexpr int kBlockFrames = 8192;

double decibels(double amplitude) { return amplitude > 0 ? 20.0 * std::log10(amplitude) : kSilentLevel; }

std::string durationCell(double seconds) {
    char text[64];
    const long long tenths = std::llround(seconds * 10);
    std::snprintf(text, sizeof text, "%lld:%02lld.%lld", tenths / 600, (tenths / 10) % 60, tenths % 10);
    return text;
}

void printTable(const std::vector<FileAnalysis>& rows) {
    const std::vector<std::string> header = {"file",
                                             kSampleRateFigure.label,
                                             kChannelsFigure.label,
                                             kDurationFigure.label,
                                             kIntegratedFigure.label,
                                             kLoudnessRangeFigure.label,
                                             kTruePeakFigure.label,
                                             kSamplePeakFigure.label,
                                             kMaxMomentaryFigure.label,
                                             kMaxShortTermFigure.label,
                                             kPlrFigure.label,
                                             kCrestFactorFigure.label,
                                             kStereoCorrelationFigure.label};
    std::vector<std::vector<std::string>> table{header};
    for (const FileAnalysis& a : rows) {
        char rate[32], correlation[32];
        std::snprintf(rate, sizeof rate, "%g %s", a.sampleRate, kSampleRateFigure.unit);
        if (std::isnan(a.stereoCorrelation))
            std::snprintf(correlation, sizeof correlation, "-");
        else
            std::snprintf(correlation, sizeof correlation, "%+.2f", a.stereoCorrelation);
        std::vector<std::string> row = {io::terminalText(a.file), rate, std::to_string(a.channels),
                                        durationCell(a.durationSeconds)};
        for (const FigureField& field : figureFields(a)) row.push_back(figureCell(field.value, field.name.unit));
        row.push_back(figureCell(a.crestFactorDb, kCrestFactorFigure.unit));
        row.push_back(correlation);
        table.push_back(std::move(row));
    }
    printAligned(table);
    // The balance figures: a second table, so that neither is too wide for a terminal.
    if (std::none_of(rows.begin(), rows.end(), [](const FileAnalysis& a) { return a.figures == AnalyzeFigures::All; })) return;
    std::vector<std::string> balanceHeader{"file"};
    for (int b = 0; b < octave::kBandCount; ++b) balanceHeader.push_back(bandLabel(b));
    for (const char* label : {"harshness", "low-end sd", "low-end range", "corr. min"}) balanceHeader.push_back(label);
    std::vector<std::vector<std::string>> balance{balanceHeader};
    for (const FileAnalysis& a : rows) {
        if (a.figures != AnalyzeFigures::All) continue;
        std::vector<std::string> row{io::terminalText(a.file)};
        for (double band : a.balance.bandDb) row.push_back(figureCell(band, "dB"));
        row.push_back(figureCell(a.balance.harshnessDb, "dB"));
        row.push_back(figureCell(a.balance.lowEndStabilityLu, "LU", 2));
        row.push_back(figureCell(a.balance.lowEndRangeLu, "LU"));
        char correlation[32] = "-";
        if (!std::isnan(a.balance.correlationMin))
            std::snprintf(correlation, sizeof correlation, "%+.2f", a.balance.correlationMin);
        row.push_back(correlation);
        balance.push_back(std::move(row));
    }
    std::printf("\nband balance (dB re the whole), harshness (2-8 kHz), low-end stability (< 120 Hz):\n");
    printAligned(balance);
}

/// The options of one invocation and the parser whose declarations point at them.
struct AnalyzeArguments {
    std::vector<std::string> files;
    bool json = false;
    std::string oversampling, html, figures;
    std::unique_ptr<CLI::App> app;

    AnalyzeArguments() {
        app = makeCommandApp({"usage: stagegraph analyze FILE... [--json] [--html FILE] [--oversampling 4|8]\n"
                              "                          [--figures loudness|all]",
                              "Measures each audio file to ITU-R BS.1770-5 / EBU R 128: integrated loudness, loudness range,\n"
                              "true peak, sample peak, max momentary and short-term loudness, PLR; plus DC offset, crest factor\n"
                              "and stereo correlation; octave-band balance, harshness (2-8 kHz) and low-end stability.",
                              "Exit status: 0 every file analysed; 1 a file could not be read (named on stderr; the\n"
                              "others are still analysed); 2 usage error."});
        app->add_option("FILE", files,
                        "audio files (every format libsndfile reads), each at its own rate;\n"
                        "- for standard input, raw:RATE:CHANNELS:ENCODING:FILE for raw samples");
        app->add_flag("--json", json,
                      "a JSON array, one object per file on its own line, keys: file,\n"
                      "sample_rate, channels, duration_s, integrated_lufs, loudness_range_lu,\n"
                      "true_peak_dbtp, sample_peak_dbfs, max_momentary_lufs, max_short_term_lufs,\n"
                      "plr_db, dc_offset_dbfs, stereo_correlation, crest_factor_db,\n"
                      "band_31_5hz_db .. band_16khz_db, harshness_db, low_end_stability_lu,\n"
                      "low_end_range_lu, correlation_min (docs/compare.md).\n"
                      "-inf (silence, nothing passes the gates) is written as null, and so is\n"
                      "stereo_correlation of a file that is not stereo. With --figures loudness\n"
                      "the keys from band_31_5hz_db on are left out.");
        app->add_option("--html", html, "also write a self-contained page with plots of every file (docs/reports.md)")
            ->type_name("FILE.html");
        app->add_option("--oversampling", oversampling, "true-peak oversampling: 4 (BS.1770-5 Annex 2, default) or 8")
            ->type_name("N");
        app->add_option("--figures", figures,
                        "all (default): every figure; loudness: only the BS.1770 / R 128 figures\n"
                        "(integrated, LRA, true and sample peak, max momentary and short-term, PLR)\n"
                        "and DC offset, crest factor, stereo correlation, without the band balance:\n"
                        "the same values, faster (not with --html)")
            ->type_name("loudness|all");
    }
};

int usageError(const std::string& message) {
    std::fprintf(stderr, "stagegraph analyze: error: %s\n(see 'stagegraph analyze --help')\n", io::terminalText(message).c_str());
    return kExitUsage;
}

} // namespace

const char* analyzeUsage() {
    static const std::string text = helpText(*AnalyzeArguments().app);
    return text.c_str();
}

namespace {

/// The figures of `out` that come from the loudness meter and the per-channel sums.
void loudnessFigures(const LoudnessMeter& meter, const ChannelSums& sums, std::int64_t frames, FileAnalysis& out) {
    const int channels = out.channels;
    static_cast<OutputFigures&>(out) = figuresOf(meter);
    out.frames = frames;
    out.durationSeconds = out.sampleRate > 0 ? double(frames) / out.sampleRate : 0;
    // BS.1770: no 400 ms block, no gated loudness. A silent short file is still silent (-inf).
    if (double(frames) < 0.4 * out.sampleRate && std::isfinite(out.samplePeakDbfs)) {
        out.shorterThanLoudnessBlock = true;
        out.integratedLufs = out.maxMomentaryLufs = out.plrDb = std::numeric_limits<double>::quiet_NaN();
    }
    double dc = 0, totalSquares = 0;
    for (int c = 0; c < channels; ++c) {
        if (frames > 0) dc = std::max(dc, std::fabs(sums.sum(c) / double(frames)));
        totalSquares += sums.squares(c);
    }
    out.dcOffsetDbfs = decibels(dc);
    const double rms = frames > 0 ? std::sqrt(totalSquares / (double(frames) * channels)) : 0;
    out.crestFactorDb = rms > 0 ? out.samplePeakDbfs - decibels(rms) : kSilentLevel;
    out.stereoCorrelation = std::numeric_limits<double>::quiet_NaN();
    if (channels == 2 && sums.squares(0) > 0 && sums.squares(1) > 0)
        out.stereoCorrelation = std::clamp(sums.cross() / std::sqrt(sums.squares(0) * sums.squares(1)), -1.0, 1.0);
}

std::string nonFiniteError(const std::string& name, int channel) {
    return name + "contains non-finite samples (NaN or infinity) in channel " + std::to_string(channel + 1);
}

/// --figures loudness on two threads. This one reads each block straight into a slot (no copies
/// besides the reader's own deinterleaving) and measures the peaks of the first half of the
/// channels; a worker K-weights the same slot, adds it to the per-channel sums and measures the
/// peaks of the other half (K-weighting is one recursion per frame, latency-bound; the 4x true
/// peak is comparable work, so the channels' peaks balance the two threads against the read). A slot is read again
/// once the worker is done with it. Each meter sees its channels in stream order, so the figures
/// are those of one meter (LoudnessMeter::mergePeaks); with one core everything runs here.
class LoudnessPipeline {
public:
    static constexpr int kSlots = 4;

    ~LoudnessPipeline() { stopWorker(); }

    std::string prepare(double sampleRate, int channels, int oversampling) {
        channels_ = channels;
        LoudnessOptions options;
        options.truePeakOversampling = oversampling;
        if (std::string error = meter.prepare(sampleRate, channels, options); !error.empty()) return error;
        if (std::string error = peakMeter_.prepare(sampleRate, channels, options); !error.empty()) return error;
        sums.prepare(channels);
        for (int i = 0; i < kSlots; ++i) {
            slots_[i] = AudioBuffer(channels, kBlockFrames);
            for (int c = 0; c < channels; ++c) pointers_[i][std::size_t(c)] = slots_[i].channel(c);
        }
        if (std::thread::hardware_concurrency() >= 2) {
            split_ = (channels + 1) / 2;
            worker_ = std::thread([this] { workerLoop(); });
        } else {
            split_ = channels;
        }
        return {};
    }

    /// Reads and measures to the end, or to the first block with non-finite samples (see
    /// sums.nonFiniteChannel()). Returns "" or the read's error.
    template <typename Read> std::string run(Read& read, ProgressBar& progress, std::int64_t& frames) {
        for (int slot = 0;; slot = (slot + 1) % kSlots) {
            if (worker_.joinable()) {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return queued_ < kSlots; }); // the worker is done with `slot`
                if (nonFinite_) break;                                 // the sums met non-finite samples: reported by the caller
            } else if (nonFinite_) {
                break;
            }
            std::string error;
            const std::int64_t got = read(slots_[slot].view(), error);
            if (got < 0) return error;
            if (got == 0) break;
            const int n = int(got);
            const float* const* planar = pointers_[slot].data();
            slotFrames_[slot] = n;
            if (worker_.joinable()) {
                {
                    std::lock_guard lock(mutex_);
                    ++queued_;
                }
                changed_.notify_all();
            } else {
                meter.processLoudness(planar, n);
                sums.add(planar, n);
                nonFinite_ = sums.nonFiniteChannel() >= 0;
            }
            peakMeter_.processPeaks(planar, n, 0, split_);
            frames += n;
            progress.update(frames);
        }
        stopWorker();
        meter.mergePeaks(peakMeter_);
        return {};
    }

    LoudnessMeter meter; ///< every figure once run() returns
    ChannelSums sums;

private:
    void workerLoop() {
        for (int slot = 0;; slot = (slot + 1) % kSlots) {
            {
                std::unique_lock lock(mutex_);
                changed_.wait(lock, [&] { return queued_ > 0 || stop_; });
                if (queued_ == 0) return;
            }
            const float* const* planar = pointers_[slot].data();
            meter.processLoudness(planar, slotFrames_[slot]);
            sums.add(planar, slotFrames_[slot]);
            meter.processPeaks(planar, slotFrames_[slot], split_, channels_ - split_);
            {
                std::lock_guard lock(mutex_);
                --queued_;
                if (sums.nonFiniteChannel() >= 0) nonFinite_ = true;
            }
            changed_.notify_all();
        }
    }

    /// Lets the worker finish what is queued, then ends it.
    void stopWorker() {
        if (!worker_.joinable()) return;
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
        }
        changed_.notify_all();
        worker_.join();
    }

    int channels_ = 0, split_ = 0; ///< this thread measures the peaks of channels [0, split_)
    LoudnessMeter peakMeter_;      ///< this thread's: peaks only
    std::array<AudioBuffer, kSlots> slots_;
    std::array<std::array<const float*, kLoudnessMaxChannels>, kSlots> pointers_{};
    std::array<int, kSlots> slotFrames_{};
    std::thread worker_;
    std::mutex mutex_;
    std::condition_variable changed_;
    int queued_ = 0;         ///< slots handed to the worker and not yet measured
    bool stop_ = false;      ///< no more slots
    bool nonFinite_ = false; ///< the sums met non-finite samples: stop reading (under mutex_)
};

/// The measurement shared by files and signals in memory: `read` fills the first frames of a
/// block of `channels` channels and returns how many (0 at the end) or -1 with `error` set.
/// `name` prefixes errors about the signal ("'mix.wav': ").
template <typename Read>
std::string measure(int channels, double sampleRate, std::int64_t totalFrames, const std::string& name,
                    const AnalyzeOptions& options, FileAnalysis& out, Read&& read) {
    out.sampleRate = sampleRate;
    out.channels = channels;
    out.figures = options.figures;
    if (channels < 1 || channels > kLoudnessMaxChannels)
        return name + std::to_string(channels) + " channels; the loudness meter measures 1 to " +
               std::to_string(kLoudnessMaxChannels);
    std::int64_t frames = 0;
    ProgressBar progress("analyze " + io::terminalText(out.file), totalFrames, stderr,
                         options.showProgress && ProgressBar::isTerminal(stderr));

    if (options.figures == AnalyzeFigures::Loudness) {
        if (options.keepSeries) return name + "the series (--html) need the full analysis (--figures all)";
        LoudnessPipeline pipeline;
        if (std::string error = pipeline.prepare(sampleRate, channels, options.truePeakOversampling); !error.empty())
            return name + error;
        if (std::string error = pipeline.run(read, progress, frames); !error.empty()) return error;
        progress.finish();
        if (const int bad = pipeline.sums.nonFiniteChannel(); bad >= 0) return nonFiniteError(name, bad);
        loudnessFigures(pipeline.meter, pipeline.sums, frames, out);
        return {};
    }

    SignalAnalyzer analyzer; // the loudness meter and the balance figures, the sums on its worker
    if (std::string error = analyzer.prepare(sampleRate, channels, options.truePeakOversampling, options.keepSeries);
        !error.empty())
        return name + error;
    AudioBuffer buffer(channels, kBlockFrames);
    std::vector<const float*> pointers(static_cast<std::size_t>(channels));
    for (int c = 0; c < channels; ++c) pointers[std::size_t(c)] = buffer.channel(c);
    for (;;) {
        std::string error;
        const std::int64_t got = read(buffer.view(), error);
        if (got < 0) return error;
        if (got == 0) break;
        analyzer.process(pointers.data(), int(got));
        frames += got;
        progress.update(frames);
        if (analyzer.sawNonFinite()) break; // reported below
    }
    progress.finish();
    if (const int bad = analyzer.channelSums().nonFiniteChannel(); bad >= 0) return nonFiniteError(name, bad);
    loudnessFigures(analyzer.loudness(), analyzer.channelSums(), frames, out);
    out.balance = analyzer.balance();
    out.series = analyzer.series();
    return {};
}

} // namespace

std::string analyzeFile(const std::string& path, const AnalyzeOptions& options, FileAnalysis& out) {
    out = FileAnalysis{};
    out.file = path;
    io::AudioFileReader reader;
    if (std::string error = reader.open(path); !error.empty()) return error;
    return measure(reader.channels(), reader.sampleRate(), reader.frames(), "'" + path + "': ", options, out,
                   [&](const AudioView& block, std::string& error) {
                       const std::int64_t got = reader.read(block);
                       if (got < 0) error = reader.error();
                       return got;
                   });
}

std::string analyzeSignal(const ConstAudioView& signal, double sampleRate, const AnalyzeOptions& options, FileAnalysis& out) {
    out = FileAnalysis{};
    if (!(sampleRate > 0)) return "the sample rate must be positive";
    int position = 0;
    return measure(signal.channels, sampleRate, signal.frames, "", options, out, [&](const AudioView& block, std::string&) {
        const int frames = std::min(block.frames, signal.frames - position);
        for (int c = 0; c < signal.channels; ++c) std::copy_n(signal.channel(c) + position, frames, block.channel(c));
        position += frames;
        return std::int64_t(frames);
    });
}

std::string analysisJson(const FileAnalysis& a) {
    Json json = Json::object();
    json["file"] = a.file;
    json[kSampleRateFigure.key] = jsonFixed(a.sampleRate, 0);
    json[kChannelsFigure.key] = a.channels;
    json[kDurationFigure.key] = jsonFixed(a.durationSeconds, 6);
    for (const FigureField& field : figureFields(a)) json[field.name.key] = jsonFixed(field.value, 3);
    json[kDcOffsetFigure.key] = jsonFixed(a.dcOffsetDbfs, 3);
    json[kStereoCorrelationFigure.key] = jsonFixed(a.stereoCorrelation, 4);
    json[kCrestFactorFigure.key] = jsonFixed(a.crestFactorDb, 3);
    if (a.figures != AnalyzeFigures::All) return oneLineText(json); // no balance keys: not measured
    for (int b = 0; b < octave::kBandCount; ++b) json[bandKey(b)] = jsonFixed(a.balance.bandDb[std::size_t(b)], 2);
    json["harshness_db"] = jsonFixed(a.balance.harshnessDb, 2);
    json["low_end_stability_lu"] = jsonFixed(a.balance.lowEndStabilityLu, 3);
    json["low_end_range_lu"] = jsonFixed(a.balance.lowEndRangeLu, 2);
    json["correlation_min"] = jsonFixed(a.balance.correlationMin, 4);
    return oneLineText(json);
}

int runAnalyze(const std::vector<std::string>& args) {
    AnalyzeArguments arguments;
    const ParseOutcome outcome = parseCommandArguments(*arguments.app, args);
    if (outcome.help) {
        std::fputs(analyzeUsage(), stdout);
        return kExitOk;
    }
    if (!outcome.error.empty()) return usageError(outcome.error);
    AnalyzeOptions options;
    if (arguments.app->count("--oversampling")) {
        if (arguments.oversampling != "4" && arguments.oversampling != "8")
            return usageError("--oversampling: expected 4 or 8, got '" + arguments.oversampling + "'");
        options.truePeakOversampling = arguments.oversampling == "8" ? 8 : 4;
    }
    if (arguments.app->count("--figures")) {
        if (arguments.figures != "loudness" && arguments.figures != "all")
            return usageError("--figures: expected loudness or all, got '" + arguments.figures + "'");
        options.figures = arguments.figures == "loudness" ? AnalyzeFigures::Loudness : AnalyzeFigures::All;
    }
    const std::vector<std::string>& files = arguments.files;
    const bool json = arguments.json;
    if (files.empty()) return usageError("no files given");
    if (arguments.app->count("--html")) {
        if (arguments.html.empty()) return usageError("--html needs a file name");
        if (options.figures != AnalyzeFigures::All) return usageError("--html needs every figure (--figures all)");
        for (const std::string& file : files)
            if (io::sameFile(arguments.html, file)) return usageError("--html: refusing to overwrite '" + file + "'");
        std::string javascript;
        if (auto error = loadPlotLibrary(javascript); !error.empty()) {
            std::fprintf(stderr, "stagegraph analyze: error: %s\n", io::terminalText(error).c_str());
            return kExitFailure;
        }
        options.keepSeries = true;
    }

    std::vector<FileAnalysis> results;
    bool failed = false;
    for (const std::string& file : files) {
        FileAnalysis analysis;
        if (std::string error = analyzeFile(file, options, analysis); !error.empty()) {
            std::fprintf(stderr, "stagegraph analyze: error: %s\n", io::terminalText(error).c_str());
            failed = true;
            continue;
        }
        if (analysis.shorterThanLoudnessBlock)
            std::fprintf(stderr,
                         "stagegraph analyze: note: '%s' is %.3f s long, shorter than one 400 ms loudness block: its "
                         "integrated loudness, max momentary loudness and PLR are not defined\n",
                         io::terminalText(file).c_str(), analysis.durationSeconds);
        results.push_back(std::move(analysis));
    }
    if (json) {
        std::printf("[");
        for (std::size_t i = 0; i < results.size(); ++i) std::printf("%s\n  %s", i ? "," : "", analysisJson(results[i]).c_str());
        std::printf("%s]\n", results.empty() ? "" : "\n");
    } else if (!results.empty()) {
        printTable(results);
    }
    std::fflush(stdout);
    if (!arguments.html.empty())
        if (auto error = writeAnalyzeHtml(arguments.html, results); !error.empty()) {
            std::fprintf(stderr, "stagegraph analyze: error: %s\n", io::terminalText(error).c_str());
            return kExitFailure;
        }
    return failed ? kExitFailure : kExitOk;
}

} // namespace sg::cli
