#include "host/cli/Analyze.h"

#include "core/Buffer.h"
#include "host/cli/CommandLine.h"
#include "host/cli/CommandParser.h"
#include "host/cli/HtmlPages.h"
#include "host/cli/HtmlReport.h"
#include "host/cli/Json.h"
#include "host/cli/Progress.h"
#include "host/io/AudioFile.h"
#include "host/io/TerminalText.h"
#include "nodes/meters/LoudnessMeter.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sg::cli {

namespace {

constexpr int kBlockFrames = 8192;

double decibels(double amplitude) { return amplitude > 0 ? 20.0 * std::log10(amplitude) : kSilentLevel; }

/// A figure for the table: "-23.0 LUFS", "-inf dBTP", "" for NaN.
std::string cell(double value, const char* unit, int decimals = 1) {
    if (std::isnan(value)) return "-";
    char text[64];
    if (std::isinf(value)) {
        std::snprintf(text, sizeof text, "%sinf %s", value < 0 ? "-" : "", unit);
        return text;
    }
    if (std::fabs(value) < 0.5 * std::pow(10.0, -decimals)) value = 0; // no "-0.0 dB"
    std::snprintf(text, sizeof text, "%.*f %s", decimals, value, unit);
    return text;
}

std::string durationCell(double seconds) {
    char text[64];
    const long long tenths = std::llround(seconds * 10);
    std::snprintf(text, sizeof text, "%lld:%02lld.%lld", tenths / 600, (tenths / 10) % 60, tenths % 10);
    return text;
}

void printAligned(const std::vector<std::vector<std::string>>& table);

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
        for (const FigureField& field : figureFields(a)) row.push_back(cell(field.value, field.name.unit));
        row.push_back(cell(a.crestFactorDb, kCrestFactorFigure.unit));
        row.push_back(correlation);
        table.push_back(std::move(row));
    }
    printAligned(table);
    // The balance figures: a second table, so that neither is too wide for a terminal.
    std::vector<std::string> balanceHeader{"file"};
    for (int b = 0; b < octave::kBandCount; ++b) balanceHeader.push_back(bandLabel(b));
    for (const char* label : {"harshness", "low-end sd", "low-end range", "corr. min"}) balanceHeader.push_back(label);
    std::vector<std::vector<std::string>> balance{balanceHeader};
    for (const FileAnalysis& a : rows) {
        std::vector<std::string> row{io::terminalText(a.file)};
        for (double band : a.balance.bandDb) row.push_back(cell(band, "dB"));
        row.push_back(cell(a.balance.harshnessDb, "dB"));
        row.push_back(cell(a.balance.lowEndStabilityLu, "LU", 2));
        row.push_back(cell(a.balance.lowEndRangeLu, "LU"));
        char correlation[32] = "-";
        if (!std::isnan(a.balance.correlationMin))
            std::snprintf(correlation, sizeof correlation, "%+.2f", a.balance.correlationMin);
        row.push_back(correlation);
        balance.push_back(std::move(row));
    }
    std::printf("\nband balance (dB re the whole), harshness (2-8 kHz), low-end stability (< 120 Hz):\n");
    printAligned(balance);
}

