#include "isolated_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <vector>

#include "loom/engine/proof_store.hpp"
#include "loom/engine/stepwise.hpp"
#include "loom/pipeline/apply.hpp"
#include "loom/support/child_process.hpp"

namespace loom::cli {

namespace {

// Reply layout: 6 little-endian u64 fields (5 metrics, then the length of a
// JSON text of the verification, 0 without), that text, then the module bytes.
constexpr std::size_t kHeaderWords = 6;

// The verdict cache of a child, with the proof store when there is one.
std::shared_ptr<verify::VerdictCache> openCache(const std::string& proof_store) {
  auto cache = std::make_shared<verify::VerdictCache>();
  if (!proof_store.empty()) {
    try {
      cache->attachStore(std::make_shared<engine::ProofStore>(proof_store));
    } catch (const std::exception&) {
      // Checked by the command before; only sharing is lost.
    }
  }
  return cache;
}

// The chain stops running steps with a share of the time left for the
// write step, so that the run ends with what it verified; the module
// budget's own wall-clock safety net holds too, when it is sooner.
engine::StepwiseOptions chainOptions(const verify::VerifyOptions& verify,
                                     std::chrono::milliseconds timeout) {
  engine::StepwiseOptions stepwise{verify, false, std::nullopt, {}, {}};
  if (verify.module_budget.count() > 0) {
    const auto now = std::chrono::steady_clock::now();
    stepwise.deadline =
        std::min(now + timeout * 3 / 4, now + 3 * verify.module_budget + std::chrono::seconds(1));
  }
  return stepwise;
}

// Verdicts for the chain of `config`, learned by `jobs` children at once,
// each checking its share of every step's changed functions (verify::Shard)
// within `timeout`. The full chain then finds most of its verdicts ready:
// it asks the solver only where it parts from what the shards assumed (a
// step after a function was undone). A child that fails only gives less.
nlohmann::json warmVerdicts(const wasm::ModuleSource& source,
                            const pipeline::PipelineConfig& config,
                            const verify::VerifyOptions& verify, const std::string& proof_store,
                            unsigned jobs, std::chrono::milliseconds timeout) {
  std::vector<std::function<int(int)>> works;
  for (unsigned k = 0; k < jobs; ++k) {
    works.push_back([&, k](int fd) {
      const wasm::Module base = wasm::instantiate(source);
      auto cache = openCache(proof_store);
      engine::StepwiseOptions stepwise = chainOptions(verify, timeout);
      stepwise.shard = verify::Shard{k, jobs};
      engine::runStepwise(base, config, stepwise, cache);
      const std::string text = cache->exportEntries().dump();
      return support::writeAll(fd, text.data(), text.size()) ? 0 : 1;
    });
  }
  support::ChildLimits limits;
  limits.timeout = timeout;
  nlohmann::json verdicts = nlohmann::json::array();
  for (const support::ChildOutcome& outcome : support::runInChildren(works, limits)) {
    if (!outcome.ok()) continue;
    const nlohmann::json entries = nlohmann::json::parse(outcome.result, nullptr, false);
    if (!entries.is_array()) continue;
    for (const auto& entry : entries) verdicts.push_back(entry);
  }
  return verdicts;
}

}  // namespace

IsolatedRun runIsolated(const wasm::ModuleSource& source, const pipeline::PipelineConfig& config,
                        std::chrono::milliseconds timeout,
                        const std::optional<verify::VerifyOptions>& verify,
                        const std::string& proof_store, unsigned jobs) {
  const auto started = std::chrono::steady_clock::now();
  nlohmann::json warm = nlohmann::json::array();
  if (verify && jobs > 1 && !config.phases.empty())
    warm = warmVerdicts(source, config, *verify, proof_store, jobs, timeout / 2);
  support::ChildLimits limits;
  limits.timeout = std::max(std::chrono::milliseconds(1000),
                            timeout - std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::steady_clock::now() - started));
  const auto outcome = support::runInChild(
      [&](int fd) {
        wasm::Module base = wasm::instantiate(source);
        wasm::Bytes binary;
        cost::Metrics m;
        std::string verification;
        if (verify) {
          auto cache = openCache(proof_store);
          cache->importEntries(warm);
          engine::StepwiseOutcome out =
              engine::runStepwise(base, config, chainOptions(*verify, limits.timeout), cache);
          binary = std::move(out.binary);
          m = cost::measure(out.shipped, binary);
          nlohmann::json j;
          j["reverted_steps"] = nlohmann::json::array();
          for (const auto& r : out.reverted) j["reverted_steps"].push_back(r.toJson());
          j["stepwise"] = out.stats.toJson();
          j["unverifiable"] = out.unverifiable;
          verification = j.dump();
        } else {
          wasm::Module out = pipeline::applyPipeline(base, config);
          if (!out.validate()) {
            std::fputs("the optimized module does not validate\n", stderr);
            return 3;
          }
          binary = out.writeBinary();
          m = cost::measure(out, binary);
        }
        double cycles = m.cycles;
        std::uint64_t cycle_bits = 0;
        std::memcpy(&cycle_bits, &cycles, sizeof cycles);
        const std::uint64_t header[kHeaderWords] = {m.total_bytes,  m.code_bytes,
                                                    m.instructions, cycle_bits,
                                                    m.functions,    verification.size()};
        support::writeAll(fd, header, sizeof header);
        support::writeAll(fd, verification.data(), verification.size());
        support::writeAll(fd, binary.data(), binary.size());
        return 0;
      },
      limits);
  IsolatedRun run;
  if (!outcome.ok() || outcome.result.size() < kHeaderWords * 8) {
    std::string why = outcome.error_text.substr(0, outcome.error_text.find('\n'));
    if (why.empty()) why = outcome.describe();
    run.error = why;
    return run;
  }
  std::uint64_t header[kHeaderWords];
  std::memcpy(header, outcome.result.data(), sizeof header);
  run.ok = true;
  run.metrics.total_bytes = header[0];
  run.metrics.code_bytes = header[1];
  run.metrics.instructions = header[2];
  std::memcpy(&run.metrics.cycles, &header[3], sizeof(double));
  run.metrics.functions = static_cast<std::uint32_t>(header[4]);
  const std::size_t text = header[5];
  if (text > outcome.result.size() - sizeof header) {
    run.ok = false;
    run.error = "the child's reply is cut short";
    return run;
  }
  const auto* begin = outcome.result.data() + sizeof header;
  if (text > 0) run.verification = nlohmann::json::parse(begin, begin + text);
  run.binary.assign(begin + text, outcome.result.data() + outcome.result.size());
  return run;
}

}  // namespace loom::cli
