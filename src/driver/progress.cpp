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

void Progress::message(const std::string& line) {
  if (mode_ == Mode::Quiet) return;
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
  drawn_lines_ = 0;
}

void Progress::warning(const std::string& line) {
  fmt::print(out_, "{}\n", line);
  std::fflush(out_);
  drawn_lines_ = 0;
}

void Progress::finish() {
  drawn_lines_ = 0;
}

}  // namespace loom::driver
