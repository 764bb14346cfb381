// Loads a YAML graph file (format version 1) into a flat GraphDesc.
//
// Expands templates (`templates:` + `{use: name, param: value}`, `$name` substitution) and
// included files (`{use: other.yaml}`, relative to the including file) into dotted node names,
// splits `a -> b.port -> c` chains into connections, and reports every problem it can find
// with file:line:column. Unknown keys are errors. The loader knows nothing about node types:
// type names, parameters, units and ports are checked by the compiler.
//
// Graphs are read only from regular files, within the limits of LoadOptions (core/GraphLimits.h:
// file size, YAML values, nesting, nodes and connections after expansion), and `use:` reads only
// from the top-level graph's folder tree, the shipped graphs and the folders the caller names.
#pragma once

#include "core/Diagnostics.h"
#include "core/GraphDesc.h"
#include "core/GraphLimits.h"

#include <string>

namespace sg {

/// Loads `path`. On errors, `diags` has them and the returned graph is partial.
GraphDesc loadGraph(const std::string& path, Diagnostics& diags, const LoadOptions& options = {});
/// Loads from text; `displayName` is used in marks and `baseDir` resolves `use:` paths (and is
/// the folder tree includes are confined to, with the shipped graphs and options.includeDirs).
GraphDesc loadGraphFromString(const std::string& text, const std::string& displayName, const std::string& baseDir,
                              Diagnostics& diags, const LoadOptions& options = {});

} // namespace sg
