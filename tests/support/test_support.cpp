#include "support/test_support.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <random>

#include "loom/support/child_process.hpp"
#include "loom/support/files.hpp"

namespace loom::test {

namespace fs = std::filesystem;

fs::path sourceDir() {
  return LOOM_SOURCE_DIR;
}
fs::path fixtureDir() {
  return sourceDir() / "tests" / "fixtures";
}

fs::path fixturePath(const std::string& name) {
  fs::path p = fixtureDir() / name;
  if (p.extension() != ".wat") p += ".wat";
  return p;
}

std::vector<std::string> fixtureNames() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fixtureDir())) {
    if (entry.path().extension() == ".wat") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

TempDir::TempDir() {
  std::random_device random;
  path_ = fs::temp_directory_path() /
          ("loom-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CommandResult runCommand(const std::vector<std::string>& argv, const std::string& stdin_text) {
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) || ::pipe2(out_pipe, O_CLOEXEC) || ::pipe2(err_pipe, O_CLOEXEC)) {
    throw std::runtime_error("pipe failed");
  }
  // Built before the fork: the child of a threaded process must not allocate
  // (another thread may hold the allocator's lock, and AddressSanitizer's
  // allocator is not reset in the child).
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  support::writeAll(in_pipe[1], stdin_text.data(), stdin_text.size());
  ::close(in_pipe[1]);
  CommandResult result;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  char buffer[65536];
  while (open_count > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<std::size_t>(n));
      } else {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

wasm::Bytes runWasmOpt(const fs::path& input, const std::vector<std::string>& args) {
  TempDir dir;
  const fs::path out = dir / "out.wasm";
  std::vector<std::string> argv = {LOOM_WASM_OPT, input.string()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"-o", out.string()});
  const CommandResult r = runCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << "wasm-opt failed: " << r.err;
  if (r.exit_code != 0) return {};
  return support::readFile(out);
}

fs::path fixtureBinary(const std::string& name) {
  static std::mutex mutex;
  static TempDir cache;
  std::lock_guard lock(mutex);
  const fs::path out = cache / (name + ".wasm");
  if (!fs::exists(out)) {
    // Some fixtures use sign-extension ops and exported mutable globals, which
    // Binaryen 108 only accepts when enabled.
    const CommandResult r =
        runCommand({LOOM_WASM_OPT, fixturePath(name).string(), "--enable-sign-ext",
                    "--enable-mutable-globals", "-o", out.string()});
    if (r.exit_code != 0)
      throw std::runtime_error("wasm-opt could not convert fixture " + name + ": " + r.err);
  }
  return out;
}

void writeBytes(const fs::path& path, const wasm::Bytes& bytes) {
  support::writeFileAtomic(path, bytes);
}

}  // namespace loom::test
