#include "loom/engine/engine.hpp"

#include <fmt/format.h>

#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

namespace loom::engine {

double EngineCounters::memoHitRate() const {
  return requests ? static_cast<double>(memo_hits) / static_cast<double>(requests) : 0.0;
}

double EngineCounters::prefixReuseRate() const {
  const auto total = phases_run + phases_reused;
  return total ? static_cast<double>(phases_reused) / static_cast<double>(total) : 0.0;
}

nlohmann::json EngineCounters::toJson() const {
  return {{"requests", requests},
          {"memo_hits", memo_hits},
          {"output_hits", output_hits},
          {"memo_hit_rate", memoHitRate()},
          {"evaluations", evaluations},
          {"verified", verified},
          {"measured_only", measured_only},
          {"canceled", canceled},
          {"by_status", by_status},
          {"by_verdict", by_verdict},
          {"phases_run", phases_run},
          {"phases_reused", phases_reused},
          {"prefix_reuse_rate", prefixReuseRate()},
          {"functions_verified", functions_verified},
          {"functions_unchanged", functions_unchanged},
          {"seconds",
           {{"passes", time.passes},
            {"validation", time.validation},
            {"measuring", time.measuring},
            {"verification", time.verification},
            {"total", time.total}}},
          {"workers",
           // Worker processes that ended, by cause; candidates that failed
           // are counted in by_status (a worker that catches its own
           // out-of-memory survives it and is not counted here).
           {{"jobs", pool.jobs},
            {"processes_crashed", pool.crashes},
            {"processes_timed_out", pool.timeouts},
            {"processes_out_of_memory", pool.out_of_memory},
            {"restarts", pool.restarts},
            {"canceled", pool.canceled}}}};
}

std::chrono::milliseconds autoCandidateTimeout(std::size_t defined_functions,
                                               std::chrono::milliseconds function_budget,
                                               std::chrono::milliseconds module_budget,
                                               bool verify) {
  using namespace std::chrono_literals;
  std::chrono::milliseconds t = 120s;
  if (verify) {
    std::chrono::milliseconds solver = 3 * function_budget * static_cast<long>(defined_functions);
    if (module_budget.count() > 0) solver = std::min(solver, 3 * (module_budget + function_budget));
    t += 2 * solver;
  }
  return std::min<std::chrono::milliseconds>(t, 2h);
}

namespace {

std::size_t definedFunctions(const wasm::ModuleSource& source) {
  const wasm::Module m = wasm::instantiate(source);
  std::size_t n = 0;
  for (BinaryenIndex i = 0; i < BinaryenGetNumFunctions(m.get()); ++i) {
    if (BinaryenFunctionGetBody(BinaryenGetFunctionByIndex(m.get(), i))) ++n;  // imports have none
  }
  return n;
}

}  // namespace

struct Engine::Impl {
  EngineOptions options;
  // Before the pool: its thread calls the listener until the pool is gone.
  std::mutex progress_mutex;
  ProgressListener progress_listener;
  std::optional<std::chrono::steady_clock::time_point> deadline;  // guarded by `mutex`
  std::chrono::steady_clock::time_point stop_by = std::chrono::steady_clock::time_point::max();
  std::unique_ptr<WorkerPool> pool;

  mutable std::mutex mutex;
  using Memo =
      std::unordered_map<wasm::Hash128, std::shared_future<EvalResult>, wasm::Hash128Hasher>;
  Memo memo;           // verified results (or every result when verification is off)
  Memo measured_memo;  // Check::MeasureOnly results
  // Verified results by the hash of the module they verified.
  std::unordered_map<std::string, EvalResult> verified_outputs;
  EngineCounters counters;
  Listener listener;
  std::uint64_t next_id = 0;
  std::vector<std::string> keep_original;

