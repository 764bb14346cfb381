#include "host/cli/HtmlPages.h"

#include "host/cli/CommandLine.h"
#include "host/cli/HtmlReport.h"
#include "host/cli/TextTable.h"
#include "host/io/AudioFile.h"
#include "host/io/TerminalText.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

/// The file part of "[NAME=]FILE" as render binds it: the whole text when it names a file.
std::string filePart(const std::string& argument) {
    std::error_code ec;
    const auto eq = argument.find('=');
    if (eq == std::string::npos || eq == 0 || fs::exists(argument, ec)) return argument;
    return argument.substr(eq + 1);
}

HtmlSection sectionOf(const FileAnalysis& a, const std::string& title) {
    HtmlSection section;
    section.title = title;
    section.figures = analysisRows(a);
    section.loudness = a;
    section.balance = a.balance;
    section.series = a.series;
    return section;
}

} // namespace

std::vector<std::pair<std::string, std::string>> analysisRows(const FileAnalysis& a) {
    std::vector<std::pair<std::string, std::string>> rows{{"file", a.file},
                                                          {"sample rate", figureCell(a.sampleRate, "Hz", 0)},
                                                          {"channels", std::to_string(a.channels)},
                                                          {"duration", figureCell(a.durationSeconds, "s", 3)}};
    for (const FigureField& field : figureFields(a)) rows.push_back({field.name.label, figureCell(field.value, field.name.unit)});
    rows.push_back({"crest factor", figureCell(a.crestFactorDb, "dB")});
    rows.push_back({"correlation", figureCell(a.stereoCorrelation, "", 2)});
    rows.push_back({"correlation min (400 ms)", figureCell(a.balance.correlationMin, "", 2)});
    for (int b = 0; b < octave::kBandCount; ++b)
        rows.push_back({"band " + bandLabel(b), figureCell(a.balance.bandDb[std::size_t(b)], "dB")});
    rows.push_back({"harshness 2-8 kHz", figureCell(a.balance.harshnessDb, "dB")});
    rows.push_back({"low-end stability", figureCell(a.balance.lowEndStabilityLu, "LU", 2)});
    rows.push_back({"low-end range", figureCell(a.balance.lowEndRangeLu, "LU")});
    return rows;
}

std::string checkHtmlRequest(const RenderRequest& request) {
    std::string javascript;
    if (auto error = loadPlotLibrary(javascript); !error.empty()) return "--html: " + error;
    const std::string& html = request.htmlPath;
    if (io::sameFile(html, request.graphPath)) return "--html: refusing to overwrite the graph file '" + request.graphPath + "'";
    for (const auto& input : request.inputs)
        if (io::sameFile(html, filePart(input))) return "--html: refusing to overwrite input file '" + filePart(input) + "'";
    for (const auto& output : request.outputs)
        if (io::sameFile(html, filePart(output))) return "--html '" + html + "' is also an output file";
    if (!request.reportPath.empty() && io::sameFile(html, request.reportPath)) return "--html and --report name the same file";
    return {};
}

int writeRenderHtml(const RenderRequest& request, const RenderSummary& summary) {
    HtmlReport report;
    report.title = "stagegraph render " + request.graphPath;
    std::string inputs;
    for (const auto& [name, file] : summary.inputs) inputs += (inputs.empty() ? "" : ", ") + name + " = " + file;
    report.facts = {{"graph", request.graphPath},
                    {"inputs", inputs.empty() ? "none" : inputs},
                    {"sample rate", figureCell(summary.sampleRate, "Hz", 0)},
                    {"duration", figureCell(summary.sampleRate > 0 ? double(summary.frames) / summary.sampleRate : 0, "s", 3)},
                    {"latency", std::to_string(summary.latencyFrames) + " frames (trimmed)"}};
    if (request.target)
        report.facts.push_back({"target", figureCell(request.target->integratedLufs, "LUFS") + ", ceiling " +
                                              figureCell(request.target->ceilingDbtp, "dBTP")});
    std::vector<HtmlGainReduction> reductions;
    for (const auto& tap : summary.taps)
        for (const auto& series : tap.series)
            if (series.key == "gain_reduction_db") reductions.push_back({tap.node, series});
    AnalyzeOptions options;
    options.keepSeries = true;
    options.showProgress = false;
    for (const RenderedOutput& output : summary.outputs) {
        std::error_code ec;
        FileAnalysis analysis;
        if (!fs::is_regular_file(output.path, ec)) {
            std::fprintf(stderr,
                         "stagegraph render: note: --html: output '%s' is not a file that can be read back: not plotted\n",
                         io::terminalText(output.path).c_str());
            continue;
        }
        if (auto error = analyzeFile(output.path, options, analysis); !error.empty()) {
            std::fprintf(stderr, "stagegraph render: error: --html: %s\n", io::terminalText(error).c_str());
            return kExitFailure;
        }
        HtmlSection section = sectionOf(analysis, "output " + output.name);
        if (output.target) {
            section.figures.insert(section.figures.begin() + 1, {"target gain", figureCell(output.target->gainDb, "dB", 2)});
            section.figures.insert(section.figures.begin() + 2,
                                   {"before target", figureCell(output.target->before.integratedLufs, "LUFS")});
        }
        section.gainReduction = reductions;
        if (report.sections.empty())
            addDiagram(section, request.graphPath, request.overrides, request.includeDirs);
        else
            section.diagramNote = "the graph's diagram is under the first output";
        report.sections.push_back(std::move(section));
    }
    if (auto error = writeHtmlReport(request.htmlPath, report); !error.empty()) {
        std::fprintf(stderr, "stagegraph render: error: --html: %s\n", io::terminalText(error).c_str());
        return kExitFailure;
    }
    return kExitOk;
}

std::string writeAnalyzeHtml(const std::string& path, const std::vector<FileAnalysis>& analyses) {
    HtmlReport report;
    report.title = "stagegraph analyze";
    report.facts = {{"files", std::to_string(analyses.size())}};
    for (const FileAnalysis& a : analyses) {
        HtmlSection section = sectionOf(a, a.file);
        section.diagramNote = "analyze measures a file: it has no graph to draw";
        section.gainReductionNote = "analyze measures a file: no node reports gain reduction";
        report.sections.push_back(std::move(section));
    }
    return writeHtmlReport(path, report);
}

} // namespace sg::cli
