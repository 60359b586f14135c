// The proof store: verdicts on disk (SQLite, WAL), shared by every process
// and run that verifies (searches, tune, apply, their workers), so that a
// verdict is paid for once. A key is the verifier's cache key (everything a
// verdict depends on: both bodies, the callees executed, the module context,
// the options) combined with the identity of the verifier itself (its
// sources and Z3's version): an entry of another build, or made under other
// options or context, can never be found.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "loom/verify/verifier.hpp"

namespace loom::engine {

class ProofStore : public verify::VerdictStore {
 public:
  // Opens (creating) the store at `path`. A file that is not a proof store
  // (another SQLite database, or not a database) is refused with
  // ProofStoreError; a corrupt store is moved aside and made anew.
  // `identity` is currentIdentity() but in tests of what another build would see.
  explicit ProofStore(const std::filesystem::path& path, std::string identity = currentIdentity());
  ~ProofStore() override;

  std::optional<verify::FunctionVerdict> find(const wasm::Hash128& key) override;
  void insert(const wasm::Hash128& key, const verify::FunctionVerdict& verdict) override;

  // Rows, hits and failed reads or writes (a locked or failing disk is a
  // miss, never an error of the run) since this process opened it.
  std::uint64_t size() const;
  std::uint64_t hits() const;
  std::uint64_t errors() const;
  // Set when the store was corrupt and made anew: one line for the user.
  const std::string& note() const;

  // What keys include besides the verifier's own key.
  static std::string currentIdentity();
  // $LOOM_PROOF_STORE, else $XDG_CACHE_HOME/loom-evolve/proofs.db, else
  // ~/.cache/loom-evolve/proofs.db.
  static std::filesystem::path defaultPath();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class ProofStoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace loom::engine
