#include "loom/engine/worker_pool.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "protocol.hpp"

namespace loom::engine {

namespace {

using Clock = std::chrono::steady_clock;

struct Job {
  nlohmann::json request;
  std::uint64_t affinity = 0;
  Clock::time_point stop_by = Clock::time_point::max();
  std::promise<WorkerReply> promise;
};

struct Worker {
  enum class State { Starting, Idle, Busy, Leaving, Dead } state = State::Dead;
  pid_t pid = -1;
  int in = -1, out = -1, err = -1;
  protocol::FrameDecoder decoder;
  std::optional<Job> job;
  Clock::time_point deadline;
  std::string stderr_tail;
  std::size_t verdicts_sent = 0;
  int failed_starts = 0;
  bool cancel = false;  // its job was canceled: the I/O loop kills it
};

void closeFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string lastLine(const std::string& text) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  const auto nl = t.rfind('\n');
  std::string line = nl == std::string::npos ? t : t.substr(nl + 1);
  if (line.size() > 200) line = line.substr(0, 200) + "...";
  return line;
}

}  // namespace

std::string defaultWorkerExecutable() {
  if (const char* env = std::getenv("LOOM_WORKER"); env && *env) return env;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto beside = self.parent_path() / "loom-worker";
    if (std::filesystem::exists(beside, ec)) return beside.string();
  }
#ifdef LOOM_WORKER_BUILD_PATH
  return LOOM_WORKER_BUILD_PATH;
#else
  return "loom-worker";
#endif
}

struct WorkerPool::Impl {
  WorkerPoolOptions options;
  nlohmann::json init;
  wasm::Bytes init_payload;

  mutable std::mutex mutex;
  std::deque<Job> queue;
  std::vector<Worker> workers;
  std::vector<nlohmann::json> verdict_log;
  WorkerPoolStats stats;
  bool stopping = false;
  std::string broken;  // why workers cannot start, once that is certain
  int wake[2] = {-1, -1};
  std::thread io;

  Impl(WorkerPoolOptions o, nlohmann::json i, wasm::Bytes p)
      : options(std::move(o)), init(std::move(i)), init_payload(std::move(p)) {
    // A worker that dies while we write to it must not kill us with SIGPIPE.
    ::signal(SIGPIPE, SIG_IGN);
    if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("pipe failed");
    workers.resize(std::max(1u, options.workers));
    std::lock_guard lock(mutex);
    for (Worker& w : workers) spawn(w);
    io = std::thread([this] { loop(); });
  }

  ~Impl() {
    {
      std::lock_guard lock(mutex);
      stopping = true;
    }
    poke();
    io.join();
    closeFd(wake[0]);
    closeFd(wake[1]);
  }

  void poke() {
    const char c = 1;
    [[maybe_unused]] ssize_t n = ::write(wake[1], &c, 1);
  }

