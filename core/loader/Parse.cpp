// Loader phase 1, parse: each file (the top file and every included file, once) becomes a
// FileDoc: its body (params, inputs, outputs, nodes, connections) and its templates, every
// scalar kept as text with its mark. Structural errors (unknown keys, duplicates, bad names)
// are reported here, once per file. The only file of the loader that sees yaml-cpp.
#include "core/loader/LoaderModel.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace sg::loader {
namespace {

/// Stops a pre-scan that went past a limit.
struct LimitReached {
    YAML::Mark mark;
    std::string message;
};

/// Counts YAML values and nesting without building a tree (a tree costs ~200 bytes a value), so
/// a file past 'yaml-nodes' or 'nesting-depth' is refused before yaml-cpp builds it (and before
/// its recursive descent runs deep). Records where each document starts.
class Prescan : public YAML::EventHandler {
public:
    explicit Prescan(const GraphLimits& limits) : limits_(limits) {}
    int documents = 0;
    YAML::Mark secondDocument;

    void OnDocumentStart(const YAML::Mark& mark) override {
        if (++documents == 2) secondDocument = mark;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { count(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override { count(mark); }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        open(mark);
    }
    void OnSequenceEnd() override { --depth_; }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
        open(mark);
    }
    void OnMapEnd() override { --depth_; }

private:
    const GraphLimits& limits_;
    std::size_t values_ = 0;
    int depth_ = 0;

    void count(const YAML::Mark& mark) {
        if (++values_ > limits_.maxYamlNodes)
            throw LimitReached{
                mark, limitMessage("YAML values (maps, lists and scalars) in one file", limits_.maxYamlNodes, "yaml-nodes")};
    }
    void open(const YAML::Mark& mark) {
        count(mark);
        if (++depth_ > limits_.maxNestingDepth)
            throw LimitReached{mark, limitMessage("YAML maps and lists nested inside each other",
                                                  std::size_t(limits_.maxNestingDepth), "nesting-depth")};
    }
};

class FileParser {
public:
    FileParser(FileDoc& doc, ErrorSink& errors, const GraphLimits& limits) : doc_(doc), errors_(errors), limits_(limits) {}

    void parse(const std::string& text) {
        // A NUL byte ends yaml-cpp's input early or reads as an escape: a graph file is text.
        if (auto nul = text.find('\0'); nul != std::string::npos) {
            errors_.error(markOfOffset(text, nul), "the file holds a NUL byte (a graph file is UTF-8 text)");
            return;
        }
        if (!prescan(text)) return;
        YAML::Node root;
        try {
            root = YAML::Load(text);
        } catch (const YAML::ParserException& e) {
            errors_.error(fromYaml(e.mark), "malformed YAML: " + e.msg);
            return;
        } catch (const YAML::Exception& e) {
            errors_.error(fromYaml(e.mark), "malformed YAML: " + e.msg);
            return;
        }
        SourceMark start{doc_.path, 1, 1};
        if (!root.IsDefined() || root.IsNull()) {
            errors_.error(start, "missing format version: add 'stagegraph: 1'");
            return;
        }
        // An included file that is not a graph (no `stagegraph:` at its top) is reported once, at
        // the `use:` that named it, and nothing of its content is quoted: it may be any file.
        if (doc_.included && (!root.IsMap() || !hasKey(root, "stagegraph"))) {
            doc_.notGraph = true;
            return;
        }
        if (!root.IsMap()) {
            errors_.error(mark(root), "a graph file is a YAML map (stagegraph, name, inputs, outputs, nodes, connections, ...)");
            return;
        }
        doc_.usable = true;
        static const std::vector<std::string> keys = {"stagegraph", "name",  "stage",       "description", "inputs",
                                                      "outputs",    "nodes", "connections", "templates",   "params"};
        bool sawVersion = false;
        forEachEntry(root, "key", [&](const Scalar& key, const YAML::Node& value) {
            const std::string& k = key.text;
            if (k == "stagegraph") {
                sawVersion = true;
                Scalar v;
                if (scalar(value, v, "stagegraph")) {
                    int version = 0;
                    if (!parseInt(v.text, version) || version != kFormatVersion)
                        errors_.error(v.mark,
                                      "unsupported format version " + quote(v.text) + ": this stagegraph reads 'stagegraph: 1'");
                    else
                        doc_.version = version;
                }
            } else if (k == "name") {
                Scalar v;
                if (scalar(value, v, "name")) doc_.name = v.text;
            } else if (k == "stage") {
                Scalar v;
                if (scalar(value, v, "stage")) {
                    static const std::vector<std::string> stages = {"mixing", "mastering", "translation", "utility", "teaching"};
                    if (std::find(stages.begin(), stages.end(), v.text) == stages.end())
                        errors_.error(v.mark, "unknown stage " + quote(v.text) + suggestion(v.text, stages) +
                                                  "; expected mixing, mastering, translation, utility or teaching");
                    else
                        doc_.stage = v.text;
                }
            } else if (k == "description") {
                Scalar v;
                if (scalar(value, v, "description")) doc_.description = v.text;
            } else if (k == "templates") {
                parseTemplates(value);
            } else if (!parseBodyKey(key, value, doc_.body)) {
                errors_.error(key.mark, "unknown key " + quote(k) + suggestion(k, keys));
            }
        });
        if (!sawVersion) errors_.error(start, "missing format version: add 'stagegraph: 1'");
        checkNameClashes(doc_.body);
    }

private:
    FileDoc& doc_;
    ErrorSink& errors_;
    const GraphLimits& limits_;

