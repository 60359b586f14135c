// The proof store: verdicts survive the process, are shared, and are never
// found under another verifier identity, other options or another context;
// verdicts about the process (out of memory) are not kept; a file that is not a store is refused
// and a corrupt store is made anew.
#include "loom/engine/proof_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "loom/engine/stepwise.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/wasm/loader.hpp"
#include "support/test_support.hpp"

namespace loom::engine {
namespace {

verify::FunctionVerdict proved(const std::string& function) {
  verify::FunctionVerdict v;
  v.function = function;
  v.verdict = verify::Verdict::Proved;
  v.solver_units = 1234;
  return v;
}

TEST(ProofStore, AVerdictOutlivesTheProcessThatFoundIt) {
  test::TempDir dir;
  const auto path = dir.path() / "nested" / "proofs.db";
  const wasm::Hash128 key = wasm::hashString("some pair");
  {
    ProofStore store(path);
    EXPECT_FALSE(store.find(key));
    store.insert(key, proved("f"));
  }
  ProofStore again(path);
  const auto found = again.find(key);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->function, "f");
  EXPECT_EQ(found->verdict, verify::Verdict::Proved);
  EXPECT_EQ(found->solver_units, 1234u);
  EXPECT_EQ(again.size(), 1u);
}

TEST(ProofStore, AnotherVerifierIdentityFindsNothing) {
  test::TempDir dir;
  const auto path = dir.path() / "proofs.db";
  const wasm::Hash128 key = wasm::hashString("some pair");
  ProofStore(path, "verifier A").insert(key, proved("f"));
  EXPECT_TRUE(ProofStore(path, "verifier A").find(key));
  EXPECT_FALSE(ProofStore(path, "verifier B").find(key));
  EXPECT_FALSE(ProofStore(path).find(key));
}

// Through the verifier: a second chain with the store asks the solver for
// nothing, one under other options or another input asks again.
TEST(ProofStore, AWarmChainAsksTheSolverNothingAndOtherOptionsOrContextsAskAgain) {
  test::TempDir dir;
  const auto path = dir.path() / "proofs.db";
  const auto source = wasm::probeModuleFile(test::fixturePath("strings"));
  const wasm::Module input = wasm::instantiate(source);
  const pipeline::PipelineConfig oz = *pipeline::builtinConfig("Oz");
  auto chain = [&](const StepwiseOptions& options, const wasm::Module& module) {
    auto cache = std::make_shared<verify::VerdictCache>();
    cache->attachStore(std::make_shared<ProofStore>(path));
    StepwiseOutcome out = runStepwise(module, oz, options, cache);
    return std::make_pair(std::move(out), cache->storeHits());
  };
  StepwiseOptions options;
  options.verify_options.function_timeout = std::chrono::milliseconds(3000);
  const auto [cold, cold_hits] = chain(options, input);
  ASSERT_GT(cold.stats.proved_by_solver, 0u) << cold.stats.toJson().dump();
  EXPECT_EQ(cold_hits, 0u);

  const auto [warm, warm_hits] = chain(options, input);
  EXPECT_EQ(warm.stats.proved_by_solver, 0u) << warm.stats.toJson().dump();
  EXPECT_EQ(warm_hits, cold.stats.proved_by_solver);
  EXPECT_EQ(warm.binary, cold.binary);

  StepwiseOptions other = options;
  other.verify_options.loop_bound = options.verify_options.loop_bound + 1;
  const auto [fresh, fresh_hits] = chain(other, input);
  EXPECT_EQ(fresh_hits, 0u);
  EXPECT_EQ(fresh.stats.proved_by_solver, cold.stats.proved_by_solver);

  // Another input module: another context.
  const wasm::Module changed = wasm::instantiate(wasm::probeModuleFile(test::fixturePath("arith")));
  const auto [elsewhere, elsewhere_hits] = chain(options, changed);
  EXPECT_EQ(elsewhere_hits, 0u);
}

TEST(ProofStore, VerdictsAboutTheProcessAreNotKept) {
  test::TempDir dir;
  const auto path = dir.path() / "proofs.db";
  auto store = std::make_shared<ProofStore>(path);
  verify::VerdictCache cache;
  cache.attachStore(store);
  verify::FunctionVerdict memory = proved("f");
  memory.verdict = verify::Verdict::Unknown;
  memory.reason = "Z3: out of memory";
  verify::FunctionVerdict budget = memory;
  budget.reason = "solver budget exhausted";
  cache.insert(wasm::hashString("a"), memory);
  cache.insert(wasm::hashString("b"), proved("g"));
  cache.insert(wasm::hashString("c"), budget);
  EXPECT_EQ(store->size(), 2u);
  EXPECT_FALSE(store->find(wasm::hashString("a")));
  EXPECT_TRUE(store->find(wasm::hashString("b")));
  EXPECT_TRUE(store->find(wasm::hashString("c")));
}

TEST(ProofStore, AnotherDatabaseIsRefusedAndLeftAsItWas) {
  test::TempDir dir;
  const auto path = dir.path() / "runs.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE evaluations(x INTEGER)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THROW(ProofStore store(path), ProofStoreError);
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &s, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(s), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(s, 0), 1);  // no table of ours added
  sqlite3_finalize(s);
  sqlite3_close(db);
}

TEST(ProofStore, ACorruptStoreIsMovedAsideAndMadeAnew) {
  test::TempDir dir;
  const auto path = dir.path() / "proofs.db";
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(4096, '\x5a');
  }
  ProofStore store(path);
  EXPECT_NE(store.note().find("made anew"), std::string::npos) << store.note();
  EXPECT_TRUE(std::filesystem::exists(path.string() + ".corrupt"));
  const wasm::Hash128 key = wasm::hashString("k");
  store.insert(key, proved("f"));
  EXPECT_TRUE(store.find(key));
}

}  // namespace
}  // namespace loom::engine