  void spawn(Worker& w) {
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC)) {
      broken = "cannot create pipes for a worker";
      return;
    }
    const std::string limit = std::to_string(options.memory_limit_bytes);
    std::vector<char*> argv = {const_cast<char*>(options.worker_executable.c_str()),
                               const_cast<char*>("--memory-limit"),
                               const_cast<char*>(limit.c_str()), nullptr};
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::dup2(in[0], STDIN_FILENO);
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err[1], STDERR_FILENO);
      ::execv(argv[0], argv.data());
      const char msg[] = "loom-worker: cannot execute the worker program\n";
      [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, msg, sizeof msg - 1);
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    if (pid < 0) {
      ::close(in[1]);
      ::close(out[0]);
      ::close(err[0]);
      broken = fmt::format("cannot start a worker: {}", std::strerror(errno));
      return;
    }
    w = Worker{};
    w.pid = pid;
    w.in = in[1];
    w.out = out[0];
    w.err = err[0];
    ::fcntl(w.out, F_SETFL, O_NONBLOCK);
    ::fcntl(w.err, F_SETFL, O_NONBLOCK);
    w.state = Worker::State::Starting;
    nlohmann::json header = init;
    header["type"] = "init";
    header["verdicts"] = verdict_log;
    w.verdicts_sent = verdict_log.size();
    if (!protocol::writeFrame(w.in, protocol::Frame{header, init_payload})) {
      // It died at once; the read side will see the end and report it.
      closeFd(w.in);
    }
  }

  // Reaps a dead worker and says why it died.
  WorkerReply bury(Worker& w, bool killed_for_timeout) {
    if (w.pid > 0) {
      if (killed_for_timeout) ::kill(w.pid, SIGKILL);
      int status = 0;
      if (!killed_for_timeout) {
        // It closed its output; give it a moment to exit before forcing it.
        for (int i = 0; i < 200 && ::waitpid(w.pid, &status, WNOHANG) == 0; ++i) ::usleep(5000);
        if (::waitpid(w.pid, &status, WNOHANG) == 0) {
          ::kill(w.pid, SIGKILL);
          ::waitpid(w.pid, &status, 0);
        }
      } else {
        ::waitpid(w.pid, &status, 0);
      }
      drainStderr(w);
      WorkerReply reply;
      const std::string tail = lastLine(w.stderr_tail);
      if (killed_for_timeout) {
        reply.kind = WorkerReply::Kind::TimedOut;
        reply.reason =
            w.job && w.job->stop_by <= w.deadline
                ? std::string("still running when the run's time was up")
                : fmt::format("over the time limit of {} ms", options.job_timeout.count());
      } else if (w.stderr_tail.find("bad_alloc") != std::string::npos ||
                 w.stderr_tail.find("out of memory") != std::string::npos ||
                 w.stderr_tail.find("Cannot allocate memory") != std::string::npos) {
        reply.kind = WorkerReply::Kind::OutOfMemory;
        reply.reason =
            fmt::format("over the memory limit ({})", tail.empty() ? "allocation failed" : tail);
      } else {
        reply.kind = WorkerReply::Kind::Crashed;
        std::string how = WIFSIGNALED(status) ? fmt::format("signal {} ({})", WTERMSIG(status),
                                                            ::strsignal(WTERMSIG(status)))
                                              : fmt::format("exit code {}", WEXITSTATUS(status));
        reply.reason = tail.empty() ? fmt::format("worker died: {}", how)
                                    : fmt::format("worker died: {}: {}", how, tail);
      }
      closeFd(w.in);
      closeFd(w.out);
      closeFd(w.err);
      w.pid = -1;
      w.state = Worker::State::Dead;
      return reply;
    }
    return WorkerReply{WorkerReply::Kind::Crashed, {}, {}, "worker missing"};
  }

  void drainStderr(Worker& w) {
    char buffer[4096];
    while (w.err >= 0) {
      const ssize_t n = ::read(w.err, buffer, sizeof buffer);
      if (n <= 0) break;
      w.stderr_tail.append(buffer, static_cast<std::size_t>(n));
      if (w.stderr_tail.size() > 16384) w.stderr_tail.erase(0, w.stderr_tail.size() - 8192);
    }
  }

  void finishJob(Worker& w, WorkerReply reply) {
    if (!w.job) return;
    switch (reply.kind) {
      case WorkerReply::Kind::Crashed:
        ++stats.crashes;
        break;
      case WorkerReply::Kind::TimedOut:
        ++stats.timeouts;
        break;
      case WorkerReply::Kind::OutOfMemory:
        ++stats.out_of_memory;
        break;
      case WorkerReply::Kind::Canceled:
        ++stats.canceled;
        break;
      case WorkerReply::Kind::Result:
        break;
    }
    w.job->promise.set_value(std::move(reply));
    w.job.reset();
    w.cancel = false;
  }

  // A worker ended (crash, timeout, cancellation): fail its job, start a replacement.
  void replace(Worker& w, bool killed, bool canceled = false) {
    const bool was_starting = w.state == Worker::State::Starting;
    const int failed_starts = w.failed_starts;
    WorkerReply reply = bury(w, killed);
    if (canceled) reply = WorkerReply{WorkerReply::Kind::Canceled, {}, {}, "canceled"};
    if (was_starting && !w.job) {
      if (failed_starts + 1 >= 3) {
        broken = fmt::format("workers cannot start ({})", reply.reason);
        return;
      }
    }
    finishJob(w, std::move(reply));
    if (stopping || !broken.empty()) return;
    if (!canceled) ++stats.restarts;  // a restart reads as trouble; a cancellation is none
    spawn(w);
    w.failed_starts = was_starting ? failed_starts + 1 : 0;
  }

  Worker* pickWorker(const Job& job) {
    const std::size_t preferred = job.affinity % workers.size();
    if (workers[preferred].state == Worker::State::Idle) return &workers[preferred];
    for (Worker& w : workers) {
      if (w.state == Worker::State::Idle) return &w;
    }
    return nullptr;
  }

  void dispatch() {
    while (!queue.empty()) {
      // Prefer a job whose favourite worker is idle, among the first few queued.
      std::size_t chosen = 0;
      for (std::size_t i = 0; i < std::min<std::size_t>(queue.size(), 2 * workers.size()); ++i) {
        if (workers[queue[i].affinity % workers.size()].state == Worker::State::Idle) {
          chosen = i;
          break;
        }
      }
      Worker* w = pickWorker(queue[chosen]);
      if (!w) return;
      Job job = std::move(queue[chosen]);
      queue.erase(queue.begin() + static_cast<std::ptrdiff_t>(chosen));
      nlohmann::json request = std::move(job.request);
      request["type"] = "evaluate";
      request["verdicts"] = nlohmann::json(std::vector<nlohmann::json>(
          verdict_log.begin() + static_cast<std::ptrdiff_t>(w->verdicts_sent), verdict_log.end()));
      w->verdicts_sent = verdict_log.size();
      w->job = std::move(job);
      w->state = Worker::State::Busy;
      w->deadline = std::min(Clock::now() + options.job_timeout, w->job->stop_by);
      w->stderr_tail.clear();
      ++stats.jobs;
      if (!protocol::writeFrame(w->in, protocol::Frame{request, {}})) replace(*w, false);
    }
  }

  void handleFrame(Worker& w, protocol::Frame frame) {
    const std::string type = frame.header.value("type", "");
    if (type == "ready") {
      w.state = Worker::State::Idle;
      w.failed_starts = 0;
    } else if (type == "error") {
      broken =
          fmt::format("worker could not load the module: {}", frame.header.value("reason", "?"));
    } else if (type == "progress") {
      if (options.on_progress && w.job)
        options.on_progress(static_cast<unsigned>(&w - workers.data()), frame.header);
    } else if (type == "result") {
      if (frame.header.contains("verdicts")) {
        for (auto& entry : frame.header["verdicts"]) verdict_log.push_back(std::move(entry));
        frame.header.erase("verdicts");
      }
      // A worker that said it is leaving gets no more work; its end of
      // output then makes it replaced like any worker that ended.
      const bool leaving = frame.header.value("exiting", false);
      finishJob(
          w, WorkerReply{
                 WorkerReply::Kind::Result, std::move(frame.header), std::move(frame.payload), {}});
      w.state = leaving ? Worker::State::Leaving : Worker::State::Idle;
    }
  }

  void failEverything(const std::string& reason) {
    for (Job& job : queue)
      job.promise.set_value(WorkerReply{WorkerReply::Kind::Crashed, {}, {}, reason});
    queue.clear();
    for (Worker& w : workers) {
      if (w.job) finishJob(w, WorkerReply{WorkerReply::Kind::Crashed, {}, {}, reason});
    }
  }

  void loop() {
    std::unique_lock lock(mutex);
    while (true) {
      if (stopping) break;
      if (!broken.empty()) failEverything(broken);
      dispatch();

      std::vector<pollfd> fds = {{wake[0], POLLIN, 0}};
      std::vector<std::pair<std::size_t, bool>> owners = {{SIZE_MAX, false}};
      auto next_deadline = Clock::time_point::max();
      for (std::size_t i = 0; i < workers.size(); ++i) {
        Worker& w = workers[i];
        if (w.state == Worker::State::Dead) continue;
        if (w.out >= 0) {
          fds.push_back({w.out, POLLIN, 0});
          owners.push_back({i, true});
        }
        if (w.err >= 0) {
          fds.push_back({w.err, POLLIN, 0});
          owners.push_back({i, false});
        }
        if (w.state == Worker::State::Busy) next_deadline = std::min(next_deadline, w.deadline);
      }
      int timeout_ms = -1;
      if (next_deadline != Clock::time_point::max()) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(next_deadline - Clock::now());
        timeout_ms = static_cast<int>(std::clamp<long>(left.count() + 1, 0, INT_MAX));
      }
      lock.unlock();
      const int ready = ::poll(fds.data(), fds.size(), timeout_ms);
      lock.lock();
      if (ready < 0 && errno != EINTR) break;

      for (std::size_t k = 0; k < fds.size(); ++k) {
        if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (owners[k].first == SIZE_MAX) {
          char buffer[64];
          while (::read(wake[0], buffer, sizeof buffer) > 0) {
          }
          continue;
        }
        Worker& w = workers[owners[k].first];
        if (!owners[k].second) {
          drainStderr(w);
          continue;
        }
        if (w.out != fds[k].fd) continue;  // replaced meanwhile
        char buffer[65536];
        bool ended = false;
        while (true) {
          const ssize_t n = ::read(w.out, buffer, sizeof buffer);
          if (n > 0) {
            w.decoder.feed(buffer, static_cast<std::size_t>(n));
            continue;
          }
          if (n == 0 || (errno != EAGAIN && errno != EINTR)) ended = true;
          break;
        }
        try {
          while (auto frame = w.decoder.next()) handleFrame(w, std::move(*frame));
        } catch (const std::exception&) {
          ended = true;
        }
        if (ended) replace(w, false);
      }
      const auto now = Clock::now();
      for (Worker& w : workers) {
        if (w.state != Worker::State::Busy) continue;
        if (w.cancel) {
          replace(w, true, true);
        } else if (now >= w.deadline) {
          replace(w, true);
        }
      }
    }
    failEverything("the engine shut down");
    for (Worker& w : workers) {
      if (w.pid > 0) {
        closeFd(w.in);
        ::kill(w.pid, SIGKILL);
        int status = 0;
        ::waitpid(w.pid, &status, 0);
      }
      closeFd(w.out);
      closeFd(w.err);
    }
  }
};