  Impl(const wasm::ModuleSource& source, EngineOptions o) : options(std::move(o)) {
    if (options.workers == 0) options.workers = std::max(1u, std::thread::hardware_concurrency());
    if (options.candidate_timeout.count() == 0) {
      options.candidate_timeout = autoCandidateTimeout(
          definedFunctions(source), options.evaluator.verify_options.function_timeout,
          options.evaluator.verify_options.module_budget, options.verify);
    }
    WorkerPoolOptions pool_options;
    pool_options.worker_executable =
        options.worker_executable.empty() ? defaultWorkerExecutable() : options.worker_executable;
    pool_options.workers = options.workers;
    pool_options.job_timeout = options.candidate_timeout;
    pool_options.memory_limit_bytes = options.memory_limit_bytes;
    pool_options.on_progress = [this](unsigned worker, const nlohmann::json& frame) {
      std::lock_guard lock(progress_mutex);
      if (!progress_listener) return;
      progress_listener(Progress{
          worker, StepProgress{frame.value("step", 0u), frame.value("steps", std::size_t{0}),
                               frame.value("phase", ""), frame.value("decided", std::size_t{0}),
                               frame.value("changed", std::size_t{0})}});
    };
    nlohmann::json init = {
        {"name", source.name},
        {"format", source.format == wasm::SourceFormat::Text ? "text" : "binary"},
        {"features", source.features},
        {"strip_debug", source.strip_debug},
        {"options", options.evaluator.toJson()}};
    pool = std::make_unique<WorkerPool>(pool_options, std::move(init), source.bytes);
  }

  // Candidates that share their first phases go to the same worker, whose
  // prefix cache probably holds them.
  static std::uint64_t affinityOf(const pipeline::PipelineConfig& config, unsigned stride) {
    const auto keys = prefixKeys(config);
    return keys[std::min<std::size_t>(std::max(1u, stride), config.phases.size())].low;
  }

  bool verifies(Check check) const { return options.verify && check == Check::Verify; }

  // Whether a request has a memo entry of its own, which a cancellation must drop.
  enum class Memoized : bool { No, Yes };

  EvalResult runInWorker(const pipeline::PipelineConfig& config, bool want_module, Check check,
                         Memoized memoized) {
    try {
      return runInWorkerOrThrow(config, want_module, check, memoized);
    } catch (const std::exception& e) {
      EvalResult result;
      result.status = EvalStatus::Failed;
      result.reason = fmt::format("engine error: {}", e.what());
      record(config, result);
      return result;
    }
  }

  std::chrono::steady_clock::time_point stopBy() {
    std::lock_guard lock(mutex);
    return stop_by;
  }

  // The run's deadline and whether progress is wanted, as the worker takes them.
  void addLimits(nlohmann::json& request) {
    {
      std::lock_guard lock(mutex);
      if (deadline)
        request["seconds_left"] = std::max(
            0.0,
            std::chrono::duration<double>(*deadline - std::chrono::steady_clock::now()).count());
    }
    std::lock_guard lock(progress_mutex);
    if (progress_listener) request["progress"] = true;
  }

  EvalResult runInWorkerOrThrow(const pipeline::PipelineConfig& config, bool want_module,
                                Check check, Memoized memoized) {
    nlohmann::json request;
    {
      std::lock_guard lock(mutex);
      request["id"] = next_id++;
      if (!keep_original.empty()) request["keep_original"] = keep_original;
    }
    addLimits(request);
    request["config"] = config.toJson();
    request["verify"] = verifies(check);
    request["want_module"] = want_module;
    WorkerReply reply = pool->submit(std::move(request),
                                     affinityOf(config, options.evaluator.prefix_stride), stopBy())
                            .get();
    EvalResult result;
    switch (reply.kind) {
      case WorkerReply::Kind::Result:
        result = EvalResult::fromJson(reply.header.at("result"));
        break;
      case WorkerReply::Kind::Crashed:
        result.status = EvalStatus::Crashed;
        result.reason = reply.reason;
        break;
      case WorkerReply::Kind::TimedOut:
        result.status = EvalStatus::TimedOut;
        result.reason = reply.reason;
        break;
      case WorkerReply::Kind::OutOfMemory:
        result.status = EvalStatus::OutOfMemory;
        result.reason = reply.reason;
        break;
      case WorkerReply::Kind::Canceled:
        result.status = EvalStatus::Canceled;
        result.reason = "canceled before it finished";
        forget(config, check, memoized == Memoized::Yes);
        return result;
    }
    // Recorded without the bytes: what record keeps and tells listeners needs none.
    record(config, result);
    result.module = std::move(reply.payload);
    return result;
  }

