#include "host/cli/RenderAlbum.h"

#include "host/cli/CommandLine.h"
#include "host/cli/CompareFigures.h"
#include "host/cli/HtmlPages.h"
#include "host/cli/Json.h"
#include "host/cli/RenderCommit.h"
#include "host/cli/RenderPipeline.h"
#include "host/cli/RenderPlan.h"
#include "host/cli/RenderText.h"
#include "host/cli/Report.h"
#include "host/cli/TextTable.h"
#include "host/io/TerminalText.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

constexpr int kChunkFrames = 8192;

/// What the album delivery did to the whole album.
struct AlbumResult {
    OutputFigures before; ///< the album as one stream (every track's pass-1 output in order)
    double gainDb = 0;    ///< the album gain G = target - before.integratedLufs
};

/// One track while the album is rendered.
struct Track {
    std::string input, output;
    RenderPlan plan;
    RenderOutputs outputs;
    StreamedRender streamed;
    OutputFigures before; ///< the graph's output (pass 1)
    OutputFigures written;
    BalanceFigures balance; ///< of the written file
};

/// The output of each track. Returns "" or a usage error.
std::string outputPaths(const RenderRequest& request, std::vector<std::string>& paths) {
    paths.clear();
    std::error_code ec;
    const std::string& first = request.outputs[0];
    const bool folder = request.outputs.size() == 1 && (fs::is_directory(first, ec) || first.back() == '/');
    if (folder) {
        if (!fs::is_directory(first, ec)) return "--album: the output folder '" + first + "' does not exist";
        for (const auto& input : request.inputs) {
            fs::path name = fs::path(input).filename();
            if (request.format)
                name.replace_extension(io::outputFormatName(*request.format)[0] == 'f' ? ".flac" : ".wav");
            else if (!io::defaultFormatForPath(name.string()))
                name.replace_extension(".wav");
            paths.push_back((fs::path(first) / name).string());
        }
    } else {
        if (request.outputs.size() != request.inputs.size())
            return "--album: give one -o per input (" + std::to_string(request.inputs.size()) + " inputs, " +
                   std::to_string(request.outputs.size()) + " outputs), or one output folder (-o DIR/)";
        for (const auto& output : request.outputs) {
            const auto eq = output.find('=');
            if (eq != std::string::npos && eq > 0 && !fs::exists(output, ec))
                return "--album: outputs are paired with inputs in order, not named ('" + output + "')";
            paths.push_back(output);
        }
    }
    for (std::size_t i = 0; i < paths.size(); ++i) {
        for (const auto& input : request.inputs)
            if (io::sameFile(paths[i], input)) return "--album: refusing to overwrite input file '" + input + "'";
        for (std::size_t j = 0; j < i; ++j)
            if (io::sameFile(paths[i], paths[j]))
                return "--album: tracks '" + request.inputs[j] + "' and '" + request.inputs[i] + "' would both write '" +
                       paths[i] + "'";
    }
    return {};
}

/// Every track's pass-1 output, in order, through one meter: the album before the gain.
std::string measureAlbumBefore(std::vector<std::unique_ptr<Track>>& tracks, OutputFigures& album) {
    LoudnessMeter meter;
    const int channels = tracks[0]->outputs.pass1Files[0]->channels();
    if (auto error = meter.prepare(tracks[0]->plan.sampleRate, channels); !error.empty()) return error;
    AudioBuffer buffer(channels, kChunkFrames);
    std::vector<const float*> pointers(static_cast<std::size_t>(channels));
    for (int c = 0; c < channels; ++c) pointers[std::size_t(c)] = buffer.channel(c);
    for (auto& track : tracks) {
        TempSampleFile& file = *track->outputs.pass1Files[0];
        if (auto error = file.rewind(); !error.empty()) return error;
        for (std::int64_t left = file.frames(); left > 0;) {
            const int n = int(std::min<std::int64_t>(kChunkFrames, left));
            if (file.read(buffer.view().frameRange(0, n)) != n) return "cannot read back the temporary file of pass 1";
            meter.process(pointers.data(), n);
            left -= n;
        }
    }
    album = figuresOf(meter);
    return {};
}

