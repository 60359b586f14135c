// loom-worker: evaluates candidates for an Engine in the parent process. It
// reads one "init" frame (the input module and options), then "evaluate"
// frames, and answers each on stdout. Anything Binaryen prints goes to stderr,
// which the parent keeps to explain crashes.
#include <fmt/format.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <functional>
#include <new>
#include <optional>
#include <set>
#include <thread>

#include "loom/engine/evaluator.hpp"
#include "loom/support/sanitizers.hpp"
#include "loom/verify/verifier.hpp"
#include "loom/wasm/loader.hpp"
#include "protocol.hpp"

namespace {

namespace engine = loom::engine;
namespace pipeline = loom::pipeline;
namespace verify = loom::verify;
namespace wasm = loom::wasm;
using engine::protocol::Frame;

wasm::ModuleSource sourceFromFrame(const Frame& frame) {
  wasm::ModuleSource source;
  const auto& h = frame.header;
  source.name = h.at("name");
  source.bytes = frame.payload;
  source.format = h.at("format") == "text" ? wasm::SourceFormat::Text : wasm::SourceFormat::Binary;
  source.features = h.at("features");
  source.strip_debug = h.at("strip_debug");
  return source;
}

// Verdicts learned here that the parent has not seen yet.
nlohmann::json newVerdicts(verify::VerdictCache& cache, std::set<std::string>& reported) {
  nlohmann::json fresh = nlohmann::json::array();
  for (const auto& entry : cache.exportEntries()) {
    const std::string key = entry.dump();
    if (reported.insert(key).second) fresh.push_back(entry);
  }
  return fresh;
}

// Progress frames for the parent's progress line, a few a second at most
// (a step may decide thousands of functions).
std::function<void(const engine::StepProgress&)> reportProgress(const nlohmann::json& id) {
  return
      [id, last = std::chrono::steady_clock::time_point{}](const engine::StepProgress& p) mutable {
        const auto now = std::chrono::steady_clock::now();
        if (now - last < std::chrono::milliseconds(200)) return;
        last = now;
        engine::protocol::writeFrame(STDOUT_FILENO, Frame{{{"type", "progress"},
                                                           {"id", id},
                                                           {"step", p.step},
                                                           {"steps", p.steps},
                                                           {"phase", p.phase},
                                                           {"decided", p.decided},
                                                           {"changed", p.changed}},
                                                          {}});
      };
}

// A worker must not outlive its engine: a parent killed during a long
// verification would otherwise leave it computing for nobody (the worker
// notices a closed pipe only between candidates).
void leaveWithParent() {
  const pid_t parent = ::getppid();
  std::thread([parent] {
    while (::getppid() == parent) std::this_thread::sleep_for(std::chrono::milliseconds(250));
    ::_exit(0);
  }).detach();
}

int serve() {
  auto init = engine::protocol::readFrame(STDIN_FILENO);
  if (!init || init->header.value("type", "") != "init") return 2;
  std::unique_ptr<engine::Evaluator> evaluator;
  try {
    evaluator = std::make_unique<engine::Evaluator>(
        sourceFromFrame(*init), engine::EvaluatorOptions::fromJson(init->header.at("options")));
    if (init->header.contains("verdicts"))
      evaluator->verdictCache().importEntries(init->header.at("verdicts"));
  } catch (const std::exception& e) {
    engine::protocol::writeFrame(STDOUT_FILENO,
                                 Frame{{{"type", "error"}, {"reason", e.what()}}, {}});
    return 1;
  }
  std::set<std::string> reported;
  for (const auto& entry : evaluator->verdictCache().exportEntries()) reported.insert(entry.dump());
  if (!engine::protocol::writeFrame(STDOUT_FILENO, Frame{{{"type", "ready"}}, {}})) return 1;

  while (auto request = engine::protocol::readFrame(STDIN_FILENO)) {
    const auto& h = request->header;
    if (h.value("type", "") != "evaluate") continue;
    if (h.contains("verdicts")) {
      for (const auto& entry : h.at("verdicts")) reported.insert(entry.dump());
      evaluator->verdictCache().importEntries(h.at("verdicts"));
    }
    engine::EvalResult result;
    try {
      const auto config = pipeline::PipelineConfig::fromJson(h.at("config"));
      evaluator->setDeadline(
          h.contains("seconds_left")
              ? std::optional(
                    std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                        std::chrono::duration<double>(h.at("seconds_left").get<double>())))
              : std::nullopt);
      evaluator->setProgress(h.value("progress", false) ? reportProgress(h.at("id")) : nullptr);
      if (h.contains("shard")) {
        // A warm-up: only the verdicts it learns go back.
        evaluator->warm(config, verify::Shard{h.at("shard").at(0), h.at("shard").at(1)});
        result.status = engine::EvalStatus::Ok;
      } else {
        result = evaluator->evaluate(config, h.at("verify"), h.at("want_module"),
                                     h.value("keep_original", std::vector<std::string>{}));
      }
    } catch (const std::bad_alloc&) {
      result.status = engine::EvalStatus::OutOfMemory;
      result.reason = "out of memory";
    } catch (const std::exception& e) {
      result.status = engine::EvalStatus::Failed;
      result.reason = e.what();
    }
    Frame reply{{{"type", "result"},
                 {"id", h.at("id")},
                 {"result", result.toJson()},
                 {"verdicts", newVerdicts(evaluator->verdictCache(), reported)},
                 {"exiting", result.status == engine::EvalStatus::OutOfMemory}},
                std::move(result.module)};
    if (!engine::protocol::writeFrame(STDOUT_FILENO, reply)) return 1;
    // After an allocation failure nothing guarantees Binaryen's or Z3's state:
    // leave, and let the pool start a clean worker.
    if (result.status == engine::EvalStatus::OutOfMemory) return 0;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // One Binaryen thread per worker: parallelism comes from running workers.
  ::setenv("BINARYEN_CORES", "1", 1);
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], "--memory-limit") == 0) {
      const rlim_t bytes = std::strtoull(argv[i + 1], nullptr, 10);
      if (bytes > 0) {
        const rlimit limit{bytes, bytes};
        if (!loom::support::kAddressSanitizer) ::setrlimit(RLIMIT_AS, &limit);
        // Z3 crashes when an allocation fails; its own limit makes it give up
        // cleanly (an unknown verdict) while the process still has room.
        verify::limitSolverMemory(static_cast<int>(bytes / 2 / (1024 * 1024)));
      }
    }
  }
  leaveWithParent();
  try {
    return serve();
  } catch (const std::exception& e) {
    fmt::print(stderr, "loom-worker: {}\n", e.what());
    return 1;
  }
}
