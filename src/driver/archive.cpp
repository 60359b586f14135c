#include "loom/driver/archive.hpp"

#include <algorithm>

namespace loom::driver {

nlohmann::json ArchivedCandidate::toJson() const {
  return {{"config", config.toJson()},
          {"result", result.toJson()},
          {"objectives", score.objectives},
          {"violation", score.violation},
          {"size_ratio", score.size_ratio},
          {"cycles_ratio", score.cycles_ratio},
          {"island", island},
          {"generation", generation}};
}

ArchivedCandidate ArchivedCandidate::fromJson(const nlohmann::json& j) {
  ArchivedCandidate c;
  c.config = pipeline::PipelineConfig::fromJson(j.at("config"));
  c.result = engine::EvalResult::fromJson(j.at("result"));
  c.score.objectives = j.at("objectives").get<std::vector<double>>();
  c.score.violation = j.at("violation");
  c.score.size_ratio = j.at("size_ratio");
  c.score.cycles_ratio = j.at("cycles_ratio");
  c.island = j.at("island");
  c.generation = j.at("generation");
  return c;
}

bool Archive::better(const ArchivedCandidate& a, const ArchivedCandidate& b) {
  if (a.score.objectives[0] != b.score.objectives[0])
    return a.score.objectives[0] < b.score.objectives[0];
  return a.config.canonicalText() < b.config.canonicalText();
}

namespace {

bool dominates(const problems::Score& a, const problems::Score& b) {
  return a.size_ratio <= b.size_ratio && a.cycles_ratio <= b.cycles_ratio &&
         (a.size_ratio < b.size_ratio || a.cycles_ratio < b.cycles_ratio);
}

}  // namespace

void Archive::offer(const ArchivedCandidate& c) {
  if (!c.score.feasible()) return;
  std::lock_guard lock(mutex_);
  if (!best_ || better(c, *best_)) {
    // A tie answered from the memo has no bytes; the same verified output may.
    wasm::Bytes bytes;
    if (best_ && c.result.module.empty() && c.result.output_hash == best_->result.output_hash &&
        c.result.metrics == best_->result.metrics)
      bytes = std::move(best_->result.module);
    best_ = c;
    if (!bytes.empty()) best_->result.module = std::move(bytes);
  }
  if (!c.result.module.empty() && (!confirmed_ || better(c, *confirmed_))) confirmed_ = c;
  const std::string text = c.config.canonicalText();
  const auto same = std::find_if(top_.begin(), top_.end(), [&](const ArchivedCandidate& t) {
    return t.config.canonicalText() == text;
  });
  if (same == top_.end()) {
    top_.insert(std::upper_bound(top_.begin(), top_.end(), c, better), c);
    if (top_.size() > kTopSize) top_.pop_back();
  } else if (same->result.module.empty() && !c.result.module.empty()) {
    *same = c;
  }
  for (const auto& member : front_) {
    if (dominates(member.score, c.score)) return;
    if (member.score.size_ratio == c.score.size_ratio &&
        member.score.cycles_ratio == c.score.cycles_ratio &&
        member.config.canonicalText() <= c.config.canonicalText()) {
      return;
    }
  }
  std::erase_if(front_, [&](const ArchivedCandidate& m) {
    return dominates(c.score, m.score) || (m.score.size_ratio == c.score.size_ratio &&
                                           m.score.cycles_ratio == c.score.cycles_ratio);
  });
  front_.push_back(c);
  std::sort(front_.begin(), front_.end(),
            [](const auto& a, const auto& b) { return a.score.size_ratio < b.score.size_ratio; });
}

std::optional<ArchivedCandidate> Archive::best() const {
  std::lock_guard lock(mutex_);
  return best_;
}

std::vector<ArchivedCandidate> Archive::top() const {
  std::lock_guard lock(mutex_);
  return top_;
}

std::optional<ArchivedCandidate> Archive::bestConfirmed() const {
  std::lock_guard lock(mutex_);
  return confirmed_;
}

std::vector<ArchivedCandidate> Archive::paretoFront() const {
  std::lock_guard lock(mutex_);
  return front_;
}

nlohmann::json Archive::toJson() const {
  std::lock_guard lock(mutex_);
  nlohmann::json j;
  j["best"] = best_ ? best_->toJson() : nlohmann::json(nullptr);
  j["front"] = nlohmann::json::array();
  for (const auto& c : front_) j["front"].push_back(c.toJson());
  return j;
}

void Archive::restore(const nlohmann::json& j) {
  // Merged with what is known: the baselines of this run (with their bytes)
  // stay, and the checkpoint's candidates join them as hints.
  std::vector<ArchivedCandidate> saved;
  if (!j.at("best").is_null()) saved.push_back(ArchivedCandidate::fromJson(j.at("best")));
  for (const auto& c : j.at("front")) saved.push_back(ArchivedCandidate::fromJson(c));
  for (const auto& c : saved) offer(c);
}

}  // namespace loom::driver
