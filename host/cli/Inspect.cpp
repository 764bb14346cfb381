#include "host/cli/Inspect.h"

#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sg::cli {

namespace {

struct GraphArgs {
    std::string graph;
    bool schedule = false;
    bool batch = true;
    double rate = 48000;
    int block = 512;
    std::vector<std::string> overrides;
    bool help = false;
    std::string error;
};

GraphArgs parseGraphArgs(const std::vector<std::string>& args, bool allowSchedule) {
    GraphArgs g;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto value = [&](const char* what) -> std::string {
            if (i + 1 >= args.size()) {
                g.error = a + " needs " + what;
                return {};
            }
            return args[++i];
        };
        if (a == "--help" || a == "-h")
            g.help = true;
        else if (a == "--schedule" && allowSchedule)
            g.schedule = true;
        else if (a == "--no-batch")
            g.batch = false;
        else if (a == "--rate") {
            std::string v = value("a sample rate in Hz");
            g.rate = std::atof(v.c_str());
            if (g.rate <= 0 && g.error.empty()) g.error = "--rate: not a sample rate: " + v;
        } else if (a == "--block") {
            std::string v = value("a frame count");
            g.block = std::atoi(v.c_str());
            if ((g.block < 1 || g.block > 8192) && g.error.empty()) g.error = "--block: expected 1 to 8192 frames, got " + v;
        } else if (a == "--set")
            g.overrides.push_back(value("node.param=VALUE"));
        else if (!a.empty() && a[0] == '-')
            g.error = "unknown option " + a;
        else if (g.graph.empty())
            g.graph = a;
        else
            g.error = "unexpected argument " + a;
    }
    if (!g.help && g.error.empty() && g.graph.empty()) g.error = "missing GRAPH.yaml";
    return g;
}

/// Loads and compiles; prints diagnostics. Returns nullptr on error.
std::unique_ptr<Program> build(const GraphArgs& g, GraphDesc& desc) {
    Diagnostics diags;
    desc = loadGraph(g.graph, diags);
    if (!diags.hasErrors()) applyOverrides(desc, g.overrides, diags);
    std::unique_ptr<Program> program;
    if (!diags.hasErrors()) {
        CompileOptions options;
        options.sampleRate = g.rate;
        options.maxBlockFrames = g.block;
        options.batch = g.batch;
        program = compileGraph(desc, Registry::builtin(), options, diags);
    }
    std::fputs(diags.formatAll().c_str(), stderr);
    if (diags.hasErrors()) {
        std::fprintf(stderr, "%d error%s\n", diags.errorCount(), diags.errorCount() == 1 ? "" : "s");
        return nullptr;
    }
    return program;
}

const char* kCheckHelp =
    "usage: stagegraph check GRAPH.yaml [--schedule] [--rate HZ] [--block N] [--no-batch] [--set node.param=VALUE...]\n"
    "Loads, validates and compiles a graph without audio and prints a summary.\n"
    "  --schedule   print the compiled steps, lanes per step, buffers and latency\n"
    "  --rate HZ    sample rate to compile for (default 48000)\n"
    "  --block N    internal block size in frames (default 512)\n"
    "  --no-batch   one step per node (no lane batching)\n"
    "Exit status: 0 valid, 2 usage or graph error.\n";

std::string formatParamRange(const ParamInfo& p) {
    if (!p.choices.empty()) { // "12, 24 or 48": no '|', which would split a Markdown table cell
        std::string s;
        for (std::size_t i = 0; i < p.choices.size(); ++i) {
            if (i > 0) s += i + 1 == p.choices.size() ? " or " : ", ";
            s += formatQuantity(p.choices[i], p.unit);
        }
        return s;
    }
    return formatQuantity(p.minValue, p.unit) + " .. " + formatQuantity(p.maxValue, p.unit);
}

} // namespace

