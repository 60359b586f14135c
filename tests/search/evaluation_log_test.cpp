#include "loom/driver/evaluation_log.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "support/test_support.hpp"

namespace loom::driver {
namespace {

engine::EvalResult measured(std::uint64_t bytes) {
  engine::EvalResult r;
  r.status = engine::EvalStatus::Ok;
  r.metrics.total_bytes = bytes;
  r.metrics.code_bytes = bytes / 2;
  r.metrics.cycles = 100;
  return r;
}

pipeline::PipelineConfig pipelineOf(std::initializer_list<const char*> phases) {
  pipeline::PipelineConfig c;
  for (const char* p : phases) c.phases.emplace_back(p);
  return c;
}

// What another process opening the same file would find.
std::size_t rowsVisibleFromOutside(const std::filesystem::path& path, const std::string& sha) {
  EvaluationLog reader(path);
  reader.setVerifyFingerprint("fp");
  std::size_t rows = 0;
  reader.forEachKnown(sha, "fp", [&](const auto&, const auto&) { ++rows; });
  return rows;
}

TEST(EvaluationLog, RowsOlderThanTheFlushIntervalReachTheFileWithoutAnExplicitFlush) {
  // A set-up that takes many minutes is killed before its first checkpoint:
  // what it finished must already be in the file for the next run to reuse.
  test::TempDir dir;
  const auto path = dir / "runs.db";
  const std::string sha(64, 'b');
  EvaluationLog log(path);
  log.setVerifyFingerprint("fp");
  const auto run = log.startRun("evolve", "m.wasm", sha, nlohmann::json::object());

  log.record(run, sha, pipelineOf({"dce"}), measured(1000), -1, 0);
  log.record(run, sha, pipelineOf({"vacuum"}), measured(990), -1, 0);
  EXPECT_EQ(rowsVisibleFromOutside(path, sha), 0u) << "rows younger than 10 s wait for flush()";

  log.setFlushInterval(std::chrono::seconds(0));
  log.record(run, sha, pipelineOf({"cse"}), measured(980), 0, 0);
  EXPECT_EQ(rowsVisibleFromOutside(path, sha), 3u) << "an old enough buffer is written by record()";

  log.setFlushInterval(std::chrono::hours(1));
  log.record(run, sha, pipelineOf({"licm"}), measured(970), 0, 0);
  EXPECT_EQ(rowsVisibleFromOutside(path, sha), 3u);
  log.flush();
  EXPECT_EQ(rowsVisibleFromOutside(path, sha), 4u);
}

}  // namespace
}  // namespace loom::driver