/// Reads every written track back: its balance figures, and the album's (all tracks as one).
std::string measureWritten(std::vector<std::unique_ptr<Track>>& tracks, OutputFigures& albumFigures,
                           BalanceFigures& albumBalance) {
    SignalAnalyzer album;
    bool prepared = false;
    for (auto& track : tracks) {
        io::AudioFileReader reader;
        if (auto error = reader.open(track->output); !error.empty()) return error;
        SignalAnalyzer analyzer;
        if (auto error = analyzer.prepare(reader.sampleRate(), reader.channels()); !error.empty()) return error;
        if (!prepared) {
            if (auto error = album.prepare(reader.sampleRate(), reader.channels()); !error.empty()) return error;
            prepared = true;
        }
        AudioBuffer buffer(reader.channels(), kChunkFrames);
        for (;;) {
            const std::int64_t got = reader.read(buffer.view());
            if (got < 0) return reader.error();
            if (got == 0) break;
            const ConstAudioView view(buffer.view().frameRange(0, int(got)));
            analyzer.process(view);
            album.process(view);
        }
        track->written = figuresOf(analyzer.loudness());
        track->balance = analyzer.balance();
    }
    albumFigures = figuresOf(album.loudness());
    albumBalance = album.balance();
    return {};
}

void printTable(const RenderRequest& request, const std::vector<std::unique_ptr<Track>>& tracks, const AlbumResult& album,
                const OutputFigures& albumWritten, const BalanceFigures& albumBalance) {
    std::printf(
        "album: %zu tracks through %s, one gain %+.2f dB: %s -> %s integrated (target %s, ceiling %s)\n", tracks.size(),
        io::terminalText(request.graphPath).c_str(), album.gainDb, figureCell(album.before.integratedLufs, "LUFS", 2).c_str(),
        figureCell(albumWritten.integratedLufs, "LUFS", 2).c_str(), figureCell(request.target->integratedLufs, "LUFS").c_str(),
        figureCell(request.target->ceilingDbtp, "dBTP").c_str());
    std::vector<std::string> header{"track", "before", "after", "true peak", "range"};
    for (int b = 0; b < octave::kBandCount; ++b) header.push_back(bandLabel(b));
    header.push_back("harshness");
    std::vector<std::vector<std::string>> rows{header};
    auto row = [&](const std::string& name, double before, const OutputFigures& f, const BalanceFigures& balance) {
        std::vector<std::string> r{name, figureCell(before, "LUFS"), figureCell(f.integratedLufs, "LUFS"),
                                   figureCell(f.truePeakDbtp, "dBTP"), figureCell(f.loudnessRangeLu, "LU")};
        for (double band : balance.bandDb) r.push_back(figureCell(band, "dB"));
        r.push_back(figureCell(balance.harshnessDb, "dB"));
        rows.push_back(std::move(r));
    };
    for (const auto& track : tracks)
        row(io::terminalText(track->output), track->before.integratedLufs, track->written, track->balance);
    OutputFigures albumRow = albumWritten;
    albumRow.truePeakDbtp = kSilentLevel; // the album's true peak: the loudest track's
    for (const auto& track : tracks) albumRow.truePeakDbtp = std::max(albumRow.truePeakDbtp, track->written.truePeakDbtp);
    row("album", album.before.integratedLufs, albumRow, albumBalance);
    printAligned(rows);
}

