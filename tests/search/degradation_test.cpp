// A run that degrades says so, with counts from one source: the report's
// "degraded" is computed from the engine's by_status alone, so the two
// cannot disagree, and each count names the option that helps.
#include <gtest/gtest.h>

#include "driver/report.hpp"
#include "loom/driver/progress.hpp"

namespace loom::driver {
namespace {

TEST(Degradation, CountsComeFromByStatusAndNameTheOptionThatHelps) {
  RunOptions options;
  options.memory_limit_bytes = 100ull << 20;
  options.candidate_timeout_seconds = 30;
  engine::EngineCounters counters;
  counters.by_status = {{"ok", 40}, {"out-of-memory", 7}, {"timed-out", 2}, {"refuted", 3}};
  counters.pool.out_of_memory = 0;  // the workers caught their own out-of-memory

  const nlohmann::json degraded = degradation(counters.by_status, options);
  ASSERT_TRUE(degraded.contains("out-of-memory"));
  EXPECT_EQ(degraded["out-of-memory"]["candidates"], 7);
  EXPECT_NE(degraded["out-of-memory"]["hint"].get<std::string>().find("--memory-limit 100"),
            std::string::npos);
  EXPECT_EQ(degraded["timed-out"]["candidates"], 2);
  EXPECT_NE(degraded["timed-out"]["hint"].get<std::string>().find("--candidate-timeout 30"),
            std::string::npos);
  EXPECT_FALSE(degraded.contains("crashed"));

  // The engine's report keeps worker processes apart from candidates, under
  // names that cannot be read as candidate counts.
  const nlohmann::json engine = counters.toJson();
  EXPECT_EQ(engine["by_status"]["out-of-memory"], degraded["out-of-memory"]["candidates"]);
  EXPECT_FALSE(engine["workers"].contains("out_of_memory"));
  EXPECT_EQ(engine["workers"]["processes_out_of_memory"], 0);

  const std::string line = degradationLine(degraded);
  EXPECT_NE(line.find("7 candidates ran out of memory"), std::string::npos) << line;
  EXPECT_NE(line.find("2 candidates timed out"), std::string::npos) << line;
  EXPECT_EQ(degradationLine(degradation({{"ok", 5}}, options)), "");
}

}  // namespace
}  // namespace loom::driver
