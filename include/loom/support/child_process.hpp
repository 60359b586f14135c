// Running a piece of work in a forked child, so that a crash, _Exit or hang
// inside a library (Binaryen calls _Exit on bad input) cannot take us down.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace loom::support {

struct ChildLimits {
  std::chrono::milliseconds timeout{30000};
  std::optional<std::uint64_t> address_space_bytes;  // RLIMIT_AS in the child
};

struct ChildOutcome {
  enum class Kind { Exited, Signaled, TimedOut } kind = Kind::Exited;
  int code = 0;            // exit code, or the signal number
  std::string result;      // what the child wrote to its result descriptor
  std::string error_text;  // what the child wrote to stderr
  bool ok() const { return kind == Kind::Exited && code == 0; }
  std::string describe() const;  // "exit 1", "signal 6 (Aborted)", "timed out"
};

// Forks; the child runs `work(result_fd)` with stderr redirected into a pipe
// and exits with its return value. The caller must make sure the process has
// no thread that holds a lock the child needs (see docs/architecture.md).
ChildOutcome runInChild(const std::function<int(int result_fd)>& work, const ChildLimits& limits);

// The same for several children at once, all forked before any is waited
// for (no thread is involved), under one deadline; outcomes in order.
std::vector<ChildOutcome> runInChildren(const std::vector<std::function<int(int result_fd)>>& works,
                                        const ChildLimits& limits);

// Writes all of `data` to `fd`, retrying on EINTR and short writes.
bool writeAll(int fd, const void* data, std::size_t size);

}  // namespace loom::support
