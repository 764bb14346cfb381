#include "host/cli/CommandParser.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace sg::cli {

namespace {

/// Column where option descriptions start, in characters.
constexpr std::size_t kHelpColumn = 26;

/// Help as the commands always printed it: the usage lines, a description, the arguments and
/// options with their value names only (no CLI11 "TEXT REQUIRED" decorations), a footer.
class HelpFormatter : public CLI::Formatter {
public:
    explicit HelpFormatter(CommandText text) : text_(std::move(text)) { column_width(kHelpColumn); }

    std::string make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const override {
        std::ostringstream out;
        out << text_.usage << '\n';
        if (!text_.description.empty()) out << '\n' << text_.description << '\n';
        const auto positionals = app->get_options([](const CLI::Option* o) { return o->get_positional(); });
        const auto options = app->get_options([](const CLI::Option* o) { return o->nonpositional(); });
        if (!positionals.empty()) {
            out << "\narguments:\n";
            for (const CLI::Option* o : positionals) out << make_option(o, true);
        }
        if (!options.empty()) {
            out << "\noptions:\n";
            for (const CLI::Option* o : options) out << make_option(o, false);
        }
        if (!text_.footer.empty()) out << '\n' << text_.footer << '\n';
        return out.str();
    }

    std::string make_option_name(const CLI::Option* option, bool positional) const override {
        if (positional) return option->get_name(true, false);
        std::string names = option->get_name(false, true); // "-i,--input"
        for (std::size_t comma = names.find(','); comma != std::string::npos; comma = names.find(',', comma + 2))
            names.insert(comma + 1, " ");
        return names;
    }

    std::string make_option_opts(const CLI::Option* option) const override {
        if (option->get_type_size() == 0 || option->get_positional()) return {};
        return " " + option->get_type_name();
    }

private:
    CommandText text_;
};

/// "-x" or "--xyz", but not a negative number such as "-6" or "-.5".
bool looksLikeOption(const std::string& arg) {
    return arg.size() > 1 && arg[0] == '-' && !std::isdigit(static_cast<unsigned char>(arg[1])) && arg[1] != '.';
}

/// An option of `app` that takes a value, written as `arg` (without "=value").
bool takesValue(const CLI::App& app, const std::string& arg) {
    if (!looksLikeOption(arg) || arg.find('=') != std::string::npos) return false;
    const CLI::Option* option = app.get_option_no_throw(arg);
    return option && option->get_type_size() != 0 && option->get_items_expected_min() > 0;
}

} // namespace

std::unique_ptr<CLI::App> makeCommandApp(const CommandText& text) {
    auto app = std::make_unique<CLI::App>();
    app->formatter(std::make_shared<HelpFormatter>(text));
    app->set_help_flag("-h,--help", "this text");
    app->allow_windows_style_options(false);
    app->positionals_at_end(false);
    app->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast); // "--block 64 --block 128": 128
    return app;
}

ParseOutcome parseCommandArguments(CLI::App& app, const std::vector<std::string>& args) {
    ParseOutcome outcome;
    // CLI11 would take the next word as the value whatever it is ("-o --set" makes a file named
    // "--set"); a value-taking option followed by another option, or by nothing, lacks its value.
    for (std::size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--") break;
        if (args[i] == "-h" || args[i] == "--help") break;
        if (takesValue(app, args[i]) && (i + 1 == args.size() || looksLikeOption(args[i + 1]))) {
            outcome.error = args[i] + " needs a value";
            return outcome;
        }
    }
    std::vector<std::string> reversed(args.rbegin(), args.rend()); // CLI11 pops from the back
    try {
        app.parse(reversed);
    } catch (const CLI::CallForHelp&) {
        outcome.help = true;
    } catch (const CLI::ExtrasError&) {
        const std::vector<std::string> extras = app.remaining();
        const std::string first = extras.empty() ? std::string() : extras.front();
        outcome.error = looksLikeOption(first) ? "unknown option '" + first + "'" : "unexpected argument '" + first + "'";
    } catch (const CLI::ParseError& e) {
        outcome.error = e.what();
    }
    return outcome;
}

std::string helpText(const CLI::App& app) { return app.help(); }

} // namespace sg::cli
