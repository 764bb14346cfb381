// Loads a YAML graph file (format version 1) into a flat GraphDesc.
//
// Expands templates (`templates:` + `{use: name, param: value}`, `$name` substitution) and
// included files (`{use: other.yaml}`, relative to the including file) into dotted node names,
// splits `a -> b.port -> c` chains into connections, and reports every problem it can find
// with file:line:column. Unknown keys are errors. The loader knows nothing about node types:
// type names, parameters, units and ports are checked by the compiler.
#pragma once

#include "core/Diagnostics.h"
#include "core/GraphDesc.h"

#include <string>

namespace sg {

/// Loads `path`. On errors, `diags` has them and the returned graph is partial.
GraphDesc loadGraph(const std::string& path, Diagnostics& diags);
/// Loads from text; `displayName` is used in marks and `baseDir` resolves `use:` paths.
GraphDesc loadGraphFromString(const std::string& text, const std::string& displayName, const std::string& baseDir,
                              Diagnostics& diags);

} // namespace sg
