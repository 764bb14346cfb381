// `--html FILE` on render, analyze and compare: one self-contained page with plots
// (docs/reports.md).
//
// The page holds its data as JSON and draws it with d3 (Debian's libjs-d3, version 3), read
// from the system when the page is written and inlined into it, so the page opens offline and
// nothing of d3 lives in this repository: /usr/share/javascript/d3/d3.min.js, or the file
// named by the environment variable STAGEGRAPH_D3_JS. Plots, per stream (a file, an output, a
// candidate): octave-band balance (bars), loudness over time (momentary and short-term lines),
// gain reduction over time (one line per node that records it), a waveform overview (min/max
// per 100 ms) with the true-peak level, and the graph diagram (Graphviz SVG, inlined). A
// comparison also gets one band chart and one short-term chart with every candidate, and the
// figures side by side.
#pragma once

#include "core/Node.h"
#include "host/cli/CompareFigures.h"
#include "host/cli/Figures.h"

#include <string>
#include <utility>
#include <vector>

namespace sg::cli {

/// One node's gain reduction over time.
struct HtmlGainReduction {
    std::string node;
    MeasurementSeries series;
};

/// One measured stream on the page.
struct HtmlSection {
    std::string title;                                        ///< "master", "a.wav", a candidate's label
    std::vector<std::pair<std::string, std::string>> figures; ///< label, value text (a table)
    OutputFigures loudness;                                   ///< for the true-peak line
    BalanceFigures balance;                                   ///< band bars
    SignalSeries series;                                      ///< loudness and waveform over time
    std::vector<HtmlGainReduction> gainReduction;             ///< may be empty
    std::string gainReductionNote;                            ///< shown when gainReduction is empty
    std::string diagramSvg;                                   ///< Graphviz SVG ("" = none)
    std::string diagramNote;                                  ///< why there is no diagram
};

/// The whole page.
struct HtmlReport {
    std::string title;                                      ///< "stagegraph compare"
    std::vector<std::pair<std::string, std::string>> facts; ///< label, value: input, rate, ...
    std::vector<HtmlSection> sections;
    bool comparison = false; ///< draw the candidates together as well (compare)
};

/// The plotting library's source (d3.min.js). Returns "" or an error naming the file and the
/// package to install.
std::string loadPlotLibrary(std::string& javascript);

/// The page's HTML. `javascript` is loadPlotLibrary()'s text.
std::string htmlReportText(const HtmlReport& report, const std::string& javascript);

/// The diagram of a graph file for a section: Graphviz SVG, or a note saying why there is none
/// (Graphviz missing, the graph not drawable). Never fails: a report without a diagram is still
/// a report.
void addDiagram(HtmlSection& section, const std::string& graphPath, const std::vector<std::string>& overrides,
                const std::vector<std::string>& includeDirs);

/// Writes `report` to `path` atomically (a temporary file beside it, renamed when complete).
/// Returns "" or an error.
std::string writeHtmlReport(const std::string& path, const HtmlReport& report);

} // namespace sg::cli
