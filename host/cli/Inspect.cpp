#include "host/cli/Inspect.h"

#include "core/Compiler.h"
#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"
#include "host/cli/CommandLine.h"
#include "host/cli/CommandParser.h"
#include "host/cli/Render.h"
#include "host/cli/Report.h"
#include "host/io/AudioFile.h"
#include "host/io/TerminalText.h"
#include "nodes/lv2/Lv2.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
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
    bool svg = false;       ///< dot --svg
    std::string outputPath; ///< dot -o FILE ("" = stdout)
    bool batch = true;
    double rate = 48000;
    int block = 512;
    int threads = 1; ///< check --threads: the schedule over that many worker threads
    std::vector<std::string> overrides;
    std::vector<std::string> includeDirs; ///< --include-dir: more folders `use:` may read from
    bool help = false;
    std::string error;
};

/// The options of `check` (with --schedule) and `dot`, declared for the parser and --help.
struct GraphOptions {
    std::vector<std::string> graphs, overrides, includeDirs;
    std::string rate, block, threads;
    bool schedule = false, noBatch = false, svg = false;
    std::string outputPath;
    std::unique_ptr<CLI::App> app;

    explicit GraphOptions(bool check) {
        app = check ? makeCommandApp({"usage: stagegraph check GRAPH.yaml [--schedule] [--rate HZ] [--block N] [--no-batch] "
                                      "[--set node.param=VALUE...]",
                                      "Loads, validates and compiles a graph without audio and prints a summary.",
                                      "Exit status: 0 valid, 2 usage or graph error."})
                    : makeCommandApp({"usage: stagegraph dot GRAPH.yaml [--svg] [-o FILE] [--set node.param=VALUE...]",
                                      "Prints the compiled graph (with inserted latency-compensation delays, dashed) as\n"
                                      "Graphviz DOT, or with --svg drawn by Graphviz (dot -Tsvg) as SVG, for slides.",
                                      "Exit status: 0 success, 1 Graphviz missing or failing, or a write error,\n"
                                      "2 usage or graph error."});
        app->add_option("GRAPH.yaml", graphs, "the graph file");
        if (check) app->add_flag("--schedule", schedule, "print the compiled steps, lanes per step, buffers and latency");
        if (check)
            app->add_option("--threads", threads, "the schedule over N worker threads (render --threads; default 1)")
                ->type_name("N");
        if (!check) {
            app->add_flag("--svg", svg, "draw the diagram with Graphviz (dot -Tsvg) and write SVG");
            app->add_option("-o,--output", outputPath, "write to FILE (atomically) instead of stdout")->type_name("FILE");
        }
        app->add_option("--rate", rate, "sample rate to compile for (default 48000)")->type_name("HZ");
        app->add_option("--block", block, "internal block size in frames (default 512)")->type_name("N");
        app->add_flag("--no-batch", noBatch, "one step per node (no lane batching)");
        app->add_option("--set", overrides, "override a parameter (repeatable)")
            ->type_name("node.param=VALUE")
            ->allow_extra_args(false); // one value per --set: "--set a=1 GRAPH.yaml" keeps the graph
        app->add_option("--include-dir", includeDirs, "a folder 'use:' may also include graphs from (repeatable)")
            ->type_name("DIR")
            ->allow_extra_args(false);
    }
};

GraphArgs parseGraphArgs(const std::vector<std::string>& args, bool check) {
    GraphArgs g;
    GraphOptions o(check);
    const ParseOutcome outcome = parseCommandArguments(*o.app, args);
    g.help = outcome.help;
    g.error = outcome.error;
    if (g.help || !g.error.empty()) return g;
    g.schedule = o.schedule;
    g.svg = o.svg;
    g.outputPath = o.outputPath;
    g.batch = !o.noBatch;
    g.overrides = o.overrides;
    g.includeDirs = o.includeDirs;
    if (o.app->count("--rate") && !parseSampleRate(o.rate, g.rate))
        g.error = "--rate: expected a whole rate from 8000 to 768000 Hz, got '" + o.rate + "'";
    if (o.app->count("--block")) {
        const auto [end, code] = std::from_chars(o.block.data(), o.block.data() + o.block.size(), g.block);
        if (code != std::errc() || end != o.block.data() + o.block.size() || g.block < 1 || g.block > 8192)
            g.error = "--block: expected 1 to 8192 frames, got '" + o.block + "'";
    }
    if (check && o.app->count("--threads")) {
        const auto [end, code] = std::from_chars(o.threads.data(), o.threads.data() + o.threads.size(), g.threads);
        if (code != std::errc() || end != o.threads.data() + o.threads.size() || g.threads < 1 || g.threads > kMaxWorkerThreads)
            g.error =
                "--threads: expected a thread count from 1 to " + std::to_string(kMaxWorkerThreads) + ", got '" + o.threads + "'";
    }
    if (o.graphs.size() > 1) g.error = "unexpected argument " + o.graphs[1];
    if (o.graphs.empty()) g.error = "missing GRAPH.yaml";
    if (!o.graphs.empty()) g.graph = o.graphs.front();
    return g;
}

