// libFuzzer target for the files a run reads back and must not trust: a
// pipeline configuration (`apply CONFIG`), a checkpoint (`--resume`) and an
// evaluation log (`--log`). The first input byte picks which one. Any input
// must give either a value or the reader's own one-line error, never a
// crash, a sanitizer report or a stray exception (nlohmann's included).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "checkpoint.hpp"
#include "loom/driver/evaluation_log.hpp"
#include "loom/pipeline/config.hpp"
#include "loom/support/files.hpp"

namespace {

[[noreturn]] void fail(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "run_files_fuzzer: %.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

void checkMessage(std::string_view where, const std::string& message) {
  if (message.empty()) fail(where, "empty error message");
  if (message.find('\n') != std::string::npos) fail(where, "error message spans lines: " + message);
  if (message.find("json.exception") != std::string::npos)
    fail(where, "a raw JSON library message reached the user: " + message);
}

std::filesystem::path scratch(const char* name) {
  return std::filesystem::temp_directory_path() /
         (std::string("loom-run-files-fuzzer-") + std::to_string(::getpid()) + "-" + name);
}

void configuration(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return;
  try {
    const auto config = loom::pipeline::PipelineConfig::fromJson(j);
    // What was accepted round-trips.
    if (loom::pipeline::PipelineConfig::fromJson(config.toJson()) != config)
      fail("configuration", "does not round-trip: " + config.canonicalText());
  } catch (const loom::pipeline::ConfigError& e) {
    checkMessage("configuration", e.what());
  }
}

void checkpoint(std::string_view text) {
  const auto path = scratch("checkpoint.json");
  loom::support::writeFileAtomic(path, text);
  try {
    (void)loom::driver::readCheckpoint(
        path, {"loom-evolve-checkpoint/1", "module_sha256", "abc",
               "was made for a different module", nlohmann::json::object(), true});
  } catch (const loom::driver::CheckpointError& e) {
    checkMessage("checkpoint", e.what());
  }
  std::filesystem::remove(path);
}

void log(std::string_view bytes) {
  const auto path = scratch("log.db");
  loom::support::writeFileAtomic(path, bytes);
  try {
    loom::driver::EvaluationLog log(path);
    log.forEachKnown("abc", "", [](const auto&, const auto&) {});
  } catch (const loom::driver::LogError& e) {
    checkMessage("log", e.what());
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + suffix);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      configuration(rest);
      break;
    case 1:
      checkpoint(rest);
      break;
    default:
      log(rest);
      break;
  }
  return 0;
}
