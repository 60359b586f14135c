// Reading a checkpoint back for --resume. A checkpoint is a hint from an
// earlier run, not a proof: every field is checked, and a damaged, edited or
// foreign file is refused in one line that names the file and the field.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace loom::driver {

class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What a checkpoint must match to be resumed from.
struct CheckpointExpectation {
  std::string schema;            // "loom-evolve-checkpoint/1", ...
  std::string subject_field;     // "module_sha256" or "corpus"
  std::string subject;           // the value this run has
  std::string subject_mismatch;  // "was made for a different module"
  nlohmann::json identity;       // RunOptions::searchIdentity()
  bool has_evaluations = false;  // whether the file counts evaluations
};

struct Checkpoint {
  nlohmann::json json;  // the whole file, checked at the top level
  unsigned generation = 0;
  double elapsed_seconds = 0;
  std::uint64_t evaluations = 0;
};

// The largest generation number a checkpoint may claim.
inline constexpr std::uint64_t kMaxGenerations = 10'000'000;

// Throws CheckpointError: "cannot resume from FILE: ...".
Checkpoint readCheckpoint(const std::filesystem::path& path, const CheckpointExpectation& expected);

class Archipelago;

// Puts the checkpoint's islands into `islands` and checks its archive, so
// that a damaged checkpoint is refused before any set-up work.
void restoreIslands(Archipelago& islands, const Checkpoint& checkpoint,
                    const std::filesystem::path& path);

// Reads `field` of `j` as a whole number in [0, max]: one line naming the
// field otherwise (negative, fractional, overflowing or not a number).
std::uint64_t wholeNumberField(const nlohmann::json& j, const std::string& field,
                               std::uint64_t max);

}  // namespace loom::driver
