// The verdict cache: a map from the key of everything a verdict depends on.
#include <atomic>
#include <mutex>
#include <unordered_map>

#include "loom/verify/verifier.hpp"

namespace loom::verify {

struct VerdictCache::Impl {
  mutable std::mutex mutex;
  std::unordered_map<wasm::Hash128, FunctionVerdict, wasm::Hash128Hasher> entries;
  mutable std::atomic<std::uint64_t> hits{0};
  mutable std::atomic<std::uint64_t> misses{0};
  mutable std::atomic<std::uint64_t> store_hits{0};
  std::shared_ptr<VerdictStore> store;
};

namespace {

// Whether a verdict says something of the two functions, not of the
// process that checked them (its memory, a solver error): only those are
// worth keeping beyond it. An unknown within the solver's budget is kept (the
// budget is part of the key, and an unknown only ever undoes a step).
bool keepable(const FunctionVerdict& v) {
  if (v.verdict != Verdict::Unknown) return true;
  // An unknown that a wall-clock limit decided depends on how busy the
  // machine was; a later run may do better, so it is not persisted.
  return v.reason.find("out of memory") == std::string::npos &&
         v.reason.find("Z3 error") == std::string::npos &&
         v.reason.find("not checked") == std::string::npos &&
         v.reason.find("wall-clock") == std::string::npos;
}

}  // namespace

VerdictCache::VerdictCache() : impl_(std::make_unique<Impl>()) {}
VerdictCache::~VerdictCache() = default;

std::optional<FunctionVerdict> VerdictCache::find(const wasm::Hash128& key) const {
  std::shared_ptr<VerdictStore> store;
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->entries.find(key);
    if (it != impl_->entries.end()) {
      ++impl_->hits;
      return it->second;
    }
    store = impl_->store;
  }
  if (store) {
    if (auto stored = store->find(key); stored && keepable(*stored)) {
      ++impl_->hits;
      ++impl_->store_hits;
      stored->cached = false;
      std::lock_guard lock(impl_->mutex);
      impl_->entries.insert_or_assign(key, *stored);
      return stored;
    }
  }
  ++impl_->misses;
  return std::nullopt;
}

void VerdictCache::insert(const wasm::Hash128& key, const FunctionVerdict& verdict) {
  FunctionVerdict stored = verdict;
  stored.cached = false;
  std::shared_ptr<VerdictStore> store;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->entries.insert_or_assign(key, stored);
    store = impl_->store;
  }
  if (store && keepable(stored)) store->insert(key, stored);
}

void VerdictCache::attachStore(std::shared_ptr<VerdictStore> store) {
  std::lock_guard lock(impl_->mutex);
  impl_->store = std::move(store);
}

std::uint64_t VerdictCache::storeHits() const {
  return impl_->store_hits;
}

std::size_t VerdictCache::size() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->entries.size();
}

std::uint64_t VerdictCache::hits() const {
  return impl_->hits;
}
std::uint64_t VerdictCache::misses() const {
  return impl_->misses;
}

nlohmann::json VerdictCache::exportEntries() const {
  std::lock_guard lock(impl_->mutex);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [key, verdict] : impl_->entries) {
    // What another process may take as its own: an unknown that this
    // process's load decided is not (that process may have time for it).
    if (keepable(verdict)) out.push_back({{"key", key.hex()}, {"verdict", verdict.toJson()}});
  }
  return out;
}

void VerdictCache::importEntries(const nlohmann::json& entries) {
  // Another worker's verdicts: that worker has stored them already.
  for (const auto& e : entries) {
    FunctionVerdict v = FunctionVerdict::fromJson(e.at("verdict"));
    v.cached = false;
    std::lock_guard lock(impl_->mutex);
    impl_->entries.insert_or_assign(wasm::Hash128::fromHex(e.at("key").get<std::string>()),
                                    std::move(v));
  }
}

}  // namespace loom::verify
