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

std::vector<ChildOutcome> runInChildren(const std::vector<std::function<int(int result_fd)>>& works,
                                        const ChildLimits& limits) {
  struct Child {
    pid_t pid = -1;
    int fds[2] = {-1, -1};  // result, stderr (read ends)
  };
  std::vector<Child> children(works.size());
  std::vector<ChildOutcome> outcomes(works.size());
  // On a failure half-way, the children forked so far are ended and reaped.
  auto abandon = [&] {
    for (Child& c : children) {
      for (int& fd : c.fds) {
        if (fd >= 0) ::close(fd);
        fd = -1;
      }
      if (c.pid <= 0) continue;
      ::kill(c.pid, SIGKILL);
      while (::waitpid(c.pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  };
  std::fflush(nullptr);  // or the children would flush our buffered output again
  for (std::size_t k = 0; k < works.size(); ++k) {
    int result_pipe[2];
    int error_pipe[2];
    if (::pipe2(result_pipe, O_CLOEXEC) != 0) {
      abandon();
      throw std::runtime_error("pipe failed");
    }
    if (::pipe2(error_pipe, O_CLOEXEC) != 0) {
      ::close(result_pipe[0]);
      ::close(result_pipe[1]);
      abandon();
      throw std::runtime_error("pipe failed");
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
      abandon();
      throw std::runtime_error(fmt::format("fork failed: {}", std::strerror(errno)));
    }
    if (pid == 0) {
      // The read ends of earlier children's pipes are close-on-exec, not
      // closed: they are not this child's to hold.
      for (std::size_t j = 0; j < k; ++j) {
        for (int fd : children[j].fds) ::close(fd);
      }
      ::close(result_pipe[0]);
      ::close(error_pipe[0]);
      ::dup2(error_pipe[1], STDERR_FILENO);
      if (limits.address_space_bytes && !kAddressSanitizer) {
        const rlimit limit{*limits.address_space_bytes, *limits.address_space_bytes};
        ::setrlimit(RLIMIT_AS, &limit);
      }
      int code = 70;
      try {
        code = works[k](result_pipe[1]);
      } catch (const std::exception& e) {
        const std::string line = fmt::format("{}\n", e.what());
        writeAll(STDERR_FILENO, line.data(), line.size());
      } catch (...) {
      }
      ::_exit(code);
    }
    ::close(result_pipe[1]);
    ::close(error_pipe[1]);
    children[k].pid = pid;
    children[k].fds[0] = result_pipe[0];
    children[k].fds[1] = error_pipe[0];
  }

  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  std::vector<pollfd> fds;
  std::vector<std::string*> sinks;
  std::vector<bool> is_error;
  for (std::size_t k = 0; k < children.size(); ++k) {
    for (int i = 0; i < 2; ++i) {
      fds.push_back({children[k].fds[i], POLLIN, 0});
      sinks.push_back(i == 0 ? &outcomes[k].result : &outcomes[k].error_text);
      is_error.push_back(i == 1);
      children[k].fds[i] = -1;  // owned by `fds` from here on
    }
  }
  std::size_t open_count = fds.size();
  bool timed_out = false;
  char buffer[65536];
  while (open_count > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        // Keep error text bounded: Binaryen's validator can print megabytes.
        if (!is_error[i] || sinks[i]->size() < (1u << 20))
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
  for (std::size_t k = 0; k < children.size(); ++k) {
    // A child whose pipes all closed has ended (or is ending) by itself.
    const bool open = fds[2 * k].fd >= 0 || fds[2 * k + 1].fd >= 0;
    if (timed_out && open) ::kill(children[k].pid, SIGKILL);
    int status = 0;
    while (::waitpid(children[k].pid, &status, 0) < 0 && errno == EINTR) {
    }
    ChildOutcome& outcome = outcomes[k];
    if (timed_out && open) {
      outcome.kind = ChildOutcome::Kind::TimedOut;
    } else if (WIFSIGNALED(status)) {
      outcome.kind = ChildOutcome::Kind::Signaled;
      outcome.code = WTERMSIG(status);
    } else {
      outcome.code = WEXITSTATUS(status);
    }
  }
  return outcomes;
}

ChildOutcome runInChild(const std::function<int(int result_fd)>& work, const ChildLimits& limits) {
  return runInChildren({work}, limits).front();
}

}  // namespace loom::support
