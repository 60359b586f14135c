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
}

}  // namespace
}  // namespace loom::driver
