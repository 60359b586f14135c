// The best verified candidates seen so far, whichever island found them.
#pragma once

#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "loom/engine/eval_result.hpp"
#include "loom/pipeline/config.hpp"
#include "problems/fitness.hpp"

namespace loom::driver {

struct ArchivedCandidate {
  pipeline::PipelineConfig config;
  engine::EvalResult result;
  problems::Score score;
  int island = -1;  // -1: a built-in baseline
  unsigned generation = 0;
  nlohmann::json toJson() const;
  static ArchivedCandidate fromJson(const nlohmann::json& json);
};

class Archive {
 public:
  // Keeps the candidate if it is verified and better than what is known,
  // with its module bytes if it has them (they are never saved in toJson).
  void offer(const ArchivedCandidate& candidate);

  // The best by the (first) objective; ties go to the candidate whose
  // configuration text sorts first, so the answer does not depend on timing.
  std::optional<ArchivedCandidate> best() const;

  // The best candidate made in this run, with its module bytes: what the
  // answer falls back to when a better one known from a log or a checkpoint
  // (a hint, without bytes) does not hold up when run again.
  std::optional<ArchivedCandidate> bestConfirmed() const;

  // The kTopSize best distinct configurations, best first, with bytes where
  // this run made them: what the answer is chosen from when hints do not
  // hold up.
  std::vector<ArchivedCandidate> top() const;
  static constexpr std::size_t kTopSize = 16;

  // Verified candidates no other verified candidate dominates on (size, cycles).
  std::vector<ArchivedCandidate> paretoFront() const;

  nlohmann::json toJson() const;
  void restore(const nlohmann::json& json);

 private:
  static bool better(const ArchivedCandidate& a, const ArchivedCandidate& b);
  mutable std::mutex mutex_;
  std::optional<ArchivedCandidate> best_;
  std::optional<ArchivedCandidate> confirmed_;
  std::vector<ArchivedCandidate> top_;
  std::vector<ArchivedCandidate> front_;
};

}  // namespace loom::driver
