// `stagegraph check`, `dot` and `nodes`: commands that read graphs and the registry, no audio.
#pragma once

#include <string>
#include <vector>

namespace sg::cli {

/// stagegraph check GRAPH.yaml [--schedule] [--rate HZ] [--block N] [--no-batch]
int runCheck(const std::vector<std::string>& args);
/// stagegraph dot GRAPH.yaml
int runDot(const std::vector<std::string>& args);
/// stagegraph nodes [TYPE] [--markdown] [--out DIR]
int runNodes(const std::vector<std::string>& args);

/// Markdown reference page of one node type (docs/nodes/<type>.md).
std::string nodeMarkdown(const std::string& type);
/// Markdown index of all node types (docs/nodes/README.md).
std::string nodeIndexMarkdown();

} // namespace sg::cli
