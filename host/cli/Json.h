// JSON output of the commands, written through nlohmann-json (escaping, number formatting).
// Internal to host/cli/*.cpp: it brings in nlohmann/json.hpp, a large header.
//
// Numbers keep the forms the commands always wrote: a whole value as an integer ("48000"), any
// other value rounded (to decimals, or to 10 significant digits), non-finite values as null.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace sg::cli {

/// Objects keep their keys in insertion order, as the documented key lists read.
using Json = nlohmann::ordered_json;

/// `value` rounded to 10 significant digits; null when not finite.
Json jsonRounded(double value);
/// `value` rounded to `decimals` places (no "-0"); null when not finite.
Json jsonFixed(double value, int decimals);

/// Text of `json` indented by 2 spaces per level. Invalid UTF-8 in strings becomes U+FFFD.
std::string indentedText(const Json& json);
/// Text of `json` on one line, with a space after every ':' and ',' ({"file": "a.wav", "channels": 2}).
std::string oneLineText(const Json& json);

} // namespace sg::cli