std::string graphHelp(bool check) { return helpText(*GraphOptions(check).app); }

int graphUsageError(const char* command, const std::string& message) {
    std::fprintf(stderr, "stagegraph %s: error: %s\n(see 'stagegraph %s --help')\n", command, io::terminalText(message).c_str(),
                 command);
    return kExitUsage;
}

/// Loads and compiles; prints diagnostics. Returns nullptr on error.
std::unique_ptr<Program> build(const GraphArgs& g, GraphDesc& desc) {
    Diagnostics diags;
    LoadOptions load;
    load.includeDirs = g.includeDirs;
    const auto compiled = loadAndCompile(g.graph, g.overrides, Registry::builtin(), diags, load, &desc);
    std::unique_ptr<Program> program;
    if (compiled) {
        CompileOptions options;
        options.sampleRate = g.rate;
        options.maxBlockFrames = g.block;
        options.batch = g.batch;
        options.threads = g.threads;
        program = instantiate(*compiled, options, diags);
    } else if (desc.complete) {
        // The rate-dependent limits too, at the rate checked for, in the same run.
        CompileOptions options;
        options.sampleRate = g.rate;
        checkAtRate(desc, Registry::builtin(), options, diags);
    }
    std::fputs(io::terminalLines(diags.formatAll()).c_str(), stderr); // messages quote the graph's text
    if (diags.hasErrors()) {
        std::fprintf(stderr, "%d error%s\n", diags.errorCount(), diags.errorCount() == 1 ? "" : "s");
        return nullptr;
    }
    return program;
}

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
        std::fputs(graphHelp(true).c_str(), stdout);
        return kExitOk;
    }
    if (!g.error.empty()) return graphUsageError("check", g.error);
    GraphDesc desc;
    auto program = build(g, desc);
    if (!program) return 2;
    const Schedule& s = program->schedule();
    int declared = 0;
    for (const auto& n : s.nodes) declared += n.inserted ? 0 : 1;
    std::printf("%s: ok\n", io::terminalText(g.graph).c_str());
    if (!desc.name.empty()) std::printf("  name:        %s\n", io::terminalText(desc.name).c_str());
    if (!desc.stage.empty()) std::printf("  stage:       %s\n", io::terminalText(desc.stage).c_str());
    if (!desc.description.empty()) std::printf("  description: %s\n", io::terminalText(desc.description).c_str());
    std::string ins, outs;
    auto describePorts = [](const std::vector<std::string>& names, const std::vector<int>& channels) {
        std::string list;
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (!list.empty()) list += ", ";
            list += io::terminalText(names[i]) + " (" + std::to_string(channels[i]) + " ch)";
        }
        return list;
    };
    ins = describePorts(s.inputNames, s.inputChannels);
    outs = describePorts(s.outputNames, s.outputChannels);
    std::printf("  inputs:      %s\n  outputs:     %s\n", ins.empty() ? "none" : ins.c_str(), outs.c_str());
    std::printf("  nodes:       %d declared, %s, %s\n", declared,
                plural(s.insertedDelays, "compensation delay", "compensation delays").c_str(),
                plural(std::int64_t(s.steps.size()), "step", "steps").c_str());
    std::printf("  latency:     %s (%.2f ms at %.0f Hz)\n", plural(s.latencyFrames, "frame", "frames").c_str(),
                1000.0 * s.latencyFrames / s.sampleRate, s.sampleRate);
    if (s.tailSeconds > 0) std::printf("  tail:        %.3f s\n", s.tailSeconds);
    if (g.schedule) {
        std::fputc('\n', stdout);
        std::fputs(io::terminalLines(s.describe()).c_str(), stdout); // node names are the graph's text
    }
    return 0;
}

namespace {

/// The DOT text of a built program, its names made terminal-safe.
std::string safeDot(const Program& program, GraphDesc desc) {
    // DOT is data, but it is read on terminals too: the graph's names reach core's DOT writer
    // (which escapes '"' and '\\') with their control characters already written as visible
    // \xNN, so the output holds no control character but its own line ends.
    Schedule safe = program.schedule();
    for (auto& name : safe.inputNames) name = io::terminalText(name);
    for (auto& name : safe.outputNames) name = io::terminalText(name);
    for (auto& node : safe.nodes) {
        node.name = io::terminalText(node.name);
        node.type = io::terminalText(node.type);
    }
    desc.name = io::terminalText(desc.name);
    desc.file = io::terminalText(desc.file);
    return scheduleToDot(safe, desc);
}

} // namespace

