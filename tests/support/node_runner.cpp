#include "support/node_runner.hpp"

#include <stdexcept>

#include "support/test_support.hpp"

namespace loom::test {

nlohmann::json runInNode(const nlohmann::json& request) {
  const std::string script = (sourceDir() / "scripts" / "wasm-run.mjs").string();
  const CommandResult r = runCommand({LOOM_NODE, script}, request.dump());
  nlohmann::json reply;
  try {
    reply = nlohmann::json::parse(r.out);
  } catch (const nlohmann::json::exception&) {
    throw std::runtime_error("wasm-run.mjs printed no JSON (exit " + std::to_string(r.exit_code) +
                             "): " + r.err);
  }
  if (r.exit_code != 0 || reply.contains("error")) {
    throw std::runtime_error("wasm-run.mjs: " + reply.value("error", r.err));
  }
  return reply;
}

nlohmann::json listExports(const std::filesystem::path& module) {
  return runInNode({{"module", module.string()}, {"list_exports", true}}).at("exports");
}

nlohmann::json callAllExports(const std::filesystem::path& module,
                              const std::vector<std::string>& values, int vectors_per_export) {
  nlohmann::json calls = nlohmann::json::array();
  std::size_t cursor = 0;
  for (const auto& e : listExports(module)) {
    if (e.at("kind") != "function") continue;
    const std::size_t arity = e.at("params").size();
    for (int v = 0; v < vectors_per_export; ++v) {
      nlohmann::json args = nlohmann::json::array();
      for (std::size_t a = 0; a < arity; ++a) args.push_back(values[cursor++ % values.size()]);
      calls.push_back({{"export", e.at("name")}, {"args", args}});
      if (arity == 0) break;
    }
  }
  return runInNode({{"module", module.string()}, {"calls", calls}}).at("results");
}

}  // namespace loom::test
