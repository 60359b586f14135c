#include "loom/pipeline/config.hpp"

#include <gtest/gtest.h>

#include "loom/pipeline/builtins.hpp"

namespace loom::pipeline {
namespace {

TEST(Config, JsonRoundTripIsCanonical) {
  PipelineConfig c = *builtinConfig("Oz");
  c.inlining.always_inline_max_size = 7;
  c.unroll = {UnrollStrategy::Innermost, 4, 32};
  const PipelineConfig back = PipelineConfig::fromJson(c.toJson());
  EXPECT_EQ(back, c);
  EXPECT_EQ(back.canonicalText(), c.canonicalText());
  EXPECT_EQ(back.key(), c.key());
  PipelineConfig other = c;
  other.phases.pop_back();
  EXPECT_NE(other.key(), c.key());
}

TEST(Config, DefaultsFillMissingFields) {
  const auto c =
      PipelineConfig::fromJson(nlohmann::json::parse(R"({"phases": ["dce", "vacuum"]})"));
  EXPECT_EQ(c.phases, (std::vector<std::string>{"dce", "vacuum"}));
  EXPECT_EQ(c.optimize_level, 2);
  EXPECT_EQ(c.inlining, InliningSettings{});
}

TEST(Config, RejectsBadConfigurationsNamingTheField) {
  auto reject = [](const char* text, const char* needle) {
    try {
      PipelineConfig::fromJson(nlohmann::json::parse(text));
      ADD_FAILURE() << "accepted " << text;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  reject(R"([1, 2])", "JSON object");
  reject(R"({})", "phases");
  reject(R"({"phases": ["no-such-phase"]})", "no-such-phase");
  reject(R"({"phases": [], "optimize_level": 9})", "optimize_level");
  reject(R"({"phases": [], "shrink_level": -1})", "shrink_level");
  reject(R"({"phases": [], "unroll": {"factor": 3}})", "factor");
  reject(R"({"phases": [], "unroll": {"strategy": "sometimes"}})", "sometimes");
  reject(R"({"phases": "dce"})", "phases");
  reject(R"({"phases": [], "colour": "blue"})", "colour");
  reject(R"({"phases": [], "inlining": {"always_inline_max_size": "big"}})",
         "always_inline_max_size");
}

TEST(Config, WasmOptArgsSpellEverySetting) {
  PipelineConfig c;
  c.phases = {"post-inline-folding", "dce"};
  c.optimize_level = 3;
  c.shrink_level = 0;
  c.inlining.allow_functions_with_loops = true;
  const auto args = *c.wasmOptArgs(BinaryenFeatureSignExt());
  const std::vector<std::string> expected = {"--enable-sign-ext",
                                             "--optimize-level",
                                             "3",
                                             "--shrink-level",
                                             "0",
                                             "--always-inline-max-function-size",
                                             "2",
                                             "--flexible-inline-max-function-size",
                                             "20",
                                             "--one-caller-inline-max-function-size",
                                             "-1",
                                             "--inline-functions-with-loops",
                                             "--simplify-locals",
                                             "--precompute-propagate",
                                             "--optimize-instructions",
                                             "--dce"};
  EXPECT_EQ(args, expected);
  EXPECT_EQ(c.passNames(), (std::vector<std::string>{"simplify-locals", "precompute-propagate",
                                                     "optimize-instructions", "dce"}));
}

}  // namespace
}  // namespace loom::pipeline