  // A canceled evaluation leaves no memo entry: the same request later runs
  // anew. Its own entry is the one still pending (a finished one is a real result).
  void forget(const pipeline::PipelineConfig& config, Check check, bool owns_memo_entry) {
    std::lock_guard lock(mutex);
    ++counters.canceled;
    if (!owns_memo_entry) return;
    Memo& own = verifies(check) ? memo : measured_memo;
    const auto it = own.find(config.key());
    if (it != own.end() &&
        it->second.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
      own.erase(it);
  }

  void record(const pipeline::PipelineConfig& config, const EvalResult& result) {
    Listener notify;
    {
      std::lock_guard lock(mutex);
      auto& c = counters;
      ++c.evaluations;
      ++c.by_status[std::string(statusName(result.status))];
      if (result.verification) {
        ++c.by_verdict[std::string(verify::verdictName(result.verification->overall))];
        const auto& v = *result.verification;
        c.functions_verified += v.proved + v.bounded + v.refuted + v.unknown;
        c.functions_unchanged += v.unchanged;
      }
      if (result.verified(true)) ++c.verified;
      if (result.status == EvalStatus::Ok && result.verification && !result.output_hash.empty() &&
          !verified_outputs.count(result.output_hash)) {
        verified_outputs.emplace(result.output_hash, withoutModule(result, false));
      }
      if (result.status == EvalStatus::Ok && !result.verification && options.verify)
        ++c.measured_only;
      c.phases_reused += result.phases_reused;
      c.phases_run +=
          config.phases.size() - std::min<std::size_t>(config.phases.size(), result.phases_reused);
      c.time.passes += result.times.passes;
      c.time.validation += result.times.validation;
      c.time.measuring += result.times.measuring;
      c.time.verification += result.times.verification;
      c.time.total += result.times.total;
      notify = listener;
    }
    if (notify) notify(config, result);
  }

  // A measurement may be answered by a verified result: it measured the same
  // module (after the same repairs) and says more.
  std::shared_future<EvalResult> lookupOrStart(const pipeline::PipelineConfig& config, Check check,
                                               bool& started, std::promise<EvalResult>& promise) {
    const wasm::Hash128 key = config.key();
    std::lock_guard lock(mutex);
    ++counters.requests;
    if (auto it = memo.find(key); it != memo.end()) {
      ++counters.memo_hits;
      started = false;
      return it->second;
    }
    if (verifies(check)) {
      if (auto known = verifiedSameOutput(key)) {
        ++counters.memo_hits;
        ++counters.output_hits;
        started = false;
        std::promise<EvalResult> answered;
        answered.set_value(std::move(*known));
        auto future = answered.get_future().share();
        memo.emplace(key, future);
        return future;
      }
    }
    Memo& own = verifies(check) ? memo : measured_memo;
    if (auto it = own.find(key); it != own.end()) {
      ++counters.memo_hits;
      started = false;
      return it->second;
    }
    started = true;
    auto future = promise.get_future().share();
    own.emplace(key, future);
    return future;
  }

  // A candidate measured before (screening measures first) whose bytes were
  // already verified under another pipeline. Caller holds the mutex.
  std::optional<EvalResult> verifiedSameOutput(const wasm::Hash128& key) const {
    const auto measured = measured_memo.find(key);
    if (measured == measured_memo.end()) return std::nullopt;
    if (measured->second.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
      return std::nullopt;
    const EvalResult& m = measured->second.get();
    if (m.status != EvalStatus::Ok || m.output_hash.empty()) return std::nullopt;
    const auto verified = verified_outputs.find(m.output_hash);
    if (verified == verified_outputs.end()) return std::nullopt;
    EvalResult answer = verified->second;
    answer.phases_reused = m.phases_reused;
    answer.times = m.times;
    return answer;
  }

  // A new evaluation for the memo. A verification also brings back the bytes
  // it verified, for its caller only: the search keeps the best candidate's,
  // so its answer needs no second run (the memo keeps no bytes).
  EvalResult runFresh(const pipeline::PipelineConfig& config, Check check,
                      std::promise<EvalResult>& promise) {
    EvalResult fresh = runInWorker(config, verifies(check), check, Memoized::Yes);
    wasm::Bytes bytes = std::move(fresh.module);
    fresh.module.clear();
    fresh.memo_hit = false;
    promise.set_value(fresh);
    if (fresh.verified(/*allow_bounded=*/true)) fresh.module = std::move(bytes);
    return fresh;
  }

  EvalResult withoutModule(EvalResult r, bool memo_hit) {
    r.module.clear();
    r.memo_hit = memo_hit;
    return r;
  }
};

Engine::Engine(const wasm::ModuleSource& source, EngineOptions options)
    : impl_(std::make_unique<Impl>(source, std::move(options))) {}

Engine::~Engine() = default;

EvalResult Engine::evaluateRetryingCrashes(const pipeline::PipelineConfig& config,
                                           unsigned attempts) {
  EvalResult result = evaluate(config);
  // Out of memory too: mostly Z3's limit, and a fresh worker starts with it free.
  for (unsigned i = 1; i < attempts && (result.status == EvalStatus::Crashed ||
                                        result.status == EvalStatus::OutOfMemory);
       ++i) {
    {
      std::lock_guard lock(impl_->mutex);
      impl_->memo.erase(config.key());
      impl_->measured_memo.erase(config.key());
    }
    result = evaluate(config);
  }
  return result;
}

void Engine::warmUp(const pipeline::PipelineConfig& config) {
  const unsigned n = impl_->options.workers;
  if (n < 2 || !impl_->verifies(Check::Verify) || !impl_->options.evaluator.stepwise) return;
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->memo.count(config.key())) return;
  }
  std::vector<std::future<WorkerReply>> replies;
  for (unsigned k = 0; k < n; ++k) {
    nlohmann::json request;
    {
      std::lock_guard lock(impl_->mutex);
      request["id"] = impl_->next_id++;
    }
    impl_->addLimits(request);
    request["config"] = config.toJson();
    request["verify"] = true;
    request["want_module"] = false;
    request["shard"] = {k, n};
    replies.push_back(impl_->pool->submit(std::move(request), k, impl_->stopBy()));
  }
  for (auto& reply : replies) reply.wait();
}

EvalResult Engine::evaluate(const pipeline::PipelineConfig& config, Check check) {
  std::promise<EvalResult> promise;
  bool started = false;
  auto future = impl_->lookupOrStart(config, check, started, promise);
  if (started) return impl_->runFresh(config, check, promise);
  return impl_->withoutModule(future.get(), true);
}

std::vector<EvalResult> Engine::evaluateBatch(const std::vector<pipeline::PipelineConfig>& configs,
                                              Check check) {
  // Each new candidate gets a thread that waits on its worker; the pool runs
  // as many at once as there are workers.
  std::vector<std::promise<EvalResult>> promises(configs.size());
  std::vector<std::shared_future<EvalResult>> futures(configs.size());
  std::vector<bool> started(configs.size());
  std::vector<EvalResult> fresh(configs.size());
  std::vector<std::thread> waiters;
  for (std::size_t i = 0; i < configs.size(); ++i) {
    bool s = false;
    futures[i] = impl_->lookupOrStart(configs[i], check, s, promises[i]);
    started[i] = s;
    if (s) {
      waiters.emplace_back([this, &configs, &promises, &fresh, i, check] {
        fresh[i] = impl_->runFresh(configs[i], check, promises[i]);
      });
    }
  }
  for (auto& t : waiters) t.join();
  std::vector<EvalResult> results;
  results.reserve(configs.size());
  for (std::size_t i = 0; i < configs.size(); ++i) {
    results.push_back(started[i] ? std::move(fresh[i])
                                 : impl_->withoutModule(futures[i].get(), true));
  }
  return results;
}

EvalResult Engine::evaluateWithModule(const pipeline::PipelineConfig& config) {
  return impl_->runInWorker(config, true, Check::Verify, Impl::Memoized::No);
}

void Engine::remember(const pipeline::PipelineConfig& config, const EvalResult& result) {
  std::promise<EvalResult> promise;
  promise.set_value(impl_->withoutModule(result, false));
  const bool measured_only =
      impl_->options.verify && result.status == EvalStatus::Ok && !result.verification;
  std::lock_guard lock(impl_->mutex);
  (measured_only ? impl_->measured_memo : impl_->memo)
      .emplace(config.key(), promise.get_future().share());
}

void Engine::cancelPending() {
  impl_->pool->cancelAll();
}

void Engine::keepOriginal(std::vector<std::string> functions) {
  std::lock_guard lock(impl_->mutex);
  impl_->keep_original = std::move(functions);
}

void Engine::setProgressListener(ProgressListener listener) {
  std::lock_guard lock(impl_->progress_mutex);
  impl_->progress_listener = std::move(listener);
}

void Engine::setDeadline(std::optional<std::chrono::steady_clock::time_point> deadline,
                         std::chrono::milliseconds grace) {
  std::lock_guard lock(impl_->mutex);
  impl_->deadline = deadline;
  impl_->stop_by = deadline ? *deadline + grace : std::chrono::steady_clock::time_point::max();
}

void Engine::setListener(Listener listener) {
  std::lock_guard lock(impl_->mutex);
  impl_->listener = std::move(listener);
}

EngineCounters Engine::counters() const {
  std::lock_guard lock(impl_->mutex);
  EngineCounters c = impl_->counters;
  c.pool = impl_->pool->stats();
  return c;
}

unsigned Engine::workers() const {
  return impl_->pool->size();
}

const EngineOptions& Engine::options() const {
  return impl_->options;
}

}  // namespace loom::engine