std::string graphDot(const std::string& graphPath, const std::vector<std::string>& overrides,
                     const std::vector<std::string>& includeDirs, std::string& dot) {
    Diagnostics diags;
    LoadOptions load;
    load.includeDirs = includeDirs;
    GraphDesc desc;
    const auto compiled = loadAndCompile(graphPath, overrides, Registry::builtin(), diags, load, &desc);
    std::unique_ptr<Program> program;
    if (compiled) {
        CompileOptions options;
        options.sampleRate = 48000;
        program = instantiate(*compiled, options, diags);
    }
    if (diags.hasErrors() || !program) return diags.formatAll();
    dot = safeDot(*program, desc);
    return {};
}

std::string dotToSvg(const std::string& dot, std::string& svg) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) != 0) return std::string("cannot run Graphviz: ") + std::strerror(errno);
    if (::pipe2(out, O_CLOEXEC) != 0) {
        ::close(in[0]), ::close(in[1]);
        return std::string("cannot run Graphviz: ") + std::strerror(errno);
    }
    if (::pipe2(err, O_CLOEXEC) != 0) {
        ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
        return std::string("cannot run Graphviz: ") + std::strerror(errno);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    char arg0[] = "dot", arg1[] = "-Tsvg";
    char* argv[] = {arg0, arg1, nullptr};
    pid_t pid = -1;
    const int spawned = ::posix_spawnp(&pid, "dot", &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]), ::close(out[1]), ::close(err[1]);
    if (spawned != 0) {
        ::close(in[1]), ::close(out[0]), ::close(err[0]);
        if (spawned == ENOENT) return "Graphviz is not installed: 'dot' was not found on PATH (Debian: apt-get install graphviz)";
        return std::string("cannot run Graphviz 'dot': ") + std::strerror(spawned);
    }
    // Feed stdin while draining stdout and stderr, so no pipe fills up and blocks dot.
    std::string errors;
    svg.clear();
    std::size_t written = 0;
    int writeFd = in[1];
    if (dot.empty()) ::close(writeFd), writeFd = -1;
    bool outOpen = true, errOpen = true;
    while (outOpen || errOpen) {
        pollfd fds[3];
        int count = 0;
        if (outOpen) fds[count++] = {out[0], POLLIN, 0};
        if (errOpen) fds[count++] = {err[0], POLLIN, 0};
        if (writeFd >= 0) fds[count++] = {writeFd, POLLOUT, 0};
        if (::poll(fds, nfds_t(count), -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < count; ++i) {
            if (fds[i].revents == 0) continue;
            if (fds[i].fd == writeFd) {
                const ssize_t n = ::write(writeFd, dot.data() + written, dot.size() - written);
                if (n > 0) written += std::size_t(n);
                if (n < 0 || written == dot.size()) ::close(writeFd), writeFd = -1;
                continue;
            }
            char buffer[8192];
            const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                (fds[i].fd == out[0] ? svg : errors).append(buffer, std::size_t(n));
            } else if (n == 0 || errno != EINTR) {
                if (fds[i].fd == out[0])
                    outOpen = false;
                else
                    errOpen = false;
            }
        }
    }
    if (writeFd >= 0) ::close(writeFd);
    ::close(out[0]), ::close(err[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || svg.find("<svg") == std::string::npos) {
        while (!errors.empty() && (errors.back() == '\n' || errors.back() == '\r')) errors.pop_back();
        return "Graphviz 'dot -Tsvg' failed" + (errors.empty() ? std::string() : ": " + errors);
    }
    return {};
}

int runDot(const std::vector<std::string>& args) {
    GraphArgs g = parseGraphArgs(args, false);
    if (g.help) {
        std::fputs(graphHelp(false).c_str(), stdout);
        return kExitOk;
    }
    if (!g.error.empty()) return graphUsageError("dot", g.error);
    if (!g.outputPath.empty() && io::sameFile(g.outputPath, g.graph))
        return graphUsageError("dot", "refusing to overwrite the graph file '" + g.graph + "'");
    GraphDesc desc;
    auto program = build(g, desc);
    if (!program) return 2;
    std::string text = safeDot(*program, desc);
    if (g.svg) {
        std::string svg;
        if (auto error = dotToSvg(text, svg); !error.empty()) {
            std::fprintf(stderr, "stagegraph dot: error: %s\n", io::terminalLines(error).c_str());
            return kExitFailure;
        }
        text = std::move(svg);
    }
    if (g.outputPath.empty()) {
        std::fputs(text.c_str(), stdout);
        return 0;
    }
    if (const std::string error = writeTextFile(g.outputPath, text); !error.empty()) {
        std::fprintf(stderr, "stagegraph dot: error: %s\n", io::terminalLines(error).c_str());
        return kExitFailure;
    }
    return 0;
}

