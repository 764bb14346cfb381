// Loader phase 2, substitution of `$name` (see core/loader/Substitute.h).
#include "core/loader/Substitute.h"

namespace sg::loader {

std::string wholeReference(const Scalar& s) {
    const std::string& t = s.text;
    std::string name;
    if (t.size() > 3 && t.compare(0, 2, "${") == 0 && t.back() == '}')
        name = t.substr(2, t.size() - 3);
    else if (t.size() > 1 && t[0] == '$')
        name = t.substr(1);
    return isParamName(name) ? name : std::string();
}

Substituted substitute(const Scalar& s, const Scope& scope, ErrorSink& errors) {
    Substituted out;
    out.mark = s.mark;
    out.quoted = s.quoted;
    const std::string& t = s.text;
    auto markOf = [&](std::size_t i) {
        SourceMark m = s.mark;
        if (m.line > 0) m.column += int(i) + (s.quoted ? 1 : 0);
        return m;
    };
    auto append = [&](const std::string& text, std::size_t from) {
        out.text += text;
        out.sourceIndex.insert(out.sourceIndex.end(), text.size(), int(from));
    };
    std::size_t i = 0;
    int substitutions = 0;
    const Scalar* whole = nullptr;
    while (i < t.size()) {
        if (t[i] != '$') {
            append(std::string(1, t[i]), i);
            ++i;
            continue;
        }
        if (i + 1 < t.size() && t[i + 1] == '$') { // `$$` is a literal `$`
            append("$", i);
            i += 2;
            continue;
        }
        std::size_t nameBegin = i + 1, nameEnd;
        std::size_t next;
        bool braced = i + 1 < t.size() && t[i + 1] == '{';
        if (braced) {
            nameBegin = i + 2;
            nameEnd = t.find('}', nameBegin);
            if (nameEnd == std::string::npos) {
                errors.error(markOf(i), "unterminated '${' in " + quote(t));
                out.ok = false;
                return out;
            }
            next = nameEnd + 1;
        } else {
            nameEnd = nameBegin;
            while (nameEnd < t.size() && isParamChar(t[nameEnd]) && (nameEnd > nameBegin || isNameStart(t[nameEnd]))) ++nameEnd;
            if (nameEnd == nameBegin) { // a lone `$`: literal
                append("$", i);
                ++i;
                continue;
            }
            next = nameEnd;
        }
        std::string name = t.substr(nameBegin, nameEnd - nameBegin);
        auto it = scope.values.find(name);
        if (it == scope.values.end()) {
            std::vector<std::string> names;
            for (const auto& [n, v] : scope.values) names.push_back(n);
            errors.error(markOf(i), "undefined parameter '$" + name + "'" + (scope.owner.empty() ? "" : " in " + scope.owner) +
                                        suggestion(name, names));
            out.ok = false;
        } else if (!it->second.defined) {
            errors.error(markOf(i), "parameter " + quote(name) + " has no default; it is set where " + scope.owner +
                                        " is included with 'use:'");
            out.ok = false;
        } else {
            append(it->second.value.text, i);
            ++substitutions;
            if (i == 0 && next == t.size()) whole = &it->second.value;
        }
        i = next;
    }
    if (whole && substitutions == 1) {
        out.mark = whole->mark;
        out.quoted = whole->quoted;
    }
    return out;
}

} // namespace sg::loader
