#include "host/cli/Json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sg::cli {

namespace {

/// Whole numbers up to 2^53 are written as integers: a double holds them exactly.
constexpr double kLargestExactInteger = 9007199254740992.0;

Json numberOf(double value) {
    if (!std::isfinite(value)) return nullptr;
    if (value == 0) return 0; // no "-0"
    if (value == std::trunc(value) && std::fabs(value) <= kLargestExactInteger) return static_cast<std::int64_t>(value);
    return value;
}

std::string dump(const Json& json, int indent) { return json.dump(indent, ' ', false, Json::error_handler_t::replace); }

} // namespace

Json jsonRounded(double value) {
    if (!std::isfinite(value)) return nullptr;
    char text[40];
    std::snprintf(text, sizeof text, "%.10g", value);
    return numberOf(std::strtod(text, nullptr));
}

Json jsonFixed(double value, int decimals) {
    if (!std::isfinite(value)) return nullptr;
    char text[64];
    std::snprintf(text, sizeof text, "%.*f", decimals, value);
    return numberOf(std::strtod(text, nullptr));
}

std::string indentedText(const Json& json) { return dump(json, 2); }

std::string oneLineText(const Json& json) {
    if (json.is_object()) {
        std::string out = "{";
        for (auto it = json.begin(); it != json.end(); ++it) {
            if (it != json.begin()) out += ", ";
            out += dump(Json(it.key()), -1) + ": " + oneLineText(it.value());
        }
        return out + "}";
    }
    if (json.is_array()) {
        std::string out = "[";
        for (std::size_t i = 0; i < json.size(); ++i) out += (i ? ", " : "") + oneLineText(json[i]);
        return out + "]";
    }
    return dump(json, -1);
}

} // namespace sg::cli
