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
};

VerdictCache::VerdictCache() : impl_(std::make_unique<Impl>()) {}
VerdictCache::~VerdictCache() = default;

std::optional<FunctionVerdict> VerdictCache::find(const wasm::Hash128& key) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->entries.find(key);
  if (it == impl_->entries.end()) {
    ++impl_->misses;
    return std::nullopt;
  }
  ++impl_->hits;
  return it->second;
}

void VerdictCache::insert(const wasm::Hash128& key, const FunctionVerdict& verdict) {
  std::lock_guard lock(impl_->mutex);
  FunctionVerdict stored = verdict;
  stored.cached = false;
  impl_->entries.insert_or_assign(key, std::move(stored));
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
    out.push_back({{"key", key.hex()}, {"verdict", verdict.toJson()}});
  }
  return out;
}

void VerdictCache::importEntries(const nlohmann::json& entries) {
  for (const auto& e : entries) {
    insert(wasm::Hash128::fromHex(e.at("key").get<std::string>()),
           FunctionVerdict::fromJson(e.at("verdict")));
  }
}

}  // namespace loom::verify
