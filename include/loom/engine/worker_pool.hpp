// A pool of loom-worker processes fed over pipes. Each candidate runs in a
// worker with a time and memory limit; a worker that crashes, hangs or runs
// out of memory is replaced, and only that candidate fails.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "loom/wasm/module.hpp"

namespace loom::engine {

struct WorkerPoolOptions {
  std::string worker_executable;  // path of loom-worker
  unsigned workers = 1;
  std::chrono::milliseconds job_timeout{60000};
  std::uint64_t memory_limit_bytes = 0;  // RLIMIT_AS per worker; 0 = none
  // Called on the pool's own thread with each "progress" frame a worker
  // sends while it works (see loom-worker): keep it short, and do not call
  // back into the pool from it.
  std::function<void(unsigned worker, const nlohmann::json& progress)> on_progress;
};

struct WorkerReply {
  enum class Kind { Result, Crashed, TimedOut, OutOfMemory, Canceled } kind = Kind::Result;
  nlohmann::json header;  // the worker's reply when kind == Result
  wasm::Bytes payload;
  std::string reason;  // what happened otherwise, one line
};

struct WorkerPoolStats {
  std::uint64_t jobs = 0, crashes = 0, timeouts = 0, out_of_memory = 0, restarts = 0, canceled = 0;
};

class WorkerPool {
 public:
  // `init` is sent to every worker when it starts (and restarts); `init_payload` with it.
  WorkerPool(WorkerPoolOptions options, nlohmann::json init, wasm::Bytes init_payload);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Queues a request; `affinity` prefers the worker affinity % workers, whose
  // caches probably hold related work. A job still running at `stop_by` (or
  // past the job timeout) is ended like a hung one. The future never throws.
  std::future<WorkerReply> submit(
      nlohmann::json request, std::uint64_t affinity,
      std::chrono::steady_clock::time_point stop_by = std::chrono::steady_clock::time_point::max());

  // Added to the init message of workers started from now on, and sent with the
  // next request to each running worker (verdicts learned elsewhere).
  void broadcast(const nlohmann::json& verdict_entries);

  // Ends every job submitted so far: queued ones at once, running ones by
  // killing their workers (which are replaced). Their futures get Canceled.
  // Jobs submitted afterwards run as usual.
  void cancelAll();

  WorkerPoolStats stats() const;
  unsigned size() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Where loom-worker is: $LOOM_WORKER, else beside the running executable,
// else the build tree's copy.
std::string defaultWorkerExecutable();

}  // namespace loom::engine
