#include "loom/driver/driver.hpp"

#include <signal.h>
#include <unistd.h>

namespace loom::driver {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signals{0};
std::atomic<bool> g_in_setup{false};

constexpr char kSetupMessage[] =
    "loom-evolve: error: interrupted during set-up, before the search started: no report or "
    "checkpoint was written (an evaluation log keeps what was finished)\n";

constexpr char kStoppingMessage[] =
    "loom-evolve: stopping: the generation in progress is canceled, then the report and the "
    "checkpoint are written (Ctrl-C again to stop at once)\n";
constexpr char kStoppedMessage[] =
    "loom-evolve: stopped at once: no report or output was written; the checkpoint of the last "
    "finished generation is kept (--resume continues from it)\n";

void say(const char* text, std::size_t size) {
  const ssize_t ignored = ::write(STDERR_FILENO, text, size);
  (void)ignored;
}

void onSignal(int) {
  g_stop.store(true);
  if (g_in_setup.load()) {
    // No report or checkpoint is written before the search starts, and a
    // set-up step (verifying -Oz on a large module) can take many minutes:
    // leave now. The evaluation log has committed what it flushed (it flushes
    // every few seconds), and the workers leave when they see their parent gone.
    say(kSetupMessage, sizeof kSetupMessage - 1);
    ::_exit(130);
  }
  if (g_signals.fetch_add(1) >= 1) {
    say(kStoppedMessage, sizeof kStoppedMessage - 1);
    ::_exit(130);
  }
  say(kStoppingMessage, sizeof kStoppingMessage - 1);
}

}  // namespace

void installStopHandlers() {
  struct sigaction action {};
  action.sa_handler = onSignal;
  sigemptyset(&action.sa_mask);
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

void requestStop() {
  g_stop.store(true);
}
bool stopRequested() {
  return g_stop.load();
}
const std::atomic<bool>& stopFlag() {
  return g_stop;
}
void checkStopDuringSetup() {
  if (stopRequested()) throw InterruptedDuringSetup();
}

void clearStop() {
  g_stop.store(false);
  g_signals.store(0);
}

void beginSetup() {
  clearStop();
  g_in_setup.store(true);
}

void endSetup() {
  g_in_setup.store(false);
  checkStopDuringSetup();
}

unsigned deriveSeed(std::uint64_t seed, std::uint64_t island, std::uint64_t generation) {
  std::uint64_t z = seed ^ (island * 0x9e3779b97f4a7c15ULL) ^ (generation * 0xbf58476d1ce4e5b9ULL);
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<unsigned>(z & 0xffffffffu);
}

}  // namespace loom::driver
