// Printing the compiled schedule: `check --schedule` and `dot`.
#include "core/Compiler.h"

#include <cstdio>
#include <sstream>

namespace sg {

std::string Schedule::describe() const {
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line, ", %s, %s, %.0f Hz, blocks of up to %s\n", simd.c_str(),
                  batched ? "lane-batched" : "unbatched", sampleRate, plural(maxBlockFrames, "frame", "frames").c_str());
    out << "schedule: " << plural(long(steps.size()), "step", "steps") << " for " << plural(long(nodes.size()), "node", "nodes")
        << line;
    if (workers > 1) out << "workers: " << workers << " threads, each runs its steps in order and waits only for what it reads\n";
    auto range = [](const std::vector<int>& v) {
        std::string s;
        for (int x : v) {
            if (!s.empty()) s += ',';
            s += std::to_string(x);
        }
        return s.empty() ? std::string("-") : s;
    };
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const ScheduleStep& st = steps[s];
        // Nodes fused into one instance (run in series) are joined by '>'.
        std::string names;
        for (std::size_t i = 0, k = 0; i < st.nodes.size(); ++k) {
            const int count = k < st.stages.size() ? st.stages[k] : 1;
            for (int j = 0; j < count && i < st.nodes.size(); ++j, ++i)
                names += (i == 0 ? "" : j == 0 ? " " : ">") + nodes[std::size_t(st.nodes[i])].name;
        }
        if (!st.stages.empty()) names += "  (fused)";
        std::snprintf(line, sizeof line, "  %3zu  %-10s %3d lane%s  ", s + 1, st.kernel.c_str(), st.lanes,
                      st.lanes == 1 ? " " : "s");
        out << line << "in[" << range(st.inputBuffers) << "] out[" << range(st.outputBuffers) << ']';
        if (st.sumsBefore) out << " +" << plural(st.sumsBefore, "sum", "sums");
        if (st.sumsAfter) out << " then " << plural(st.sumsAfter, "partial sum", "partial sums");
        out << "  ";
        if (workers > 1) out << "[worker " << st.worker << "]  ";
        out << names << '\n';
    }
    int carried = 0;
    for (const auto& e : edges) carried += e.channels;
    out << "buffers: " << plural(bufferCount, "mono buffer", "mono buffers") << " for "
        << plural(edgeCount, "connection", "connections") << " (" << plural(carried, "channel", "channels") << " carried)\n";
    std::snprintf(line, sizeof line, " (%.3f ms), ", 1000.0 * latencyFrames / sampleRate);
    out << "latency: " << plural(latencyFrames, "frame", "frames") << line
        << plural(insertedDelays, "compensation delay", "compensation delays") << " inserted\n";
    return out.str();
}

std::string scheduleToDot(const Schedule& s, const GraphDesc& graph) {
    std::ostringstream out;
    auto esc = [](const std::string& t) {
        std::string r;
        for (char c : t) {
            if (c == '"' || c == '\\') r += '\\';
            r += c;
        }
        return r;
    };
    out << "digraph \"" << esc(graph.name.empty() ? graph.file : graph.name)
        << "\" {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n";
    for (std::size_t i = 0; i < s.inputNames.size(); ++i)
        out << "  \"in:" << esc(s.inputNames[i]) << "\" [shape=invhouse, label=\"" << esc(s.inputNames[i]) << "\\n"
            << s.inputChannels[i] << " ch\"];\n";
    for (std::size_t i = 0; i < s.outputNames.size(); ++i)
        out << "  \"out:" << esc(s.outputNames[i]) << "\" [shape=house, label=\"" << esc(s.outputNames[i]) << "\\n"
            << s.outputChannels[i] << " ch\"];\n";
    for (const auto& n : s.nodes) {
        out << "  \"" << esc(n.name) << "\" [shape=box" << (n.inserted ? ", style=dashed" : "") << ", label=\"" << esc(n.name)
            << "\\n"
            << esc(n.type);
        if (n.latencyFrames) out << "\\nlatency " << n.latencyFrames;
        out << "\"];\n";
    }
    auto name = [&](int index, bool isSource) {
        std::string text(1, '"');
        if (index >= 0) {
            text += esc(s.nodes[std::size_t(index)].name);
        } else {
            const std::size_t ext = std::size_t(-1 - index);
            text += isSource ? "in:" + esc(s.inputNames[ext]) : "out:" + esc(s.outputNames[ext]);
        }
        return text + '"';
    };
    for (const auto& e : s.edges)
        out << "  " << name(e.from, true) << " -> " << name(e.to, false) << " [label=\"" << e.channels << "\"];\n";
    out << "}\n";
    return out.str();
}

} // namespace sg
