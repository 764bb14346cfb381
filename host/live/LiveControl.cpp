// A live session while it plays: keys and stdin commands, switching, set and reload.
#include "host/live/LiveSessionInternal.h"

#include "host/live/Terminal.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <fstream>
#include <poll.h>
#include <sstream>
#include <thread>
#include <unistd.h>

namespace sg::live::detail {

void Session::controlLoop() {
    RawTerminal raw(interactive_ ? console_.commandFd : -1);
    if (console_.commandFd < 0) commandsOpen_ = false;
    std::uint64_t callbacksSeen = engine_->callbacks();
    auto lastCallback = std::chrono::steady_clock::now();
    while (!quit_ && !*cli::interruptFlag() && !engine_->finished()) {
        if (auto message = stream_.runtimeError(); !message.empty()) {
            error("audio device: " + message);
            break; // finish() turns it into the exit status
        }
        const auto now = std::chrono::steady_clock::now();
        if (const std::uint64_t callbacks = engine_->callbacks(); callbacks != callbacksSeen) {
            callbacksSeen = callbacks;
            lastCallback = now;
        } else if (now - lastCallback > std::chrono::duration<double>(kStallSeconds)) {
            deviceStopped_ = true;
            error("audio device: " + streamInfo_.apiName + " stopped calling back (nothing for " +
                  std::to_string(int(kStallSeconds)) + " s): its server stopped or went away, or the device was removed");
            break; // finish() turns it into the exit status
        }
        if (feeder_.failed() || tee_.failed()) break;
        if (commandsOpen_) {
            pollfd fd{console_.commandFd, POLLIN, 0};
            const int ready = ::poll(&fd, 1, 1000 / kStatusPerSecond / 4);
            if (ready > 0) handleInput();
        } else {
            std::this_thread::sleep_for(std::chrono::milliseconds(1000 / kStatusPerSecond / 4));
        }
        cycle();
        reportSwitches();
        collectGarbage();
        if (interactive_) drawStatus(false);
    }
    reportSwitches();
    if (interactive_ && statusShown_) {
        std::fputs("\r\033[K", console_.err);
        std::fflush(console_.err);
        statusShown_ = false;
    }
}

void Session::cycle() {
    if (options_.cycleSeconds <= 0) return;
    const std::int64_t period = std::max<std::int64_t>(1, std::llround(options_.cycleSeconds * sampleRate_));
    if (nextCycleFrame_ == 0) nextCycleFrame_ = period;
    if (engine_->framesOut() < nextCycleFrame_) return;
    // One switch per due point, from where the session is going (a switch asked by hand counts).
    while (nextCycleFrame_ <= engine_->framesOut()) nextCycleFrame_ += period;
    LiveCommand command;
    command.kind = LiveCommand::Kind::Switch;
    command.graph = engine_->targetGraph() % int(graphs_.size()) + 1;
    execute(command);
}

void Session::handleInput() {
    char bytes[256];
    const ssize_t got = ::read(console_.commandFd, bytes, sizeof bytes);
    if (got <= 0) {
        if (got == 0 || (errno != EINTR && errno != EAGAIN)) commandsOpen_ = false; // end of input: keep playing
        if (!lineBuffer_.empty()) handleLine(std::exchange(lineBuffer_, std::string()));
        return;
    }
    for (ssize_t i = 0; i < got; ++i) {
        const char c = bytes[i];
        if (!interactive_) {
            if (c == '\n')
                handleLine(std::exchange(lineBuffer_, std::string()));
            else if (c != '\r')
                lineBuffer_ += c;
            continue;
        }
        if (prompting_) {
            if (c == '\n' || c == '\r') {
                prompting_ = false;
                handleLine(std::exchange(prompt_, std::string()));
            } else if (c == 27) {
                prompting_ = false;
                prompt_.clear();
            } else if (c == 127 || c == 8) {
                if (!prompt_.empty()) prompt_.pop_back();
            } else if (static_cast<unsigned char>(c) >= 32) {
                prompt_ += c;
            }
            drawStatus(true);
            continue;
        }
        LiveCommand command = commandForKey(c, engine_->matching());
        if (command.kind == LiveCommand::Kind::Prompt) {
            prompting_ = true;
            drawStatus(true);
        } else if (command.kind != LiveCommand::Kind::None) {
            execute(command);
        }
    }
}

void Session::handleLine(const std::string& line) {
    std::string message;
    auto command = parseCommandLine(line, message);
    if (!command) {
        error(message);
        return;
    }
    execute(*command);
}

bool Session::recompile(int index, const char* why) {
    GraphEntry& entry = graphs_[std::size_t(index)];
    Diagnostics diags;
    std::string problem;
    auto fresh = compile(entry, diags, problem);
    if (!fresh) {
        ++failedCompiles_;
        std::string text = "graph " + std::to_string(index + 1) + " (" + entry.path + ") did not compile " + why + "; graph " +
                           std::to_string(engine_->targetGraph()) + " keeps playing";
        if (!diags.all().empty()) {
            std::string lines = diags.formatAll();
            if (!lines.empty() && lines.back() == '\n') lines.pop_back();
            text += "\n" + lines;
        }
        if (!problem.empty()) text += "\n" + problem;
        error(text);
        return false;
    }
    if (!diags.all().empty()) { // warnings
        std::string lines = diags.formatAll();
        if (!lines.empty() && lines.back() == '\n') lines.pop_back();
        message(lines);
    }
    if (fresh->latencyFrames() > sessionLatency_)
        message("warning: graph " + std::to_string(index + 1) + " now has " +
                cli::plural(fresh->latencyFrames(), "frame", "frames") + " of latency, more than the session's " +
                std::to_string(sessionLatency_) + ": switching to it is not time-aligned (restart the session to align it)");
    if (const std::string failed = fresh->alignTo(sessionLatency_); !failed.empty()) {
        ++failedCompiles_;
        error("graph " + std::to_string(index + 1) + " (" + entry.path + ") could not be aligned " + why + "; graph " +
              std::to_string(engine_->targetGraph()) + " keeps playing\n" + failed);
        return false;
    }
    fresh->warmUp();
    if (options_.matchLoudness || engine_->matching()) calibrate(*fresh);
    graveyard_.push_back(std::move(entry.instance));
    entry.instance = std::move(fresh);
    return true;
}

void Session::switchTo(int index) {
    EngineCommand command;
    command.kind = EngineCommand::Kind::Switch;
    command.graph = graphs_[std::size_t(index)].instance.get();
    command.graphIndex = index + 1;
    if (!engine_->post(command)) error("the audio thread is not taking commands (queue full)");
}

void Session::execute(const LiveCommand& command) {
    const int count = int(graphs_.size());
    switch (command.kind) {
    case LiveCommand::Kind::None:
    case LiveCommand::Kind::Prompt:
        break;
    case LiveCommand::Kind::Switch: {
        if (command.graph < 1 || command.graph > count) {
            error("no graph " + std::to_string(command.graph) + " (graphs 1.." + std::to_string(count) + ")");
            break;
        }
        const int index = command.graph - 1;
        GraphEntry& entry = graphs_[std::size_t(index)];
        // The file changed since it was compiled: compile it again first.
        if (readText(entry.path) != entry.instance->fileText() && !recompile(index, "after its file changed")) break;
        switchTo(index);
        if (!interactive_) message("switch to " + std::to_string(command.graph) + ": " + entry.instance->name());
        break;
    }
    case LiveCommand::Kind::Reload: {
        const int number = command.graph == 0 ? engine_->targetGraph() : command.graph;
        if (number < 1 || number > count) {
            error("no graph " + std::to_string(number) + " (graphs 1.." + std::to_string(count) + ")");
            break;
        }
        if (!recompile(number - 1, "on reload")) break;
        message("reloaded graph " + std::to_string(number) + ": " + graphs_[std::size_t(number - 1)].instance->name());
        if (number == engine_->targetGraph()) switchTo(number - 1);
        break;
    }
    case LiveCommand::Kind::Set: {
        const int number = engine_->targetGraph();
        GraphEntry& entry = graphs_[std::size_t(number - 1)];
        // A template or file parameter ("vocal_ch.level") sets every node parameter it reaches.
        std::vector<EngineCommand> sets;
        std::string problem;
        for (const std::string& target : entry.instance->paramTargets(command.target)) {
            int handle = -1;
            double value = 0;
            if (auto message = entry.instance->resolveParam(target, command.value, handle, value); !message.empty()) {
                problem = message;
                break;
            }
            EngineCommand set;
            set.kind = EngineCommand::Kind::SetParam;
            set.graph = entry.instance.get();
            set.handle = handle;
            set.value = value;
            sets.push_back(set);
        }
        if (!problem.empty()) {
            error("set: " + problem);
            break;
        }
        bool posted = true;
        for (const EngineCommand& set : sets) posted = posted && engine_->post(set);
        if (!posted) {
            error("the audio thread is not taking commands (queue full)");
            break;
        }
        entry.liveSets[command.target] = command.value;
        if (!interactive_)
            message("set " + command.target + " " + command.value + " (graph " + std::to_string(number) + ")");
        else
            message("set " + command.target + " " + command.value);
        break;
    }
    case LiveCommand::Kind::Level: {
        levelDb_ = std::clamp(command.relative ? levelDb_ + command.levelDb : command.levelDb, -60.0, 12.0);
        EngineCommand level;
        level.kind = EngineCommand::Kind::Level;
        level.value = levelDb_;
        engine_->post(level);
        if (!interactive_) message("level " + formatLevel(levelDb_, "dB"));
        break;
    }
    case LiveCommand::Kind::Match: {
        if (command.on && calibration_.frames() == 0) {
            // Matching switched on later: calibrate the graphs the engine does not hold now.
            calibration_ = fileMode_ ? readExcerpt(options_.inputFile, 0, std::int64_t(kCalibrationSeconds * sampleRate_))
                                     : pinkNoise(sourceChannels_, int(5 * sampleRate_));
            for (auto& entry : graphs_)
                if (entry.instance->releasedByEngine()) calibrate(*entry.instance);
        }
        EngineCommand match;
        match.kind = EngineCommand::Kind::Match;
        match.value = command.on ? 1 : 0;
        engine_->post(match);
        message(std::string("loudness matching ") + (command.on ? "on" : "off"));
        break;
    }
    case LiveCommand::Kind::Status:
        message(statusText());
        break;
    case LiveCommand::Kind::Help:
        message(commandHelp());
        break;
    case LiveCommand::Kind::Quit:
        quit_ = true;
        break;
    }
}

void Session::collectGarbage() {
    graveyard_.erase(std::remove_if(graveyard_.begin(), graveyard_.end(),
                                    [](const std::unique_ptr<LiveGraph>& g) { return g->releasedByEngine(); }),
                     graveyard_.end());
}

void Session::reportSwitches() {
    const std::uint64_t switches = engine_->switchesCompleted();
    if (switches == switchesSeen_) return;
    switchesSeen_ = switches;
    const int current = engine_->currentGraph();
    graphsPlayed_.push_back(current);
}

} // namespace sg::live::detail
