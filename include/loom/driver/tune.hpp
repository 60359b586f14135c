// `loom-evolve tune CORPUS_DIR`: one search over many modules. A pipeline's
// fitness is the geometric mean, over the training modules, of each module's
// verified size as a ratio to its own wasm-opt -Oz result; the winner is a
// recommended configuration, then checked on the held-out test modules.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loom/driver/driver.hpp"
#include "loom/driver/run_options.hpp"

namespace loom::driver {

struct CorpusModule {
  std::string name;
  std::string split;  // "train" or "test"
  std::filesystem::path path;
};

// A corpus directory: manifest.tsv (as scripts/fetch-corpus writes it: name,
// split, bytes, sha256, path) if present, otherwise every *.wasm file, all
// for training. Throws (one line) for an empty or unreadable corpus.
std::vector<CorpusModule> readCorpus(const std::filesystem::path& directory);

// `options.module` is the corpus directory; `options.output`, if set,
// receives the recommended configuration (JSON, for `loom-evolve apply`).
RunOutcome runTune(const RunOptions& options);

}  // namespace loom::driver