    SourceMark markOfOffset(const std::string& text, std::size_t offset) const {
        int line = 1, column = 1;
        for (std::size_t i = 0; i < offset; ++i) {
            if (text[i] == '\n') {
                ++line;
                column = 1;
            } else {
                ++column;
            }
        }
        return {doc_.path, line, column};
    }

    /// Counts values and nesting, and refuses a second YAML document (yaml-cpp's Load would
    /// silently use the first). Returns false after reporting. Malformed YAML is left to Load,
    /// which reports it, except in a second document, which Load never reads.
    bool prescan(const std::string& text) {
        std::istringstream in(text);
        Prescan counter(limits_);
        try {
            YAML::Parser parser(in);
            if (!parser.HandleNextDocument(counter)) return true; // empty file
            if (parser.HandleNextDocument(counter) || counter.documents > 1) {
                errors_.error(fromYaml(counter.secondDocument),
                              "a second YAML document ('---'): a graph file holds one document");
                return false;
            }
        } catch (const LimitReached& limit) {
            errors_.error(fromYaml(limit.mark), limit.message);
            return false;
        } catch (const YAML::Exception& e) {
            if (counter.documents > 1) {
                errors_.error(fromYaml(counter.secondDocument),
                              "a second YAML document ('---'): a graph file holds one document");
                return false;
            }
        }
        return true;
    }

    SourceMark fromYaml(const YAML::Mark& m) const {
        if (m.line < 0) return {doc_.path, 0, 0};
        return {doc_.path, m.line + 1, m.column + 1};
    }
    SourceMark mark(const YAML::Node& n) const { return fromYaml(n.Mark()); }

    /// `n` as a scalar; reports "<what> must be a single value" otherwise.
    bool scalar(const YAML::Node& n, Scalar& out, const std::string& what, bool allowNull = false) {
        if (n.IsScalar()) {
            out = {n.Scalar(), mark(n), n.Tag() == "!"};
            return true;
        }
        if (n.IsNull()) {
            if (allowNull) return false;
            errors_.error(mark(n), what + ": missing value");
            return false;
        }
        errors_.error(mark(n), what + ": expected a single value, got a " + (n.IsMap() ? "map" : "list"));
        return false;
    }

    /// Calls f(key, value) for each entry of a map; reports non-name keys and duplicates
    /// ("duplicate <what> 'x' (first defined at line L)") and skips them.
    template <class F> void forEachEntry(const YAML::Node& map, const std::string& what, F f) {
        std::map<std::string, int> firstLine;
        for (auto it = map.begin(); it != map.end(); ++it) {
            const YAML::Node k = it->first; // copies: `it->` is a proxy that dies with the expression
            const YAML::Node v = it->second;
            if (!k.IsScalar()) {
                errors_.error(mark(k), "expected a name as key");
                continue;
            }
            Scalar key{k.Scalar(), mark(k), k.Tag() == "!"};
            auto [pos, inserted] = firstLine.emplace(key.text, key.mark.line);
            if (!inserted) {
                errors_.error(key.mark, "duplicate " + what + " " + quote(key.text) + " (first defined at line " +
                                            std::to_string(pos->second) + ")");
                continue;
            }
            f(key, v);
        }
    }