int runCheck(const std::vector<std::string>& args) {
    GraphArgs g = parseGraphArgs(args, true);
    if (g.help) {
        std::fputs(kCheckHelp, stdout);
        return 0;
    }
    if (!g.error.empty()) {
        std::fprintf(stderr, "stagegraph check: %s\n%s", g.error.c_str(), kCheckHelp);
        return 2;
    }
    GraphDesc desc;
    auto program = build(g, desc);
    if (!program) return 2;
    const Schedule& s = program->schedule();
    int declared = 0;
    for (const auto& n : s.nodes) declared += n.inserted ? 0 : 1;
    std::printf("%s: ok\n", g.graph.c_str());
    if (!desc.name.empty()) std::printf("  name:        %s\n", desc.name.c_str());
    if (!desc.stage.empty()) std::printf("  stage:       %s\n", desc.stage.c_str());
    if (!desc.description.empty()) std::printf("  description: %s\n", desc.description.c_str());
    std::string ins, outs;
    auto describePorts = [](const std::vector<std::string>& names, const std::vector<int>& channels) {
        std::string list;
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (!list.empty()) list += ", ";
            list += names[i] + " (" + std::to_string(channels[i]) + " ch)";
        }
        return list;
    };
    ins = describePorts(s.inputNames, s.inputChannels);
    outs = describePorts(s.outputNames, s.outputChannels);
    std::printf("  inputs:      %s\n  outputs:     %s\n", ins.empty() ? "none" : ins.c_str(), outs.c_str());
    std::printf("  nodes:       %d declared, %d compensation delays, %zu steps\n", declared, s.insertedDelays, s.steps.size());
    std::printf("  latency:     %d frames (%.2f ms at %.0f Hz)\n", s.latencyFrames, 1000.0 * s.latencyFrames / s.sampleRate,
                s.sampleRate);
    if (s.tailSeconds > 0) std::printf("  tail:        %.3f s\n", s.tailSeconds);
    if (g.schedule) {
        std::fputc('\n', stdout);
        std::fputs(s.describe().c_str(), stdout);
    }
    return 0;
}

int runDot(const std::vector<std::string>& args) {
    GraphArgs g = parseGraphArgs(args, false);
    if (g.help) {
        std::puts("usage: stagegraph dot GRAPH.yaml [--set node.param=VALUE...] > graph.dot\n"
                  "Prints the compiled graph (with inserted latency-compensation delays, dashed) as Graphviz DOT.\n"
                  "Draw it with: dot -Tsvg graph.dot -o graph.svg");
        return 0;
    }
    if (!g.error.empty()) {
        std::fprintf(stderr, "stagegraph dot: %s\n", g.error.c_str());
        return 2;
    }
    GraphDesc desc;
    auto program = build(g, desc);
    if (!program) return 2;
    std::fputs(scheduleToDot(program->schedule(), desc).c_str(), stdout);
    return 0;
}

std::string nodeMarkdown(const std::string& typeName) {
    const NodeType* type = Registry::builtin().find(typeName);
    if (!type) return {};
    const NodeTypeInfo& info = type->info();
    std::ostringstream md;
    md << "# " << info.name << "\n\n"
       << "*Family:* " << info.family << (info.batchable ? " · lane-batched" : "") << (info.inPlace ? " · in place" : "")
       << "\n\n"
       << info.description << "\n\n";
    md << "## Ports\n\n| port | direction | description |\n|---|---|---|\n";
    for (const auto& p : info.inputs)
        md << "| `" << p.name << "` | input" << (p.required ? "" : " (optional)") << " | " << p.description << " |\n";
    for (const auto& p : info.outputs) md << "| `" << p.name << "` | output | " << p.description << " |\n";
    if (!info.channelRule.empty()) md << "\nChannels: " << info.channelRule << "\n";
    md << "\n## Parameters\n\n";
    if (info.params.empty())
        md << "None.\n";
    else {
        md << "| parameter | unit | range | default | smoothing | description |\n|---|---|---|---|---|---|\n";
        for (const auto& p : info.params) {
            md << "| `" << p.id << "` | " << (p.unit == UnitKind::Plain ? "number" : baseUnitSymbol(p.unit)) << " | "
               << formatParamRange(p) << " | " << formatQuantity(p.defaultValue, p.unit) << " | "
               << (p.smoothingMs > 0 ? formatQuantity(p.smoothingMs, UnitKind::Time) : std::string("-")) << " | " << p.description
               << " |\n";
        }
    }
    if (!info.reference.empty()) md << "\n## Reference\n\n" << info.reference << "\n";
    md << "\n## Example\n\n```yaml\n" << info.name << "_1: {type: " << info.name;
    for (const auto& p : info.params) {
        md << ", " << p.id << ": " << formatQuantity(p.defaultValue, p.unit);
    }
    md << "}\n```\n";
    return md.str();
}

