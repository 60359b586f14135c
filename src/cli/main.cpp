#include <fmt/format.h>
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <vector>

#include "commands.hpp"
#include "loom/driver/driver.hpp"

namespace {

// Never throws: it runs in the handlers of last resort, possibly with stderr
// on a full disk or closed.
void printError(const char* what) noexcept {
  std::fputs("loom-evolve: error: ", stderr);
  std::fputs(what, stderr);
  std::fputs("\n", stderr);
}

}  // namespace

int main(int argc, char** argv) {
  // Binaryen's thread pool must never start in this process: commands fork
  // children for isolation, and a child of a process with Binaryen threads
  // would wait forever on them. Parallelism comes from worker processes.
  ::setenv("BINARYEN_CORES", "1", 1);

  CLI::App app{"loom-evolve: evolve verified WebAssembly optimization pipelines"};
  app.require_subcommand(0, 1);
  std::vector<loom::cli::Command> commands = {
      loom::cli::addBaselinesCommand(app), loom::cli::addApplyCommand(app),
      loom::cli::addVerifyCommand(app),    loom::cli::addPlotCommand(app),
      loom::cli::addTuneCommand(app),      loom::cli::addEvolveCommand(app),
      loom::cli::addLearnCommand(app),
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    fmt::print("{}", app.help());
    return 0;
  } catch (const CLI::CallForAllHelp&) {
    fmt::print("{}", app.help("", CLI::AppFormatMode::All));
    return 0;
  } catch (const CLI::ParseError& e) {
    printError(e.what());
    return 2;
  }
  try {
    for (const auto& command : commands) {
      const int code = command();
      if (code >= 0) return code;
    }
    fmt::print("{}", app.help());
    return 2;
  } catch (const loom::driver::InterruptedDuringSetup& e) {
    printError(e.what());
    return 130;
  } catch (const std::exception& e) {
    printError(e.what());
    return 2;
  }
}
