#include "loom/driver/progress.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <cmath>
#include <vector>

namespace loom::driver {

std::string formatDuration(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds)) return "?";
  const long s = std::lround(seconds);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

Progress::Mode Progress::detect(bool quiet, bool force_lines) {
  if (quiet) return Mode::Quiet;
  if (force_lines || !::isatty(STDERR_FILENO)) return Mode::Lines;
  const char* term = std::getenv("TERM");
  if (term && std::string(term) == "dumb") return Mode::Lines;
  return Mode::Terminal;
}

std::string versusReferences(std::uint64_t bytes, std::uint64_t tool_oz,
                             std::uint64_t verified_oz) {
  if (!bytes) return "";
  auto change = [bytes](std::uint64_t ref) {
    return 100.0 * (static_cast<double>(bytes) - static_cast<double>(ref)) /
           static_cast<double>(ref);
  };
  std::vector<std::string> parts;
  if (tool_oz)
    parts.push_back(
        fmt::format("{:+.2f}% vs wasm-opt -Oz {} B, unverified", change(tool_oz), tool_oz));
  if (verified_oz)
    parts.push_back(fmt::format("{:+.2f}% vs verified -Oz {} B", change(verified_oz), verified_oz));
  if (parts.empty()) return "";
  return fmt::format(" ({})", fmt::join(parts, "; "));
}

void Progress::update(const ProgressSnapshot& p) {
  if (mode_ == Mode::Quiet) return;
  std::lock_guard lock(mutex_);
  clearStatus();
  const std::string best = p.best_bytes ? fmt::format("{} B", p.best_bytes) : "none verified yet";
  const std::string head =
      fmt::format("generation {}/{}  best {}{}  {:.1f} evals/s  {} elapsed, {} left", p.generation,
                  p.generations, best, versusReferences(p.best_bytes, p.tool_oz_bytes, p.oz_bytes),
                  p.evaluations_per_second, formatDuration(p.elapsed_seconds),
                  formatDuration(p.remaining_seconds));
  if (mode_ == Mode::Lines) {
    fmt::print(out_, "{}\n", head);
    std::fflush(out_);
    return;
  }
  std::string block;
  if (drawn_lines_ > 0)
    block += fmt::format("\x1b[{}F", drawn_lines_);  // back to the first drawn line
  block += fmt::format("\x1b[2K{}\n", head);
  for (const auto& island : p.islands) {
    const std::string b = island.best_bytes ? fmt::format("{} B  objective {:.5f}",
                                                          island.best_bytes, island.best_objective)
                                            : std::string("no verified candidate yet");
    block += fmt::format("\x1b[2K  island {:<24} {}\n", island.name, b);
  }
  fmt::print(out_, "{}", block);
  std::fflush(out_);
  drawn_lines_ = 1 + static_cast<int>(p.islands.size());
}

void Progress::clearStatus() {
  if (!status_drawn_) return;
  fmt::print(out_, "\r\x1b[2K");
  status_drawn_ = false;
}

void Progress::message(const std::string& line) {
  if (mode_ == Mode::Quiet) return;
  std::lock_guard lock(mutex_);
  clearStatus();
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
  drawn_lines_ = 0;
}

void Progress::status(const std::string& line) {
  if (mode_ == Mode::Quiet) return;
  std::lock_guard lock(mutex_);
  if (mode_ == Mode::Lines) {
    const auto now = std::chrono::steady_clock::now();
    if (last_status_line_ != std::chrono::steady_clock::time_point{} &&
        now - last_status_line_ < std::chrono::duration<double>(kStatusEverySeconds))
      return;
    last_status_line_ = now;
    fmt::print(out_, "{}\n", line);
  } else {
    fmt::print(out_, "\r\x1b[2K{}", line);
    status_drawn_ = true;
  }
  std::fflush(out_);
}

void Progress::warning(const std::string& line) {
  std::lock_guard lock(mutex_);
  clearStatus();
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
  drawn_lines_ = 0;
}

void Progress::finish() {
  std::lock_guard lock(mutex_);
  clearStatus();
  drawn_lines_ = 0;
}

void SetupStatus::stage(const std::string& what) {
  {
    std::lock_guard lock(mutex_);
    stage_ = what;
    chains_.clear();
  }
  progress_.message(what);
}

void SetupStatus::onProgress(const engine::Engine::Progress& p, unsigned engine) {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    auto [it, fresh] = chains_.try_emplace({engine, p.worker}, Chain{now, p.step});
    // A step number going back is the worker's next chain.
    if (!fresh && p.step.step < it->second.at.step) it->second.started = now;
    it->second.at = p.step;
  }
  progress_.status(line(now));
}

std::string SetupStatus::line(std::chrono::steady_clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto seconds = [](auto d) { return std::chrono::duration<double>(d).count(); };
  // The chain furthest behind decides when the stage ends.
  const Chain* slowest = nullptr;
  double done = 1;
  for (const auto& [source, chain] : chains_) {
    const auto& at = chain.at;
    if (at.steps == 0) continue;
    const double within = at.changed ? static_cast<double>(at.decided) / at.changed : 1.0;
    const double fraction = (at.step - 1 + within) / static_cast<double>(at.steps);
    if (!slowest || fraction < done) {
      slowest = &chain;
      done = fraction;
    }
  }
  std::string out = stage_;
  if (slowest) {
    const auto& at = slowest->at;
    out += fmt::format("  step {}/{} {}", at.step, at.steps, at.phase);
    if (at.changed) out += fmt::format(", function {}/{}", at.decided, at.changed);
  }
  out += fmt::format("  {} elapsed", formatDuration(seconds(now - started_)));
  double left = -1;
  if (slowest && done >= 0.02) left = seconds(now - slowest->started) * (1 - done) / done;
  if (deadline_ != std::chrono::steady_clock::time_point::max()) {
    const double budget_left = std::max(0.0, seconds(deadline_ - now));
    left = left < 0 ? budget_left : std::min(left, budget_left);
  }
  if (left >= 0) out += fmt::format(", about {} left", formatDuration(left));
  return out;
}

}  // namespace loom::driver
