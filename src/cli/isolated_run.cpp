#include "isolated_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "loom/engine/proof_store.hpp"
#include "loom/engine/stepwise.hpp"
#include "loom/pipeline/apply.hpp"
#include "loom/support/child_process.hpp"

namespace loom::cli {

namespace {

// Reply layout: 6 little-endian u64 fields (5 metrics, then the length of a
// JSON text of the verification, 0 without), that text, then the module bytes.
constexpr std::size_t kHeaderWords = 6;

}  // namespace

IsolatedRun runIsolated(const wasm::ModuleSource& source, const pipeline::PipelineConfig& config,
                        std::chrono::milliseconds timeout,
                        const std::optional<verify::VerifyOptions>& verify,
                        const std::string& proof_store) {
  support::ChildLimits limits;
  limits.timeout = timeout;
  const auto outcome = support::runInChild(
      [&](int fd) {
        wasm::Module base = wasm::instantiate(source);
        wasm::Bytes binary;
        cost::Metrics m;
        std::string verification;
        if (verify) {
          auto cache = std::make_shared<verify::VerdictCache>();
          if (!proof_store.empty()) {
            try {
              cache->attachStore(std::make_shared<engine::ProofStore>(proof_store));
            } catch (const std::exception&) {
              // Checked by the command before; only sharing is lost.
            }
          }
          // The chain stops running steps with a share of the time left for
          // the write step, so that the run ends with what it verified.
          engine::StepwiseOptions stepwise{*verify, false, std::nullopt};
          if (verify->module_budget.count() > 0) {
            // The module budget's own wall-clock safety net, unless sooner.
            const auto now = std::chrono::steady_clock::now();
            stepwise.deadline = std::min(now + timeout * 3 / 4,
                                         now + 3 * verify->module_budget + std::chrono::seconds(1));
          }
          engine::StepwiseOutcome out = engine::runStepwise(base, config, stepwise, cache);
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
