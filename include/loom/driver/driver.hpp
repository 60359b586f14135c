// The archipelago driver: islands with different strategies evolve pipeline
// configurations for one module, exchange their best along a migration
// topology, and the best verified configuration wins.
//
// Reproducibility: pagmo's own archipelago migrates whenever an island
// happens to finish, so its results depend on thread timing. Here the
// islands evolve one generation at a time in parallel (a pagmo archipelago of
// thread islands), and migration happens between generations, for all
// islands at once, with pagmo's topology and selection/replacement policies
// and seeds derived from (seed, island, generation). The same seed on the
// same input gives the same result, whatever the number of worker processes
// (unless candidates hit the time limit, which depends on the machine).
#pragma once

#include <atomic>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "loom/driver/run_options.hpp"

namespace loom::driver {

struct RunOutcome {
  int exit_code = 0;  // 0 done, 130 interrupted (results of the completed generations written)
  bool interrupted = false;
  nlohmann::json report;
};

// Runs a search; throws (one-line messages) for problems found before it starts.
RunOutcome runSearch(const RunOptions& options);

// A stop requested while a run was still setting up (measuring the input and
// verifying the baselines): nothing was checkpointed, nothing is written.
class InterruptedDuringSetup : public std::runtime_error {
 public:
  InterruptedDuringSetup()
      : std::runtime_error(
            "interrupted during set-up, before the search started: nothing was written") {}
};
// Throws InterruptedDuringSetup if a stop was requested.
void checkStopDuringSetup();
// Between these, a signal (once the handlers are installed) ends the process
// at once with exit code 130 and the InterruptedDuringSetup message: nothing
// has been written yet, and one set-up step can take many minutes.
// beginSetup() forgets earlier signals; endSetup() throws if one came.
void beginSetup();
void endSetup();

// Ctrl-C and SIGTERM end the run after the current generation, keeping what
// the checkpoint holds; a second signal ends the process at once.
void installStopHandlers();
void requestStop();
bool stopRequested();
const std::atomic<bool>& stopFlag();
void clearStop();

// Derives the seed of one island in one generation (splitmix64).
unsigned deriveSeed(std::uint64_t seed, std::uint64_t island, std::uint64_t generation);

}  // namespace loom::driver
