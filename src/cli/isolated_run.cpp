#include "isolated_run.hpp"

#include <fmt/format.h>

#include <cstring>

#include "loom/pipeline/apply.hpp"
#include "loom/support/child_process.hpp"

namespace loom::cli {

namespace {

// Reply layout: 5 little-endian u64 metric fields, then the module bytes.
constexpr std::size_t kHeaderWords = 5;

}  // namespace

IsolatedRun runIsolated(const wasm::ModuleSource& source, const pipeline::PipelineConfig& config,
                        std::chrono::milliseconds timeout) {
  support::ChildLimits limits;
  limits.timeout = timeout;
  const auto outcome = support::runInChild(
      [&](int fd) {
        wasm::Module base = wasm::instantiate(source);
        wasm::Module out = pipeline::applyPipeline(base, config);
        if (!out.validate()) {
          std::fputs("the optimized module does not validate\n", stderr);
          return 3;
        }
        const wasm::Bytes binary = out.writeBinary();
        const cost::Metrics m = cost::measure(out, binary);
        double cycles = m.cycles;
        std::uint64_t cycle_bits = 0;
        std::memcpy(&cycle_bits, &cycles, sizeof cycles);
        const std::uint64_t header[kHeaderWords] = {m.total_bytes, m.code_bytes, m.instructions,
                                                    cycle_bits, m.functions};
        support::writeAll(fd, header, sizeof header);
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
  run.binary.assign(outcome.result.begin() + sizeof header, outcome.result.end());
  return run;
}

}  // namespace loom::cli