std::string albumJson(const RenderRequest& request, const std::vector<std::unique_ptr<Track>>& tracks,
                      const std::vector<TargetResult>& results, const AlbumResult& album, const OutputFigures& albumWritten,
                      const BalanceFigures& albumBalance) {
    auto figures = [](Json& json, const OutputFigures& f, const BalanceFigures& b) {
        for (const FigureField& field : figureFields(f)) json[field.name.key] = jsonFixed(field.value, 3);
        for (int band = 0; band < octave::kBandCount; ++band) json[bandKey(band)] = jsonFixed(b.bandDb[std::size_t(band)], 2);
        json["harshness_db"] = jsonFixed(b.harshnessDb, 2);
    };
    Json json = Json::object();
    json["graph"] = request.graphPath;
    json["sample_rate"] = jsonFixed(tracks[0]->plan.sampleRate, 0);
    json["target"] = Json{{"name", request.target->name.empty() ? Json(nullptr) : Json(request.target->name)},
                          {"integrated_lufs", jsonRounded(request.target->integratedLufs)},
                          {"ceiling_dbtp", jsonRounded(request.target->ceilingDbtp)}};
    Json albumJson = Json::object();
    albumJson["before_integrated_lufs"] = jsonFixed(album.before.integratedLufs, 3);
    albumJson["gain_db"] = jsonFixed(album.gainDb, 3);
    OutputFigures written = albumWritten;
    written.truePeakDbtp = kSilentLevel;
    for (const auto& track : tracks) written.truePeakDbtp = std::max(written.truePeakDbtp, track->written.truePeakDbtp);
    written.plrDb = written.truePeakDbtp - written.integratedLufs;
    figures(albumJson, written, albumBalance);
    json["album"] = albumJson;
    Json list = Json::array();
    for (std::size_t i = 0; i < tracks.size(); ++i) {
        const Track& track = *tracks[i];
        Json item = Json::object();
        item["input"] = track.input;
        item["file"] = track.output;
        item["duration_s"] = jsonFixed(double(track.written.frames) / track.plan.sampleRate, 6);
        item["before_integrated_lufs"] = jsonFixed(track.before.integratedLufs, 3);
        item["gain_db"] = jsonFixed(results[i].gainDb, 3);
        item["max_gain_reduction_db"] = jsonFixed(results[i].maxGainReductionDb, 3);
        item["mean_gain_reduction_db"] = jsonFixed(results[i].meanGainReductionDb, 3);
        figures(item, track.written, track.balance);
        list.push_back(item);
    }
    json["tracks"] = list;
    return indentedText(json) + "\n";
}

} // namespace