void printAligned(const std::vector<std::vector<std::string>>& table) {
    std::vector<std::size_t> widths(table[0].size(), 0);
    for (const auto& row : table)
        for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    for (const auto& row : table) {
        std::string line;
        for (std::size_t i = 0; i < row.size(); ++i) {
            if (i > 0) line += "  ";
            const std::string pad(widths[i] - row[i].size(), ' ');
            line += i == 0 ? row[i] + pad : pad + row[i]; // names left, figures right
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        std::printf("%s\n", line.c_str());
    }
}

/// The options of one invocation and the parser whose declarations point at them.
struct AnalyzeArguments {
    std::vector<std::string> files;
    bool json = false;
    std::string oversampling, html;
    std::unique_ptr<CLI::App> app;

    AnalyzeArguments() {
        app = makeCommandApp({"usage: stagegraph analyze FILE... [--json] [--html FILE] [--oversampling 4|8]",
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
                      "stereo_correlation of a file that is not stereo.");
        app->add_option("--html", html, "also write a self-contained page with plots of every file (docs/reports.md)")
            ->type_name("FILE.html");
        app->add_option("--oversampling", oversampling, "true-peak oversampling: 4 (BS.1770-5 Annex 2, default) or 8")
            ->type_name("N");
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

/// The measurement shared by files and signals in memory: `read` fills the first frames of a
/// block of `channels` channels and returns how many (0 at the end) or -1 with `error` set.
/// `name` prefixes errors about the signal ("'mix.wav': ").
template <typename Read>
std::string measure(int channels, double sampleRate, std::int64_t totalFrames, const std::string& name,
                    const AnalyzeOptions& options, FileAnalysis& out, Read&& read) {
    out.sampleRate = sampleRate;
    out.channels = channels;
    if (channels < 1 || channels > kLoudnessMaxChannels)
        return name + std::to_string(channels) + " channels; the loudness meter measures 1 to " +
               std::to_string(kLoudnessMaxChannels);
    SignalAnalyzer analyzer; // the loudness meter and the balance figures
    if (std::string error = analyzer.prepare(sampleRate, channels, options.truePeakOversampling, options.keepSeries);
        !error.empty())
        return name + error;

    AudioBuffer buffer(channels, kBlockFrames);
    std::vector<const float*> pointers(static_cast<std::size_t>(channels));
    for (int c = 0; c < channels; ++c) pointers[std::size_t(c)] = buffer.channel(c);
    std::vector<double> sums(std::size_t(channels), 0.0), squares(std::size_t(channels), 0.0);
    double cross = 0;
    std::int64_t frames = 0;
    ProgressBar progress("analyze " + io::terminalText(out.file), totalFrames, stderr,
                         options.showProgress && ProgressBar::isTerminal(stderr));
    for (;;) {
        std::string error;
        const std::int64_t got = read(buffer.view(), error);
        if (got < 0) return error;
        if (got == 0) break;
        const int n = int(got);
        for (int c = 0; c < channels; ++c) {
            const float* x = buffer.channel(c);
            // Four independent running sums each (one chain of dependent adds was the caller's
            // thread's bottleneck), combined in a fixed order.
            double s4[4] = {}, q4[4] = {};
            int i = 0;
            for (; i + 4 <= n; i += 4)
                for (int j = 0; j < 4; ++j) {
                    s4[j] += x[i + j];
                    q4[j] += double(x[i + j]) * x[i + j];
                }
            for (; i < n; ++i) {
                s4[0] += x[i];
                q4[0] += double(x[i]) * x[i];
            }
            const double sum = (s4[0] + s4[1]) + (s4[2] + s4[3]);
            const double square = (q4[0] + q4[1]) + (q4[2] + q4[3]);
            if (!std::isfinite(square))
                return name + "contains non-finite samples (NaN or infinity) in channel " + std::to_string(c + 1);
            sums[std::size_t(c)] += sum;
            squares[std::size_t(c)] += square;
        }
        if (channels == 2) {
            const float* l = buffer.channel(0);
            const float* r = buffer.channel(1);
            double lr[4] = {};
            int i = 0;
            for (; i + 4 <= n; i += 4)
                for (int j = 0; j < 4; ++j) lr[j] += double(l[i + j]) * r[i + j];
            for (; i < n; ++i) lr[0] += double(l[i]) * r[i];
            cross += (lr[0] + lr[1]) + (lr[2] + lr[3]);
        }
        analyzer.process(pointers.data(), n);
        frames += n;
        progress.update(frames);
    }
    progress.finish();

    static_cast<OutputFigures&>(out) = figuresOf(analyzer.loudness());
    out.balance = analyzer.balance();
    out.series = analyzer.series();
    out.frames = frames;
    out.durationSeconds = out.sampleRate > 0 ? double(frames) / out.sampleRate : 0;
    // BS.1770: no 400 ms block, no gated loudness. A silent short file is still silent (-inf).
    if (double(frames) < 0.4 * out.sampleRate && std::isfinite(out.samplePeakDbfs)) {
        out.shorterThanLoudnessBlock = true;
        out.integratedLufs = out.maxMomentaryLufs = out.plrDb = std::numeric_limits<double>::quiet_NaN();
    }
    double dc = 0, totalSquares = 0;
    for (int c = 0; c < channels; ++c) {
        if (frames > 0) dc = std::max(dc, std::fabs(sums[std::size_t(c)] / double(frames)));
        totalSquares += squares[std::size_t(c)];
    }
    out.dcOffsetDbfs = decibels(dc);
    const double rms = frames > 0 ? std::sqrt(totalSquares / (double(frames) * channels)) : 0;
    out.crestFactorDb = rms > 0 ? out.samplePeakDbfs - decibels(rms) : kSilentLevel;
    out.stereoCorrelation = std::numeric_limits<double>::quiet_NaN();
    if (channels == 2 && squares[0] > 0 && squares[1] > 0)
        out.stereoCorrelation = std::clamp(cross / std::sqrt(squares[0] * squares[1]), -1.0, 1.0);
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
    const std::vector<std::string>& files = arguments.files;
    const bool json = arguments.json;
    if (files.empty()) return usageError("no files given");
    if (arguments.app->count("--html")) {
        if (arguments.html.empty()) return usageError("--html needs a file name");
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
