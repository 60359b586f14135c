#include "loom/support/child_process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "loom/support/sanitizers.hpp"

namespace loom::support {

bool writeAll(int fd, const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::string ChildOutcome::describe() const {
  switch (kind) {
    case Kind::Exited:
      return fmt::format("exit {}", code);
    case Kind::Signaled:
      return fmt::format("signal {} ({})", code, ::strsignal(code));
    case Kind::TimedOut:
      return "timed out";
  }
  return "unknown";
}

ChildOutcome runInChild(const std::function<int(int result_fd)>& work, const ChildLimits& limits) {
  int result_pipe[2];
  int error_pipe[2];
  if (::pipe2(result_pipe, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
    ::close(result_pipe[0]);
    ::close(result_pipe[1]);
    throw std::runtime_error("pipe failed");
  }
  std::fflush(nullptr);  // or the child would flush our buffered output again
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(fmt::format("fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    ::close(result_pipe[0]);
    ::close(error_pipe[0]);
    ::dup2(error_pipe[1], STDERR_FILENO);
    if (limits.address_space_bytes && !kAddressSanitizer) {
      const rlimit limit{*limits.address_space_bytes, *limits.address_space_bytes};
      ::setrlimit(RLIMIT_AS, &limit);
    }
    int code = 70;
    try {
      code = work(result_pipe[1]);
    } catch (const std::exception& e) {
      const std::string line = fmt::format("{}\n", e.what());
      writeAll(STDERR_FILENO, line.data(), line.size());
    } catch (...) {
    }
    ::_exit(code);
  }
  ::close(result_pipe[1]);
  ::close(error_pipe[1]);

  ChildOutcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  pollfd fds[2] = {{result_pipe[0], POLLIN, 0}, {error_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&outcome.result, &outcome.error_text};
  int open_count = 2;
  bool timed_out = false;
  char buffer[65536];
  while (open_count > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        // Keep error text bounded: Binaryen's validator can print megabytes.
        if (i == 0 || sinks[i]->size() < (1u << 20))
          sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    outcome.kind = ChildOutcome::Kind::TimedOut;
  } else if (WIFSIGNALED(status)) {
    outcome.kind = ChildOutcome::Kind::Signaled;
    outcome.code = WTERMSIG(status);
  } else {
    outcome.code = WEXITSTATUS(status);
  }
  return outcome;
}

}  // namespace loom::support
