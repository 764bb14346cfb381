// `stagegraph check`, `dot` and `nodes`: commands that read graphs and the registry, no audio.
#pragma once

#include <string>
#include <vector>

namespace sg::cli {

/// stagegraph check GRAPH.yaml [--schedule] [--rate HZ] [--block N] [--no-batch]
int runCheck(const std::vector<std::string>& args);
/// stagegraph dot GRAPH.yaml [--svg] [-o FILE]
int runDot(const std::vector<std::string>& args);

/// The Graphviz DOT text of a graph as `stagegraph dot` prints it (names made terminal-safe),
/// compiled at 48 kHz. Returns "" or the graph's diagnostics.
std::string graphDot(const std::string& graphPath, const std::vector<std::string>& overrides,
                     const std::vector<std::string>& includeDirs, std::string& dot);
/// Runs Graphviz (`dot -Tsvg`, found on PATH) on `dot`. Returns "" or an error: Graphviz is not
/// installed, or dot failed (with its message).
std::string dotToSvg(const std::string& dot, std::string& svg);
/// stagegraph nodes [TYPE] [--markdown] [--out DIR]
int runNodes(const std::vector<std::string>& args);

/// Markdown reference page of one node type (docs/nodes/<type>.md), generated from its
/// declaration; `notes` (hand-written maths, figures, measurement tables kept in
/// docs/nodes/notes/<type>.md) is appended when not empty.
std::string nodeMarkdown(const std::string& type, const std::string& notes = {});
/// The hand-written notes for `type` in the reference folder `dir` (DIR/notes/<type>.md), or "".
std::string nodeNotes(const std::string& dir, const std::string& type);
/// Markdown index of all node types (docs/nodes/README.md).
std::string nodeIndexMarkdown();

} // namespace sg::cli
