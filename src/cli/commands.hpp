// The subcommands of loom-evolve. Each registers its options on the CLI11 app
// and returns the function that runs it (its return value is the exit code).
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

namespace loom::cli {

using Command = std::function<int()>;

Command addEvolveCommand(CLI::App& app);  // the main job, on the top-level app
Command addBaselinesCommand(CLI::App& app);
Command addApplyCommand(CLI::App& app);
Command addVerifyCommand(CLI::App& app);
Command addPlotCommand(CLI::App& app);
Command addTuneCommand(CLI::App& app);
Command addLearnCommand(CLI::App& app);

}  // namespace loom::cli