std::string nodeIndexMarkdown() {
    std::ostringstream md;
    md << "# Node reference\n\nGenerated from the node registry by `stagegraph nodes --markdown --out docs/nodes`; "
          "do not edit by hand (a test checks that these pages match the registry).\n\n"
          "| node | family | description |\n|---|---|---|\n";
    for (const NodeType* t : Registry::builtin().all())
        md << "| [" << t->info().name << "](" << t->info().name << ".md) | " << t->info().family << " | " << t->info().description
           << " |\n";
    return md.str();
}

int runNodes(const std::vector<std::string>& args) {
    bool markdown = false;
    std::string type, outDir;
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--markdown")
            markdown = true;
        else if (args[i] == "--out" && i + 1 < args.size())
            outDir = args[++i];
        else if (args[i] == "--help" || args[i] == "-h") {
            std::puts("usage: stagegraph nodes [TYPE] [--markdown] [--out DIR]\n"
                      "Lists the node library; with TYPE, one node's ports and parameters.\n"
                      "  --markdown  print the reference as Markdown\n"
                      "  --out DIR   write the Markdown reference, one page per node, into DIR");
            return 0;
        } else if (!args[i].empty() && args[i][0] == '-') {
            std::fprintf(stderr, "stagegraph nodes: unknown option %s\n", args[i].c_str());
            return 2;
        } else
            type = args[i];
    }
    const Registry& registry = Registry::builtin();
    if (!type.empty() && !registry.find(type)) {
        std::string hint = registry.closest(type);
        std::fprintf(stderr, "stagegraph nodes: unknown node type '%s'%s\n", type.c_str(),
                     hint.empty() ? "" : (" (did you mean '" + hint + "'?)").c_str());
        return 2;
    }
    if (!outDir.empty()) {
        std::filesystem::create_directories(outDir);
        auto write = [&](const std::string& name, const std::string& text) {
            std::ofstream(std::filesystem::path(outDir) / name, std::ios::binary) << text;
        };
        write("README.md", nodeIndexMarkdown());
        for (const NodeType* t : registry.all()) write(t->info().name + ".md", nodeMarkdown(t->info().name));
        std::printf("wrote %zu node pages to %s\n", registry.all().size(), outDir.c_str());
        return 0;
    }
    if (markdown) {
        if (!type.empty())
            std::fputs(nodeMarkdown(type).c_str(), stdout);
        else {
            std::fputs(nodeIndexMarkdown().c_str(), stdout);
            for (const NodeType* t : registry.all()) {
                std::fputc('\n', stdout);
                std::fputs(nodeMarkdown(t->info().name).c_str(), stdout);
            }
        }
        return 0;
    }
    if (type.empty()) {
        std::string family;
        for (const NodeType* t : registry.all()) {
            if (t->info().family != family) {
                family = t->info().family;
                std::printf("%s%s:\n", family == registry.all().front()->info().family ? "" : "\n", family.c_str());
            }
            std::printf("  %-12s %s\n", t->info().name.c_str(), t->info().description.c_str());
        }
        std::puts("\nRun 'stagegraph nodes TYPE' for a node's ports and parameters.");
        return 0;
    }
    const NodeTypeInfo& info = registry.find(type)->info();
    std::printf("%s (%s): %s\n", info.name.c_str(), info.family.c_str(), info.description.c_str());
    std::printf("  inputs: ");
    for (const auto& p : info.inputs) std::printf(" %s%s", p.name.c_str(), p.required ? "" : " (optional)");
    std::printf("\n  outputs:");
    for (const auto& p : info.outputs) std::printf(" %s", p.name.c_str());
    std::printf("\n");
    if (!info.channelRule.empty()) std::printf("  channels: %s\n", info.channelRule.c_str());
    if (info.batchable) std::printf("  lane-batched: instances at the same graph level share one SIMD kernel call\n");
    std::printf("  parameters:\n");
    for (const auto& p : info.params)
        std::printf("    %-10s %-22s default %-10s %s\n", p.id.c_str(), formatParamRange(p).c_str(),
                    formatQuantity(p.defaultValue, p.unit).c_str(), p.description.c_str());
    if (!info.reference.empty()) std::printf("  reference: %s\n", info.reference.c_str());
    return 0;
}

} // namespace sg::cli
