// The graph as written, after loading: one flat graph (templates and included files expanded,
// dotted names), every value still text with its source mark. Produced by loadGraph()
// (core/GraphLoader.h), consumed by the compiler, which resolves types, units and ports.
#pragma once

#include "core/Diagnostics.h"

#include <string>
#include <vector>

namespace sg {

/// A scalar as written, with where it was written.
struct ValueDesc {
    std::string text;
    SourceMark mark;
};

/// One parameter setting of a node: `freq: 3 kHz`.
struct ParamDesc {
    std::string key;
    SourceMark keyMark;
    ValueDesc value;
};

/// One node instance: `tone: {type: peak, freq: 3 kHz}`, or after expansion `vocal.eq`.
struct NodeDesc {
    std::string name; ///< dotted, unique
    SourceMark mark;  ///< of the node's key
    std::string type;
    SourceMark typeMark;
    std::vector<ParamDesc> params;
    std::string instance;    ///< dotted instance path as written ("" = top-level file; "a.b" for node "a.b.eq")
    SourceMark instanceMark; ///< of the outermost instance's entry in the top-level file (unset if instance is "")
};

/// One end of a connection. `node` is a node name or an external input/output name.
struct EndpointDesc {
    std::string node;
    std::string port; ///< "" = the default port (first declared)
    SourceMark mark;
};

/// from -> to. Several connections into one input port are summed.
struct ConnectionDesc {
    EndpointDesc from;
    EndpointDesc to;
};

/// A declared input of a template or file instance that nothing connects to from outside.
struct OpenInstanceInput {
    std::string instance;                ///< dotted instance path as written ("m", "a.b")
    std::string input;                   ///< the instance's input port
    SourceMark mark;                     ///< of the instance's entry in the including file
    std::vector<EndpointDesc> consumers; ///< expanded endpoints it would feed (may be empty)
};

/// An external input or output of the graph.
struct ExternalDesc {
    std::string name;
    int channels = 0; ///< -1: missing or invalid, already reported by the loader
    std::string file; ///< inputs: default file, resolved relative to the graph file ("" = none)
    SourceMark mark;
};

/// A template or file parameter that reaches a node parameter unchanged (`gain: $level`), so
/// `--set vocal_ch.level=+4dB` (and live `set`) can set it: `path` is the instance path and the
/// parameter ("vocal_ch.level"); one path may reach several node parameters, and a parameter
/// passed on unchanged to an inner instance (`{use: strip, level: $level}`) is reached through
/// both instances' paths.
struct ParamBinding {
    std::string path; ///< "instance.param"
    std::string node; ///< expanded node name ("vocal_ch.fader")
    std::string key;  ///< its parameter ("gain")
};

/// One graph file as the loader read it: the path it was read by (as `use:` joined it to the
/// including file's folder, or as given for the top-level file) and its text.
struct GraphFileText {
    std::string path;
    std::string text;
};

/// A whole loaded graph.
struct GraphDesc {
    std::string file; ///< path of the top-level file as given
    int version = 0;
    std::string name;
    std::string stage; ///< mixing | mastering | translation | utility | teaching
    std::string description;
    std::vector<ExternalDesc> inputs;
    std::vector<ExternalDesc> outputs;
    std::vector<NodeDesc> nodes;             ///< in declaration order (expansion order for templates)
    std::vector<ConnectionDesc> connections; ///< in declaration order

    /// Instance inputs left open, for the compiler to report; in expansion order, outer first.
    std::vector<OpenInstanceInput> openInstanceInputs;

    /// Template and file parameters that reach node parameters unchanged, in expansion order.
    std::vector<ParamBinding> paramBindings;

    /// False when the file did not parse into a graph map, or a limit (core/GraphLimits.h)
    /// stopped loading: the graph is partial and not worth compiling (its missing parts would
    /// only give follow-on errors).
    bool complete = true;

    /// Every graph file read, in reading order: the top-level file (when loaded from a file) and
    /// each file pulled in by `use:`, with its text. Given back as LoadOptions::fileTexts, they
    /// load the same graph where the files are not (a graph shipped to another process).
    std::vector<GraphFileText> files;
};

} // namespace sg