std::string nodeNotes(const std::string& dir, const std::string& typeName) {
    std::ifstream in(std::filesystem::path(dir) / "notes" / (typeName + ".md"), std::ios::binary);
    if (!in) return {};
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string nodeMarkdown(const std::string& typeName, const std::string& notes) {
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
    if (!notes.empty()) md << "\n## Notes and measurements\n\n" << notes;
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

namespace {

/// `stagegraph nodes --lv2 [FILTER]`: each plugin's URI, name, audio ports, latency and controls.
int listLv2Plugins(const std::string& filter) {
    const std::vector<Lv2PluginSummary> plugins = installedLv2Plugins(filter);
    for (const Lv2PluginSummary& p : plugins) {
        // Names and texts come from the plugins' files: escaped for the terminal (docs/safety.md).
        std::printf("%s\n  %s\n", io::terminalText(p.uri).c_str(), io::terminalText(p.name).c_str());
        if (!p.unsupported.empty()) {
            std::printf("  not usable: %s\n", io::terminalText(p.unsupported).c_str());
            continue;
        }
        std::printf("  audio: %d in%s, %d out%s\n", p.audioInputs,
                    p.sidechainInputs ? (", " + std::to_string(p.sidechainInputs) + " sidechain").c_str() : "", p.audioOutputs,
                    p.reportsLatency ? "; reports its latency" : "");
        for (const ParamInfo& c : p.params)
            std::printf("    %-14s %-26s default %-10s %s\n", io::terminalText(c.id).c_str(), formatParamRange(c).c_str(),
                        formatQuantity(c.defaultValue, c.unit).c_str(), io::terminalText(c.description).c_str());
    }
    if (plugins.empty()) {
        std::fprintf(stderr, "stagegraph nodes: no installed LV2 plugin%s%s (searched LV2_PATH or the system's LV2 folders)\n",
                     filter.empty() ? "" : " matches ", filter.empty() ? "" : ("'" + filter + "'").c_str());
        return 1;
    }
    return 0;
}

} // namespace

int runNodes(const std::vector<std::string>& args) {
    bool markdown = false, lv2 = false;
    std::vector<std::string> types;
    std::string outDir;
    auto app = makeCommandApp({"usage: stagegraph nodes [TYPE] [--markdown] [--out DIR]\n"
                               "       stagegraph nodes --lv2 [FILTER]",
                               "Lists the node library; with TYPE, one node's ports and parameters. With --lv2, the "
                               "installed LV2 plugins (those whose URI contains FILTER), their ports and "
                               "parameters.",
                               "Exit status: 0 success, 2 usage error (an unknown TYPE)."});
    app->add_option("TYPE", types, "a node type, e.g. peak");
    app->add_flag("--markdown", markdown, "print the reference as Markdown");
    app->add_flag("--lv2", lv2, "list the installed LV2 plugins ({type: lv2, plugin: URI}, docs/plugins.md)");
    app->add_option("--out", outDir, "write the Markdown reference, one page per node, into DIR")->type_name("DIR");
    const ParseOutcome outcome = parseCommandArguments(*app, args);
    if (outcome.help) {
        std::fputs(helpText(*app).c_str(), stdout);
        return kExitOk;
    }
    if (!outcome.error.empty()) return graphUsageError("nodes", outcome.error);
    if (types.size() > 1) return graphUsageError("nodes", "one TYPE at a time, got '" + types[0] + "' and '" + types[1] + "'");
    const std::string type = types.empty() ? std::string() : types.front();
    if (lv2) return listLv2Plugins(type);
    const Registry& registry = Registry::builtin();
    if (const NodeTypeProvider* provider = type.empty() ? nullptr : registry.findProvider(type)) {
        std::printf("%s: %s\n", provider->typeName().c_str(), provider->description().c_str());
        return 0;
    }
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
        for (const NodeType* t : registry.all())
            write(t->info().name + ".md", nodeMarkdown(t->info().name, nodeNotes(outDir, t->info().name)));
        std::printf("wrote %s to %s\n", plural(std::int64_t(registry.all().size()), "node page", "node pages").c_str(),
                    outDir.c_str());
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
        for (const NodeTypeProvider* provider : registry.providers())
            std::printf("\n%s:\n  %-12s %s\n", provider->typeName().c_str(), provider->typeName().c_str(),
                        provider->description().c_str());
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