WorkerPool::WorkerPool(WorkerPoolOptions options, nlohmann::json init, wasm::Bytes init_payload)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(init), std::move(init_payload))) {}

WorkerPool::~WorkerPool() = default;

std::future<WorkerReply> WorkerPool::submit(nlohmann::json request, std::uint64_t affinity,
                                            std::chrono::steady_clock::time_point stop_by) {
  Job job;
  job.request = std::move(request);
  job.affinity = affinity;
  job.stop_by = stop_by;
  std::future<WorkerReply> future = job.promise.get_future();
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) {
      job.promise.set_value(
          WorkerReply{WorkerReply::Kind::Crashed, {}, {}, "the engine shut down"});
      return future;
    }
    impl_->queue.push_back(std::move(job));
  }
  impl_->poke();
  return future;
}

void WorkerPool::broadcast(const nlohmann::json& verdict_entries) {
  std::lock_guard lock(impl_->mutex);
  for (const auto& entry : verdict_entries) impl_->verdict_log.push_back(entry);
}

void WorkerPool::cancelAll() {
  {
    std::lock_guard lock(impl_->mutex);
    for (Job& job : impl_->queue) {
      job.promise.set_value(WorkerReply{WorkerReply::Kind::Canceled, {}, {}, "canceled"});
      ++impl_->stats.canceled;
    }
    impl_->queue.clear();
    for (Worker& w : impl_->workers) {
      if (w.job) w.cancel = true;
    }
  }
  impl_->poke();
}

WorkerPoolStats WorkerPool::stats() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->stats;
}

unsigned WorkerPool::size() const {
  return static_cast<unsigned>(impl_->workers.size());
}

}  // namespace loom::engine
