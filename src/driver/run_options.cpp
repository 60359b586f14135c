#include "loom/driver/run_options.hpp"

#include "loom/support/files.hpp"

namespace loom::driver {

nlohmann::json RunOptions::searchIdentity() const {
  return {{"islands", islands},
          {"population", population},
          {"topology", topology},
          {"migrate_every", migrate_every},
          {"migrants", migrants},
          {"selection", selection},
          {"replacement", replacement},
          {"migration_type", migration_type},
          {"algorithms", algorithms},
          {"objective", problems::objectiveName(fitness.objective)},
          {"weights", {fitness.size_weight, fitness.cycles_weight}},
          {"allow_bounded", fitness.allow_bounded},
          {"seed", seed},
          {"max_phases", max_phases},
          {"strip_debug", strip_debug},
          {"repair", repair},
          {"screen_margin", screen_margin},
          {"verify",
           {{"loop_bound", verify.loop_bound},
            {"inline_depth", verify.inline_depth},
            {"function_timeout_ms", verify.function_timeout.count()},
            {"module_budget_ms", verify.module_budget.count()}}}};
}

nlohmann::json RunOptions::toJson() const {
  nlohmann::json j = searchIdentity();
  j["module"] = module.string();
  j["generations"] = generations;
  j["time_budget_seconds"] = time_budget_seconds;
  j["jobs"] = jobs;
  j["candidate_timeout_seconds"] = candidate_timeout_seconds;
  j["memory_limit_bytes"] = memory_limit_bytes;
  j["checkpoint_every"] = checkpoint_every;
  return j;
}

std::filesystem::path RunOptions::checkpointPath() const {
  if (checkpoint) return *checkpoint;
  // Beside the report or the output, unless that is a device or a FIFO
  // (--report /dev/stdout): then in the working directory.
  std::filesystem::path base = module.filename();
  if (output && !support::isSpecialFile(*output)) base = *output;
  if (report && !support::isSpecialFile(*report)) base = *report;
  base += ".checkpoint.json";
  return base;
}

}  // namespace loom::driver