int renderAlbum(const RenderRequest& request) {
    InterruptGuard interruptGuard;
    std::vector<std::string> outputs;
    if (auto error = outputPaths(request, outputs); !error.empty()) return renderUsageError(error);
    if (!request.htmlPath.empty())
        if (auto error = checkHtmlRequest(request); !error.empty()) return renderUsageError(error);
    AtomicTextFile reportFile;
    std::vector<std::unique_ptr<Track>> tracks;
    for (std::size_t i = 0; i < request.inputs.size(); ++i) {
        auto track = std::make_unique<Track>();
        track->input = request.inputs[i];
        track->output = outputs[i];
        RenderRequest one = request;
        one.inputs = {request.inputs[i]};
        one.outputs = {outputs[i]};
        one.album = false;
        one.reportPath.clear();
        one.htmlPath.clear();
        one.printSummary = false;
        if (const int status = planRender(one, track->plan); status != kExitOk) return status;
        if (track->plan.inputs.size() != 1 || track->plan.outputs.size() != 1)
            return renderUsageError("--album: the graph '" + request.graphPath + "' has " +
                                    std::to_string(track->plan.inputs.size()) + " inputs and " +
                                    std::to_string(track->plan.outputs.size()) +
                                    " outputs; an album graph has one of each (every -i is a track)");
        if (i > 0 && track->plan.sampleRate != tracks[0]->plan.sampleRate) {
            printRenderError("--album: '" + request.inputs[i] + "' has a sample rate of " + rateText(track->plan.sampleRate) +
                             ", the album's is " + rateText(tracks[0]->plan.sampleRate) + " (the rate of '" + request.inputs[0] +
                             "'); every track must share one rate");
            return kExitFailure;
        }
        if (const int status = openRenderOutputs(one, track->plan, track->outputs); status != kExitOk) return status;
        if (i == 0 && !request.reportPath.empty()) { // early: a bad path fails before the work
            for (const auto& input : request.inputs)
                if (io::sameFile(request.reportPath, input))
                    return renderUsageError("--report: refusing to overwrite input file '" + input + "'");
            if (auto error = reportFile.open(request.reportPath); !error.empty()) {
                printRenderError(error);
                return kExitFailure;
            }
        }
        if (const int status = runRenderPipeline(one, track->plan, track->outputs, track->streamed); status != kExitOk)
            return status;
        track->before = figuresOf(*track->outputs.pass1Meters[0]);
        tracks.push_back(std::move(track));
    }

    AlbumResult album;
    OutputFigures before;
    if (auto error = measureAlbumBefore(tracks, before); !error.empty()) {
        printRenderError(error);
        return kExitFailure;
    }
    // One gain G for the album. Each track is delivered to its own loudness plus G, under the
    // album's ceiling (deliverToTarget: gain -> true-peak limiter -> file, measured on the
    // samples written): where the limiter takes no loudness off, its gain is exactly G; where it
    // does, the track gets back what the limiter took, so every track keeps its loudness
    // relative to the album and the album lands on the target.
    album.before = before;
    if (!std::isfinite(before.integratedLufs)) {
        printRenderError("--album: the album is silent or quieter than the -70 LUFS gate: there is no loudness to bring to " +
                         figureCell(request.target->integratedLufs, "LUFS"));
        return kExitFailure;
    }
    album.gainDb = request.target->integratedLufs - before.integratedLufs;
    std::vector<std::string> protectedPaths;
    for (const auto& track : tracks)
        protectedPaths.insert(protectedPaths.end(), track->plan.protectedPaths.begin(), track->plan.protectedPaths.end());
    std::vector<TargetResult> results(tracks.size());
    for (std::size_t i = 0; i < tracks.size(); ++i) {
        Track& track = *tracks[i];
        LoudnessTarget own = *request.target;
        own.name.clear();
        own.integratedLufs = track.before.integratedLufs + album.gainDb;
        if (auto error = deliverToTarget(*track.outputs.pass1Files[0], track.before, own, track.output, track.plan.formats[0],
                                         protectedPaths, track.outputs.writers[0], results[i], request.showProgress,
                                         interruptFlag(), nullptr, track.outputs.probeReferences[0].get());
            !error.empty()) {
            printRenderError("--album: " + error);
            return *interruptFlag() ? kExitInterrupted : kExitFailure;
        }
        track.outputs.pass1Files[0].reset(); // frees its disk space now
    }
    for (auto& track : tracks)
        if (auto error = commitOutputFiles(track->outputs); !error.empty()) {
            printRenderError(error);
            return kExitFailure;
        }

    OutputFigures albumWritten;
    BalanceFigures albumBalance;
    if (auto error = measureWritten(tracks, albumWritten, albumBalance); !error.empty()) {
        printRenderError(error);
        return kExitFailure;
    }
    if (std::fabs(albumWritten.integratedLufs - request.target->integratedLufs) > kAcceptToleranceLu)
        printRenderWarning("--album: the album reads " + figureCell(albumWritten.integratedLufs, "LUFS", 2) + ", not " +
                           figureCell(request.target->integratedLufs, "LUFS") + " (limiting changed the tracks' loudness range)");
    if (request.printSummary) printTable(request, tracks, album, albumWritten, albumBalance);
    if (!request.reportPath.empty())
        if (auto error = reportFile.commit(albumJson(request, tracks, results, album, albumWritten, albumBalance));
            !error.empty()) {
            printRenderError(error);
            return kExitFailure;
        }
    if (!request.htmlPath.empty()) {
        RenderSummary summary;
        summary.sampleRate = tracks[0]->plan.sampleRate;
        for (std::size_t i = 0; i < tracks.size(); ++i) {
            summary.frames += tracks[i]->written.frames;
            summary.inputs.push_back({"track " + std::to_string(i + 1), tracks[i]->input});
            RenderedOutput output;
            output.name = "track " + std::to_string(i + 1);
            output.path = tracks[i]->output;
            output.target = results[i];
            summary.outputs.push_back(output);
        }
        return writeRenderHtml(request, summary);
    }
    return kExitOk;
}

} // namespace sg::cli
