#include "loom/driver/archive.hpp"

#include <gtest/gtest.h>

namespace loom::driver {
namespace {

ArchivedCandidate candidate(std::vector<std::string> phases, std::string output_hash,
                            std::uint64_t bytes, wasm::Bytes module) {
  ArchivedCandidate c;
  c.config.phases = std::move(phases);
  c.result.status = engine::EvalStatus::Ok;
  c.result.metrics.total_bytes = bytes;
  c.result.output_hash = std::move(output_hash);
  c.result.module = std::move(module);
  c.score.objectives = {static_cast<double>(bytes) / 1000.0};
  c.score.size_ratio = c.score.objectives.front();
  c.score.cycles_ratio = 1.0;
  return c;
}

// The search writes the best candidate's bytes as its verification returned
// them. A tie that sorts first but came from the memo (another pipeline with
// the same output) has no bytes of its own: the same output's bytes stay.
TEST(Archive, TheBestKeepsItsBytesThroughATieWithTheSameOutput) {
  Archive archive;
  archive.offer(candidate({"vacuum", "dce"}, "aa", 900, {1, 2, 3}));
  ASSERT_TRUE(archive.best());
  EXPECT_EQ(archive.best()->result.module, (wasm::Bytes{1, 2, 3}));

  archive.offer(candidate({"dce"}, "aa", 900, {}));
  EXPECT_EQ(archive.best()->config.phases, (std::vector<std::string>{"dce"}));
  EXPECT_EQ(archive.best()->result.module, (wasm::Bytes{1, 2, 3}));

  // A different output, even of the same size, does not inherit them.
  archive.offer(candidate({"cse"}, "bb", 900, {}));
  EXPECT_EQ(archive.best()->config.phases, (std::vector<std::string>{"cse"}));
  EXPECT_TRUE(archive.best()->result.module.empty());

  // A better candidate brings its own, and a worse one changes nothing.
  archive.offer(candidate({"precompute"}, "cc", 800, {4, 5}));
  archive.offer(candidate({"block-merging"}, "dd", 850, {6}));
  EXPECT_EQ(archive.best()->result.module, (wasm::Bytes{4, 5}));

  // Bytes never reach a checkpoint.
  Archive restored;
  restored.restore(archive.toJson());
  ASSERT_TRUE(restored.best());
  EXPECT_EQ(restored.best()->result.metrics.total_bytes, 800u);
  EXPECT_TRUE(restored.best()->result.module.empty());
  EXPECT_FALSE(restored.bestConfirmed()) << "a checkpoint's candidates are hints, not made here";

  // What this run made keeps its bytes when a checkpoint's hints join it,
  // even when a hint claims to be better.
  Archive resumed;
  resumed.offer(candidate({"vacuum"}, "ee", 950, {7}));
  resumed.restore(archive.toJson());
  EXPECT_EQ(resumed.best()->result.metrics.total_bytes, 800u);
  ASSERT_TRUE(resumed.bestConfirmed());
  EXPECT_EQ(resumed.bestConfirmed()->result.module, (wasm::Bytes{7}));
  EXPECT_EQ(archive.bestConfirmed()->result.module, (wasm::Bytes{4, 5}));
}

// The answer is chosen among the best few: claims without bytes (hints from
// a log or a checkpoint) are run again in this order until one holds up.
TEST(Archive, TopKeepsTheBestDistinctConfigurationsBestFirst) {
  Archive archive;
  const std::vector<std::string> phases = {"dce", "vacuum", "cse", "licm", "precompute"};
  for (std::uint64_t bytes = 2000; bytes > 1000; bytes -= 50) {
    const auto& p = phases[bytes / 50 % phases.size()];
    archive.offer(candidate({p, std::to_string(bytes)}, "h" + std::to_string(bytes), bytes, {}));
  }
  const auto top = archive.top();
  ASSERT_EQ(top.size(), Archive::kTopSize);
  for (std::size_t i = 1; i < top.size(); ++i)
    EXPECT_LT(top[i - 1].result.metrics.total_bytes, top[i].result.metrics.total_bytes);
  EXPECT_EQ(top.front().result.metrics.total_bytes, 1050u);

  // The same configuration again, now with the bytes this run made: it
  // replaces the hint instead of taking a second place.
  archive.offer(candidate({phases[1100 / 50 % phases.size()], "1100"}, "h1100", 1100, {9}));
  const auto again = archive.top();
  ASSERT_EQ(again.size(), Archive::kTopSize);
  EXPECT_EQ(again[1].result.metrics.total_bytes, 1100u);
  EXPECT_EQ(again[1].result.module, (wasm::Bytes{9}));
  EXPECT_EQ(archive.bestConfirmed()->result.metrics.total_bytes, 1100u);
}

}  // namespace
}  // namespace loom::driver