    /// A section that must be a map (null = empty). Returns false (and reports) otherwise.
    bool isMapSection(const YAML::Node& value, const Scalar& key) {
        if (value.IsNull() || value.IsMap()) return true;
        errors_.error(mark(value), quote(key.text) + " must be a map of names");
        return false;
    }

    /// Keys shared by files and templates. Returns false if `key` is not one of them.
    bool parseBodyKey(const Scalar& key, const YAML::Node& value, Body& body) {
        const std::string& k = key.text;
        if (k == "inputs")
            parsePorts(key, value, body.inputs, true);
        else if (k == "outputs")
            parsePorts(key, value, body.outputs, false);
        else if (k == "params")
            parseParams(key, value, body.params);
        else if (k == "nodes")
            parseNodes(key, value, body.nodes);
        else if (k == "connections")
            parseConnections(key, value, body.connections);
        else
            return false;
        return true;
    }

    void parsePorts(const Scalar& key, const YAML::Node& value, std::vector<PortDecl>& ports, bool isInput) {
        if (!isMapSection(value, key)) return;
        const std::string kind = isInput ? "input" : "output";
        static const std::vector<std::string> inputKeys = {"channels", "file", "description"};
        static const std::vector<std::string> outputKeys = {"channels", "description"};
        forEachEntry(value, kind + " name", [&](const Scalar& name, const YAML::Node& spec) {
            if (!isName(name.text)) {
                errors_.error(name.mark, "invalid " + kind + " name " + quote(name.text) +
                                             ": use letters, digits, '_' and '-', starting with a letter or '_'");
                return;
            }
            PortDecl port;
            port.name = name;
            if (!spec.IsMap()) {
                errors_.error(spec.IsNull() ? name.mark : mark(spec),
                              kind + " " + quote(name.text) + " must be a map like {channels: 2}");
                return;
            }
            forEachEntry(spec, "key", [&](const Scalar& k, const YAML::Node& v) {
                if (k.text == "channels") {
                    port.hasChannels = scalar(v, port.channels, kind + " " + quote(name.text) + ": channels");
                } else if (k.text == "file" && isInput) {
                    port.hasFile = scalar(v, port.file, kind + " " + quote(name.text) + ": file");
                } else if (k.text == "description") {
                    Scalar ignored;
                    scalar(v, ignored, kind + " " + quote(name.text) + ": description", true);
                } else {
                    errors_.error(k.mark, kind + " " + quote(name.text) + ": unknown key " + quote(k.text) +
                                              suggestion(k.text, isInput ? inputKeys : outputKeys));
                }
            });
            if (!port.hasChannels && !hasKey(spec, "channels"))
                errors_.error(name.mark, kind + " " + quote(name.text) + ": missing 'channels'");
            ports.push_back(std::move(port));
        });
    }

    static bool hasKey(const YAML::Node& map, const std::string& key) {
        for (auto it = map.begin(); it != map.end(); ++it)
            if (it->first.IsScalar() && it->first.Scalar() == key) return true;
        return false;
    }

    void parseParams(const Scalar& key, const YAML::Node& value, std::vector<ParamDecl>& params) {
        if (!isMapSection(value, key)) return;
        forEachEntry(value, "parameter", [&](const Scalar& name, const YAML::Node& v) {
            if (!isParamName(name.text)) {
                errors_.error(name.mark, "invalid parameter name " + quote(name.text) +
                                             ": use letters, digits and '_', starting with a letter or '_'");
                return;
            }
            ParamDecl p;
            p.name = name;
            if (v.IsNull()) {
                p.hasDefault = false;
            } else if (scalar(v, p.defaultValue, "parameter " + quote(name.text))) {
                p.hasDefault = true;
            } else {
                return;
            }
            params.push_back(std::move(p));
        });
    }

