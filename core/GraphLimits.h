// Limits on what one graph may cost to load, compile and prepare, and where `use:` may read
// included graphs from. A graph beyond a limit is a graph error (exit 2) at file:line:col that
// names the limit, before the cost is paid; docs/safety.md ("Graph limits", "Includes") lists
// them for users.
#pragma once

#include "core/GraphDesc.h"

#include <cstddef>
#include <string>
#include <vector>

namespace sg {

/// The documented limits. Each has a name that appears in its error message ("limit
/// 'expanded-nodes'"), so a user can find it in docs/safety.md.
struct GraphLimits {
    /// 'graph-file-size': bytes of one graph file (the top file or an included one).
    std::size_t maxFileBytes = 1 << 20;
    /// 'yaml-nodes': YAML values (maps, lists, scalars) in one graph file, counted before the
    /// YAML tree is built (a tree costs ~200 bytes per value; 1 MiB of `[0,0,...]` is 500,000).
    std::size_t maxYamlNodes = 200000;
    /// 'nesting-depth': `use:` inside `use:` (templates and included files), and YAML maps or
    /// lists inside each other.
    int maxNestingDepth = 32;
    /// 'expanded-nodes': nodes plus template and file instances after expansion.
    std::size_t maxExpandedNodes = 250000;
    /// 'expanded-connections': connections after expansion (paths through instance ports).
    std::size_t maxExpandedConnections = 1000000;
    /// 'delay-memory': bytes of delay lines at the sample rate (latency of every node, the delay
    /// of `delay` nodes and of compensation delays, times channels, 4 bytes a sample).
    std::size_t maxDelayMemoryBytes = std::size_t(256) << 20;
    /// 'sample-rate': the rates a graph is prepared at, Hz.
    double minSampleRate = 1000;
    double maxSampleRate = 768000;
};

/// How loadGraph() reads files.
struct LoadOptions {
    GraphLimits limits;
    /// Folders (besides the top-level graph's folder tree and the shipped graphs) that `use:` may
    /// read included graphs from, with everything below them (`--include-dir DIR`).
    std::vector<std::string> includeDirs;
    /// Confine `use:` files to the allowed folders (tests of the loader alone may turn it off).
    bool confineIncludes = true;
    /// Stage swaps, `--swap NAME=FILE`: the `use:` instance NAME (dotted as in `--set`, e.g.
    /// `mastering` or `mixing.vocal_ch`) expands the graph file FILE (relative to the working
    /// directory) instead of what the graph names; its use-site parameters go to FILE. FILE's
    /// folder tree is allowed for its own includes. A NAME that matches no instance is an error.
    std::vector<std::string> swaps;
    /// Graph files given by text, read instead of the disk when a path (the top-level file's as
    /// given, an included file's as `use:` joins it) matches exactly. Every other rule (limits,
    /// confinement) still applies. GraphDesc::files is what a load read.
    std::vector<GraphFileText> fileTexts;
};

/// The folder of the graphs shipped with stagegraph, always allowed for `use:`: beside the
/// installed command (<prefix>/share/stagegraph/graphs), else graphs/ of the source tree, else
/// the configured install prefix's, else the Debian package's (/usr/share/stagegraph/graphs);
/// "" if none exists.
std::string shippedGraphsDir();

} // namespace sg
