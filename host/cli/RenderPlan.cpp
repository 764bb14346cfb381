#include "host/cli/RenderPlan.h"

#include "core/Executor.h"
#include "core/GraphLoader.h"
#include "core/Registry.h"
#include "host/cli/CommandLine.h"
#include "host/cli/RenderText.h"
#include "host/io/TerminalText.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace fs = std::filesystem;

namespace sg::cli {

namespace {

/// --threads auto (0): the engine's choice (the cores, if the graph's branches are worth
/// sharing), but one thread when the machine is busy already: a 1-minute load average at or
/// above the cores, as `make --load-average` judges it. Threads that meet every block wait
/// for each other when the system does not run them side by side (measured on the 2-core
/// machine at a load of 13: the 32-strip mix took 4 to 14 times as long on 2 threads).
int threadsFor(const RenderRequest& request) {
    if (request.threads != 0) return request.threads;
    const int cores = std::max(1, int(std::thread::hardware_concurrency()));
    double load = 0;
    if (getloadavg(&load, 1) == 1 && load >= cores) return 1;
    return 0;
}

std::string portList(const std::vector<ExternalDesc>& ports) {
    if (ports.empty()) return "none";
    std::string out;
    for (const auto& p : ports) out += (out.empty() ? "" : ", ") + quotedText(p.name);
    return out;
}

int findPort(const std::vector<ExternalDesc>& ports, const std::string& name) {
    for (std::size_t i = 0; i < ports.size(); ++i)
        if (ports[i].name == name) return int(i);
    return -1;
}

/// Binds "[NAME=]FILE" arguments to `ports`. A bare FILE goes to the one port not yet bound
/// (for inputs: or the one unbound port without a default file). Returns "" or a usage error.
std::string bindFiles(const std::vector<ExternalDesc>& ports, const std::vector<std::string>& args, bool isInput,
                      std::vector<std::string>& bound) {
    const char* kind = isInput ? "input" : "output";
    const char* flag = isInput ? "-i" : "-o";
    bound.assign(ports.size(), std::string());
    std::vector<std::string> bare;
    for (const auto& arg : args) {
        const auto eq = arg.find('=');
        if (eq != std::string::npos && eq > 0) {
            const std::string name = arg.substr(0, eq), file = arg.substr(eq + 1);
            const int port = findPort(ports, name);
            if (port >= 0) {
                if (file.empty()) return std::string(flag) + " " + arg + ": no file after '='";
                if (!bound[std::size_t(port)].empty())
                    return "graph " + std::string(kind) + " " + quotedText(name) + " is given twice";
                bound[std::size_t(port)] = file;
                continue;
            }
            std::error_code ec;
            if (!(isInput && fs::exists(arg, ec)))
                return "the graph has no " + std::string(kind) + " " + quotedText(name) + " (its " + kind +
                       "s: " + portList(ports) + ")";
        }
        bare.push_back(arg);
    }
    for (const auto& file : bare) {
        std::vector<int> open, openWithoutDefault;
        for (std::size_t i = 0; i < ports.size(); ++i) {
            if (!bound[i].empty()) continue;
            open.push_back(int(i));
            if (ports[i].file.empty()) openWithoutDefault.push_back(int(i));
        }
        int port = -1;
        if (open.size() == 1)
            port = open[0];
        else if (isInput && openWithoutDefault.size() == 1)
            port = openWithoutDefault[0];
        if (port < 0) {
            if (open.empty())
                return "no graph " + std::string(kind) + " left for " + quotedText(file) + " (its " + kind +
                       "s: " + portList(ports) + ")";
            return "cannot tell which graph " + std::string(kind) + " " + quotedText(file) + " is for (its " + kind +
                   "s: " + portList(ports) + "); write " + flag + " NAME=FILE";
        }
        bound[std::size_t(port)] = file;
    }
    if (isInput) {
        for (std::size_t i = 0; i < ports.size(); ++i) {
            if (!bound[i].empty()) continue;
            if (!ports[i].file.empty())
                bound[i] = ports[i].file; // already relative to the graph file
            else
                return "no file for graph input " + quotedText(ports[i].name) + " (give -i " + ports[i].name + "=FILE)";
        }
    }
    return {};
}

/// Every graph file the load read: the top-level one and each file pulled in by `use:`, found
/// again from the source marks the loader keeps on every node, parameter, connection and port
/// (GraphDesc lists no files of its own). A file that contributes nothing marked is missed.
std::vector<std::string> graphFilesRead(const std::string& graphPath, const GraphDesc& desc) {
    std::vector<std::string> files{graphPath};
    auto add = [&](const SourceMark& mark) {
        if (mark.file.empty() || mark.file == "--set") return; // a value from the command line, not a file
        for (const auto& known : files)
            if (known == mark.file) return;
        files.push_back(mark.file);
    };
    for (const auto& node : desc.nodes) {
        add(node.mark);
        add(node.typeMark);
        for (const auto& param : node.params) {
            add(param.keyMark);
            add(param.value.mark);
        }
    }
    for (const auto& connection : desc.connections) {
        add(connection.from.mark);
        add(connection.to.mark);
    }
    for (const auto& port : desc.inputs) add(port.mark);
    for (const auto& port : desc.outputs) add(port.mark);
    return files;
}

/// The file an input spec reads ("raw:48000:2:f32le:x.raw" reads x.raw).
std::string inputFilePath(const std::string& spec) {
    io::InputSpec parsed;
    io::parseInputSpec(spec, parsed);
    return parsed.path.empty() ? spec : parsed.path;
}

/// Formats per output and the checks that no output overwrites an input, the graph or another
/// output, and that --report does not either. Returns "" or a usage error.
std::string checkOutputs(const RenderRequest& request, RenderPlan& plan) {
    plan.formats.assign(plan.outputs.size(), io::OutputFormat::Wav24);
    for (std::size_t o = 0; o < plan.outputs.size(); ++o) {
        const std::string& path = plan.outputFiles[o];
        if (path.empty()) continue;
        if (request.format) {
            if (!io::formatMatchesPath(*request.format, path))
                return std::string("--format ") + io::outputFormatName(*request.format) + " does not fit the name " +
                       quotedText(path);
            plan.formats[o] = *request.format;
        } else if (auto format = io::defaultFormatForPath(path)) {
            plan.formats[o] = *format;
        } else {
            return "cannot tell the format of " + quotedText(path) +
                   " from its name; use --format wav16|wav24|wav32f|flac16|flac24|mp3|opus|... (docs/formats.md)";
        }
        if (request.quality) {
            if (!io::takesQuality(plan.formats[o]))
                return "--quality applies to lossy encodings (mp3, opus, ogg), not " + io::outputFormatName(plan.formats[o]) +
                       " (" + quotedText(path) + ")";
            plan.formats[o].compressionLevel = 1.0 - *request.quality;
        }
        if (request.bitrateMode != io::BitrateMode::Default && !io::takesBitrateMode(plan.formats[o]))
            return "--bitrate-mode applies to mp3 and opus, not " + io::outputFormatName(plan.formats[o]) + " (" +
                   quotedText(path) + ")";
        plan.formats[o].bitrateMode = request.bitrateMode;
        for (const auto& input : plan.inputFiles)
            if (path != "-" && io::sameFile(path, inputFilePath(input)))
                return "refusing to overwrite input file " + quotedText(input) + " with output " +
                       quotedText(plan.outputs[o].name);
        for (const auto& graph : plan.graphFiles)
            if (io::sameFile(path, graph)) return "refusing to overwrite the graph file " + quotedText(graph);
        std::error_code ec;
        const bool device = fs::is_character_file(path, ec); // /dev/null may take several outputs
        for (std::size_t earlier = 0; earlier < o && !device; ++earlier)
            if (!plan.outputFiles[earlier].empty() && io::sameFile(path, plan.outputFiles[earlier]))
                return "outputs " + quotedText(plan.outputs[earlier].name) + " and " + quotedText(plan.outputs[o].name) +
                       " would both write " + quotedText(path);
    }
    if (!request.reportPath.empty()) {
        const std::string& report = request.reportPath;
        for (const auto& input : plan.inputFiles)
            if (report != "-" && io::sameFile(report, inputFilePath(input)))
                return "--report: refusing to overwrite input file " + quotedText(input);
        for (const auto& graph : plan.graphFiles)
            if (io::sameFile(report, graph)) return "--report: refusing to overwrite the graph file " + quotedText(graph);
        for (const auto& path : plan.outputFiles)
            if (!path.empty() && io::sameFile(report, path)) return "--report " + quotedText(report) + " is also an output file";
    }
    return {};
}

/// Opens every input and checks that they share one rate and fit the declared channels.
/// Returns kExitOk or kExitFailure (an audio file that does not fit is an audio problem).
int openInputs(const RenderRequest& request, RenderPlan& plan) {
    plan.readers = std::vector<io::AudioFileReader>(plan.inputs.size());
    if (plan.readers.empty()) return kExitOk;
    int standardInputs = 0;
    for (const auto& file : plan.inputFiles) standardInputs += inputFilePath(file) == "-";
    if (standardInputs > 1) {
        printRenderError("standard input (-) can feed only one graph input, not " + std::to_string(standardInputs));
        return kExitUsage;
    }
    for (std::size_t i = 0; i < plan.readers.size(); ++i) {
        if (auto error = plan.readers[i].open(plan.inputFiles[i]); !error.empty()) {
            printRenderError(error);
            return kExitFailure;
        }
    }
    // The graph's rate: --rate, else the first input's; inputs at another rate are resampled.
    plan.sampleRate = request.sampleRate.value_or(plan.readers[0].fileSampleRate());
    for (std::size_t i = 0; i < plan.readers.size(); ++i) {
        io::AudioFileReader& reader = plan.readers[i];
        if (auto error = reader.resampleTo(plan.sampleRate, request.resampleQuality); !error.empty()) {
            printRenderError(error);
            return kExitFailure;
        }
        if (reader.channels() != plan.inputs[i].channels) {
            printRenderError(quotedText(plan.inputFiles[i]) + " has " + countText(reader.channels(), "channel", "channels") +
                             ", graph input " + quotedText(plan.inputs[i].name) + " expects " +
                             std::to_string(plan.inputs[i].channels));
            return kExitFailure;
        }
    }
    return kExitOk;
}

} // namespace

std::shared_ptr<const RenderGraph> loadRenderGraph(const RenderRequest& request) {
    auto graph = std::make_shared<RenderGraph>();
    Diagnostics diags;
    GraphDesc desc;
    LoadOptions load;
    load.includeDirs = request.includeDirs;
    load.swaps = request.swaps;
    graph->compiled = loadAndCompile(request.graphPath, request.overrides, Registry::builtin(), diags, load, &desc);
    if ((diags.hasErrors() || !graph->compiled) && desc.complete && request.sampleRate) {
        // With --rate the rate-dependent limits are known before any input is opened: same run.
        InstanceOptions options;
        options.sampleRate = *request.sampleRate;
        checkAtRate(desc, Registry::builtin(), options, diags);
    }
    if (diags.hasErrors()) graph->compiled.reset();
    graph->graphFiles = graphFilesRead(request.graphPath, desc);
    graph->diagnostics = diags.formatAll();
    return graph;
}

int planRender(const RenderRequest& request, RenderPlan& plan) {
    if (request.blockFrames < kMinBlockFrames || request.blockFrames > kMaxBlockFrames)
        return renderUsageError("--block: expected a frame count from 1 to 8192, got " + std::to_string(request.blockFrames));

    // The graph, its overrides, and every graph error: before any file is touched.
    const std::shared_ptr<const RenderGraph> graph = request.graph ? request.graph : loadRenderGraph(request);
    if (!graph->diagnostics.empty()) printRenderDiagnostics(graph->diagnostics); // warnings too
    if (!graph->compiled) return kExitUsage;
    plan.compiled = graph->compiled;
    plan.graphFiles = graph->graphFiles;
    plan.inputs = compiledDesc(*plan.compiled).inputs;
    plan.outputs = compiledDesc(*plan.compiled).outputs;

    // Files for the graph's inputs and outputs.
    if (auto error = bindFiles(plan.inputs, request.inputs, true, plan.inputFiles); !error.empty())
        return renderUsageError(error);
    if (auto error = bindFiles(plan.outputs, request.outputs, false, plan.outputFiles); !error.empty())
        return renderUsageError(error);
    if (plan.inputs.empty() && !request.durationSeconds)
        return renderUsageError("the graph " + quotedText(request.graphPath) +
                                " has no inputs: give its length with --duration SECONDS (and --rate HZ, default 48000)");
    if (auto error = checkOutputs(request, plan); !error.empty()) return renderUsageError(error);
    for (const auto& input : plan.inputFiles) plan.protectedPaths.push_back(inputFilePath(input));
    plan.protectedPaths.insert(plan.protectedPaths.end(), plan.graphFiles.begin(), plan.graphFiles.end());

    if (const int status = openInputs(request, plan); status != kExitOk) return status;
    if (plan.inputs.empty()) plan.sampleRate = request.sampleRate.value_or(kDefaultSourceRate);
    plan.outputRate = request.outputRate.value_or(plan.sampleRate);
    for (std::size_t o = 0; o < plan.outputs.size(); ++o) {
        if (plan.outputFiles[o].empty()) continue;
        if (auto reason = io::checkOutputFormat(plan.formats[o], plan.outputRate, plan.outputs[o].channels); !reason.empty())
            return renderUsageError("cannot write " + quotedText(plan.outputFiles[o]) + " as " +
                                    io::outputFormatName(plan.formats[o]) + ": " + reason);
    }
    if (request.durationSeconds) {
        plan.durationFrames = std::llround(*request.durationSeconds * plan.sampleRate);
        if (plan.durationFrames < 1)
            return renderUsageError("--duration: shorter than one frame at " + rateText(plan.sampleRate));
    }

    // The compiled graph at the inputs' rate. Errors here depend on the rate or the block (a
    // node that cannot prepare at this rate): graph errors too, status 2.
    InstanceOptions options;
    options.sampleRate = plan.sampleRate;
    options.maxBlockFrames = request.blockFrames;
    options.batch = request.batch;
    options.threads = threadsFor(request);
    Diagnostics instanceDiags;
    plan.program = instantiate(*plan.compiled, options, instanceDiags);
    if (instanceDiags.hasErrors() || !plan.program) {
        for (const Diagnostic& d : instanceDiags.all())
            if (d.severity == Diagnostic::Severity::Error) printRenderDiagnostics(d.format() + "\n");
        return kExitUsage;
    }

    // The executor's ports, by name, to the graph's.
    const Executor& executor = plan.program->executor();
    const auto& execInputs = executor.inputs();
    const auto& execOutputs = executor.outputs();
    plan.inputSlot.assign(execInputs.size(), -1);
    plan.outputSlot.assign(execOutputs.size(), -1);
    for (std::size_t k = 0; k < execInputs.size(); ++k) {
        plan.inputSlot[k] = findPort(plan.inputs, execInputs[k].name);
        if (plan.inputSlot[k] < 0 || plan.readers[std::size_t(plan.inputSlot[k])].channels() != execInputs[k].channels) {
            printRenderError("internal: compiled input " + quotedText(execInputs[k].name) + " does not match the graph");
            return kExitFailure;
        }
    }
    for (std::size_t k = 0; k < execOutputs.size(); ++k) {
        plan.outputSlot[k] = findPort(plan.outputs, execOutputs[k].name);
        if (plan.outputSlot[k] < 0) {
            printRenderError("internal: compiled output " + quotedText(execOutputs[k].name) + " does not match the graph");
            return kExitFailure;
        }
    }
    return kExitOk;
}

} // namespace sg::cli