    void parseNodes(const Scalar& key, const YAML::Node& value, std::vector<NodeDecl>& nodes) {
        if (!isMapSection(value, key)) return;
        forEachEntry(value, "node name", [&](const Scalar& name, const YAML::Node& spec) {
            bool nameOk = true;
            if (name.text.find('.') != std::string::npos) {
                errors_.error(name.mark,
                              "node name " + quote(name.text) + " must not contain '.' (dots separate instance names)");
                nameOk = false;
            } else if (!isName(name.text)) {
                errors_.error(name.mark, "invalid node name " + quote(name.text) +
                                             ": use letters, digits, '_' and '-', starting with a letter or '_'");
                nameOk = false;
            }
            const std::string what = "node " + quote(name.text);
            if (!spec.IsMap()) {
                errors_.error(spec.IsNull() ? name.mark : mark(spec),
                              what + " must be a map like {type: gain, gain: -3 dB} or {use: template}");
                return;
            }
            NodeDecl node;
            node.name = name;
            bool hasType = false, hasUse = false, broken = false;
            forEachEntry(spec, "key", [&](const Scalar& k, const YAML::Node& v) {
                if (k.text == "type" || k.text == "use") {
                    Scalar target;
                    if (!scalar(v, target, what + ": " + k.text)) {
                        broken = true;
                        return;
                    }
                    if (target.text.empty()) {
                        errors_.error(target.mark, what + ": empty " + quote(k.text));
                        broken = true;
                        return;
                    }
                    (k.text == "type" ? hasType : hasUse) = true;
                    if (!(hasType && hasUse)) {
                        node.target = target;
                        node.isUse = k.text == "use";
                    }
                    return;
                }
                if (k.text == "params" && v.IsMap()) { // grouped: {type: lv2, plugin: URI, params: {gain: -3}}
                    forEachEntry(v, "parameter", [&](const Scalar& groupedKey, const YAML::Node& groupedValue) {
                        Scalar param;
                        if (scalar(groupedValue, param, what + ": parameter " + quote(groupedKey.text)))
                            node.params.push_back({groupedKey, param});
                    });
                    return;
                }
                Scalar param;
                if (!scalar(v, param, what + ": parameter " + quote(k.text))) return;
                node.params.push_back({k, param});
            });
            if (hasType && hasUse) {
                errors_.error(name.mark, what + " has both 'type' and 'use'; a node is one or the other");
                return;
            }
            if (!hasType && !hasUse) {
                if (broken) return;
                std::string hint;
                for (const auto& [k, v] : node.params) {
                    std::string s = suggestion(k.text, {"type", "use"});
                    if (!s.empty()) {
                        hint = s;
                        break;
                    }
                }
                errors_.error(name.mark, what + " needs 'type: <node type>' or 'use: <template or file>'" + hint);
                return;
            }
            if (broken || !nameOk) return;
            nodes.push_back(std::move(node));
        });
    }

    void parseConnections(const Scalar& key, const YAML::Node& value, std::vector<Scalar>& connections) {
        if (value.IsNull()) return;
        if (!value.IsSequence()) {
            errors_.error(mark(value), quote(key.text) + " must be a list of strings like '- a -> b -> c'");
            return;
        }
        for (const auto& item : value) {
            Scalar s;
            if (scalar(item, s, "connection")) connections.push_back(s);
        }
    }

    void parseTemplates(const YAML::Node& value) {
        if (value.IsNull()) return;
        if (!value.IsMap()) {
            errors_.error(mark(value), "'templates' must be a map of template names");
            return;
        }
        static const std::vector<std::string> keys = {"description", "params", "inputs", "outputs", "nodes", "connections"};
        forEachEntry(value, "template", [&](const Scalar& name, const YAML::Node& spec) {
            if (!isName(name.text)) {
                errors_.error(name.mark, "invalid template name " + quote(name.text) +
                                             ": use letters, digits, '_' and '-', starting with a letter or '_'");
                return;
            }
            if (!spec.IsMap()) {
                errors_.error(spec.IsNull() ? name.mark : mark(spec),
                              "template " + quote(name.text) + " must be a map (params, inputs, outputs, nodes, connections)");
                return;
            }
            Template t;
            t.name = name;
            forEachEntry(spec, "key", [&](const Scalar& k, const YAML::Node& v) {
                if (k.text == "description") {
                    Scalar ignored;
                    scalar(v, ignored, "description", true);
                } else if (!parseBodyKey(k, v, t.body)) {
                    errors_.error(k.mark,
                                  "template " + quote(name.text) + ": unknown key " + quote(k.text) + suggestion(k.text, keys));
                }
            });
            checkNameClashes(t.body);
            doc_.templates.push_back(std::move(t));
        });
    }

