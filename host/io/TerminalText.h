// Text from a graph or a path, made safe to print (docs/safety.md, "Terminal output").
//
// A graph's name, description, node names and any path are data: printed raw, an escape
// sequence in them could set the terminal's title, move the cursor or rewrite earlier lines.
// terminalText() escapes every C0 control (U+0000..U+001F), DEL (U+007F) and C1 control
// (U+0080..U+009F, which some terminals obey as ESC-sequences) and any byte that is not part of
// valid UTF-8, as \t \n \r \e or \xNN; a backslash stays a backslash. Printable UTF-8 (é, ü, ♪)
// passes unchanged.
#pragma once

#include <string>
#include <string_view>

namespace sg::io {

/// `text` with control characters and invalid UTF-8 escaped (see above).
std::string terminalText(std::string_view text);

/// As terminalText(), but keeps '\n' (multi-line messages such as compiler diagnostics).
std::string terminalLines(std::string_view text);

/// `text` as the inside of a DOT double-quoted string: '"' and '\' escaped, controls as above
/// (a newline becomes DOT's \n line break, so a label never ends a statement).
std::string dotText(std::string_view text);

} // namespace sg::io
