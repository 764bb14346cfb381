// The --html pages of `render` and `analyze` (the page itself: host/cli/HtmlReport.h).
//
// render: one section per written output, measured by reading the committed file back (so the
// plots show exactly the samples written), with the graph's gain reduction over time (every
// node that records the series gain_reduction_db) and the graph's diagram.
// analyze: one section per file; a file has no graph, so no gain reduction and no diagram.
#pragma once

#include "host/cli/Analyze.h"
#include "host/cli/Render.h"

#include <string>
#include <vector>

namespace sg::cli {

/// Before a render with --html: the plotting library is installed and the page would not
/// overwrite an input, an output, the graph or the report. Returns "" or a usage error.
std::string checkHtmlRequest(const RenderRequest& request);

/// After a successful render: writes request.htmlPath. Returns the exit status (errors printed).
int writeRenderHtml(const RenderRequest& request, const RenderSummary& summary);

/// analyze --html: writes the page of `analyses` to `path`. Returns "" or an error.
std::string writeAnalyzeHtml(const std::string& path, const std::vector<FileAnalysis>& analyses);

/// The figures of one analysis as the page's table shows them: label, value text.
std::vector<std::pair<std::string, std::string>> analysisRows(const FileAnalysis& analysis);

} // namespace sg::cli