    /// Node names must differ from input and output names (connections refer to all three).
    void checkNameClashes(Body& body) {
        auto clashes = [&](const NodeDecl& n) {
            for (const auto* ports : {&body.inputs, &body.outputs})
                for (const auto& p : *ports)
                    if (p.name.text == n.name.text) {
                        errors_.error(n.name.mark, "node " + quote(n.name.text) + " has the same name as " +
                                                       (ports == &body.inputs ? "input" : "output") + " " + quote(p.name.text) +
                                                       " (line " + std::to_string(p.name.mark.line) + ")");
                        return true;
                    }
            return false;
        };
        body.nodes.erase(std::remove_if(body.nodes.begin(), body.nodes.end(), clashes), body.nodes.end());
    }
};

} // namespace

void parseFile(FileDoc& doc, const std::string& text, ErrorSink& errors, const GraphLimits& limits) {
    FileParser(doc, errors, limits).parse(text);
}

ReadStatus readFile(const std::string& path, std::size_t maxBytes, std::string& text, std::string& reason) {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below anyway.
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        reason = std::strerror(errno);
        return ReadStatus::Failed;
    }
    struct stat info {};
    if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        reason = S_ISDIR(info.st_mode) ? "a folder, not a graph file" : "not a regular file";
        ::close(fd);
        return ReadStatus::Failed;
    }
    if (std::size_t(info.st_size) > maxBytes) {
        ::close(fd);
        return ReadStatus::TooBig;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    text.clear();
    char buffer[65536];
    while (true) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            reason = std::strerror(errno);
            ::close(fd);
            return ReadStatus::Failed;
        }
        if (n == 0) break;
        text.append(buffer, std::size_t(n));
        if (text.size() > maxBytes) { // grew while being read
            ::close(fd);
            return ReadStatus::TooBig;
        }
    }
    ::close(fd);
    return ReadStatus::Ok;
}

ReadStatus readGraphFile(const std::string& path, const LoadOptions& options, std::string& text, std::string& reason) {
    for (const GraphFileText& given : options.fileTexts) {
        if (given.path != path) continue;
        if (given.text.size() > options.limits.maxFileBytes) return ReadStatus::TooBig;
        text = given.text;
        return ReadStatus::Ok;
    }
    return readFile(path, options.limits.maxFileBytes, text, reason);
}

std::string limitMessage(const std::string& what, std::size_t limit, const char* name) {
    return what + ": more than " + std::to_string(limit) + " (limit " + quote(name) + ", docs/safety.md)";
}

std::string fileTooBigMessage(const std::string& path, const GraphLimits& limits) {
    return limitMessage("graph file " + quote(path) + " is too large: bytes", limits.maxFileBytes, "graph-file-size");
}

FileDoc& Documents::add(const std::string& identity, const std::string& path, const std::string& baseDir, const std::string& text,
                        bool included) {
    auto doc = std::make_unique<FileDoc>();
    doc->path = path;
    doc->baseDir = baseDir;
    doc->identity = identity;
    doc->included = included;
    errors_.rankFile(path);
    if (text.size() > limits_.maxFileBytes)
        errors_.error({path, 1, 1}, fileTooBigMessage(path, limits_));
    else
        parseFile(*doc, text, errors_, limits_);
    FileDoc& ref = *doc;
    docs_[identity] = std::move(doc);
    return ref;
}

const FileDoc* Documents::find(const std::string& identity) const {
    auto it = docs_.find(identity);
    return it == docs_.end() ? nullptr : it->second.get();
}

} // namespace sg::loader
