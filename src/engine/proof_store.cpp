#include "loom/engine/proof_store.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <system_error>

#include "loom/engine/verifier_identity.hpp"

namespace loom::engine {

namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS loom_proof_store(version INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS loom_proofs(key TEXT PRIMARY KEY, verdict TEXT NOT NULL) "
    "WITHOUT ROWID;";

struct Statement {
  sqlite3_stmt* stmt = nullptr;
  ~Statement() { sqlite3_finalize(stmt); }
};

bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

// Names of the tables of `db`; nullopt when it cannot be read as a database.
std::optional<std::vector<std::string>> tables(sqlite3* db) {
  Statement s;
  if (sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type='table'", -1, &s.stmt,
                         nullptr) != SQLITE_OK)
    return std::nullopt;
  std::vector<std::string> names;
  int rc;
  while ((rc = sqlite3_step(s.stmt)) == SQLITE_ROW)
    names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 0)));
  if (rc != SQLITE_DONE) return std::nullopt;
  return names;
}

}  // namespace

struct ProofStore::Impl {
  sqlite3* db = nullptr;
  std::mutex mutex;  // one connection, used from the threads of one process
  std::string identity;
  std::string note;
  std::atomic<std::uint64_t> hits{0}, errors{0};

  ~Impl() { sqlite3_close(db); }

  std::string keyOf(const wasm::Hash128& key) const {
    return wasm::hashString(identity + "|" + key.hex()).hex();
  }

  // Opens `path` as a proof store: "" when done, else why not.
  std::string open(const std::filesystem::path& path, bool& corrupt) {
    corrupt = false;
    sqlite3_close(db);
    db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
        SQLITE_OK)
      return db ? sqlite3_errmsg(db) : "cannot open";
    sqlite3_busy_timeout(db, 10000);
    const auto names = tables(db);
    if (!names) {
      corrupt = true;
      return sqlite3_errmsg(db);
    }
    bool ours = false;
    for (const auto& n : *names) ours = ours || n == "loom_proof_store";
    if (!names->empty() && !ours) return "it is an SQLite database of something else";
    if (!exec(db, "PRAGMA journal_mode=WAL") || !exec(db, "PRAGMA synchronous=NORMAL") ||
        !exec(db, kSchema)) {
      corrupt = true;
      return sqlite3_errmsg(db);
    }
    if (!ours && !exec(db, "INSERT INTO loom_proof_store(version) VALUES (1)"))
      return sqlite3_errmsg(db);
    return {};
  }
};

ProofStore::ProofStore(const std::filesystem::path& path, std::string identity)
    : impl_(std::make_unique<Impl>()) {
  impl_->identity = std::move(identity);
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  bool corrupt = false;
  std::string why = impl_->open(path, corrupt);
  if (!why.empty() && corrupt) {
    // Never trusted: moved aside (kept for a look), and a new store made.
    const std::filesystem::path aside = path.string() + ".corrupt";
    sqlite3_close(impl_->db);
    impl_->db = nullptr;
    std::filesystem::rename(path, aside, ec);
    for (const char* suffix : {"-wal", "-shm"}) std::filesystem::remove(path.string() + suffix, ec);
    impl_->note = fmt::format("proof store {} was unreadable ({}); moved to {} and made anew",
                              path.string(), why, aside.string());
    why = impl_->open(path, corrupt);
  }
  if (!why.empty()) throw ProofStoreError(fmt::format("proof store {}: {}", path.string(), why));
}

ProofStore::~ProofStore() = default;

std::optional<verify::FunctionVerdict> ProofStore::find(const wasm::Hash128& key) {
  std::lock_guard lock(impl_->mutex);
  Statement s;
  if (sqlite3_prepare_v2(impl_->db, "SELECT verdict FROM loom_proofs WHERE key=?", -1, &s.stmt,
                         nullptr) != SQLITE_OK) {
    ++impl_->errors;
    return std::nullopt;
  }
  const std::string k = impl_->keyOf(key);
  sqlite3_bind_text(s.stmt, 1, k.c_str(), static_cast<int>(k.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(s.stmt);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) {
    ++impl_->errors;
    return std::nullopt;
  }
  try {
    const char* text = reinterpret_cast<const char*>(sqlite3_column_text(s.stmt, 0));
    verify::FunctionVerdict v = verify::FunctionVerdict::fromJson(nlohmann::json::parse(text));
    ++impl_->hits;
    return v;
  } catch (const std::exception&) {
    ++impl_->errors;  // an unreadable row is a miss, never a verdict
    return std::nullopt;
  }
}

void ProofStore::insert(const wasm::Hash128& key, const verify::FunctionVerdict& verdict) {
  std::lock_guard lock(impl_->mutex);
  Statement s;
  if (sqlite3_prepare_v2(impl_->db, "INSERT OR IGNORE INTO loom_proofs(key, verdict) VALUES (?, ?)",
                         -1, &s.stmt, nullptr) != SQLITE_OK) {
    ++impl_->errors;
    return;
  }
  const std::string k = impl_->keyOf(key);
  verify::FunctionVerdict stored = verdict;
  stored.cached = false;
  const std::string text = stored.toJson().dump();
  sqlite3_bind_text(s.stmt, 1, k.c_str(), static_cast<int>(k.size()), SQLITE_TRANSIENT);
  sqlite3_bind_text(s.stmt, 2, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  if (sqlite3_step(s.stmt) != SQLITE_DONE) ++impl_->errors;
}

std::uint64_t ProofStore::size() const {
  std::lock_guard lock(impl_->mutex);
  Statement s;
  if (sqlite3_prepare_v2(impl_->db, "SELECT count(*) FROM loom_proofs", -1, &s.stmt, nullptr) !=
          SQLITE_OK ||
      sqlite3_step(s.stmt) != SQLITE_ROW)
    return 0;
  return static_cast<std::uint64_t>(sqlite3_column_int64(s.stmt, 0));
}

std::uint64_t ProofStore::hits() const {
  return impl_->hits;
}

std::uint64_t ProofStore::errors() const {
  return impl_->errors;
}

const std::string& ProofStore::note() const {
  return impl_->note;
}

std::string ProofStore::currentIdentity() {
  return fmt::format("loom-proof-store-1|verifier {}|z3 {}", LOOM_VERIFIER_IDENTITY,
                     verify::solverVersion());
}

std::filesystem::path ProofStore::defaultPath() {
  if (const char* p = std::getenv("LOOM_PROOF_STORE"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return std::filesystem::path(x) / "loom-evolve" / "proofs.db";
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : ".") / ".cache" / "loom-evolve" / "proofs.db";
}

}  // namespace loom::engine
