// Loader phase 2, substitution: `$name` or `${name}` (quote the latter inside a flow map:
// `{gain: "${g}"}`) in type names, `use:` targets, parameter values, port channels, input
// files and connection strings is replaced by the parameter's text; `$$` is a literal `$`.
//
// A body sees only its own `params:` (a template does not see the file's). The scope of an
// instance is the values supplied at the use site (themselves substituted in the enclosing
// scope), else the declared defaults; the top file uses its own defaults. A value that is
// exactly `$name` takes the mark of the text that supplied it, so the compiler's errors point
// at the use site.
#pragma once

#include "core/loader/LoaderModel.h"

#include <map>
#include <string>
#include <vector>

namespace sg::loader {

/// A parameter value in scope: final text and where it was written.
struct ScopeValue {
    bool defined = false; ///< false: required parameter with no value (top file only)
    Scalar value;
};

/// The parameters a body sees.
struct Scope {
    std::map<std::string, ScopeValue> values;
    std::string owner; ///< "template 'x'" / "graph 'f.yaml'" for messages
    /// Per parameter: the `instance.param` paths it can be set by (GraphDesc::paramBindings).
    std::map<std::string, std::vector<std::string>> paths;
};

/// The parameter name if `s` is exactly `$name` or `${name}`, else "".
std::string wholeReference(const Scalar& s);

/// The result of substituting `$name` in a scalar.
struct Substituted {
    std::string text;
    std::vector<int> sourceIndex; ///< per char of text: index in the original text
    SourceMark mark;              ///< whole-value mark (the supplied value's if the scalar is just `$name`)
    bool quoted = false;
    bool ok = true;

    /// Mark of character `i` of text (exact for single-line scalars).
    SourceMark markAt(const Scalar& original, std::size_t i) const {
        SourceMark m = original.mark;
        if (m.line > 0) {
            int offset = i < sourceIndex.size() ? sourceIndex[i] : int(original.text.size());
            m.column += offset + (original.quoted ? 1 : 0);
        }
        return m;
    }
};

/// `s` with every `$name` of `scope` replaced; undefined names are reported to `errors`.
Substituted substitute(const Scalar& s, const Scope& scope, ErrorSink& errors);

} // namespace sg::loader
