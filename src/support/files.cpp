#include "loom/support/files.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/std.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "loom/support/child_process.hpp"

namespace loom::support {

namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& path) {
  return path.string();
}

int openForReading(const fs::path& path) {
  // O_NONBLOCK: opening a FIFO nobody writes to must not hang us.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    throw FileError(fmt::format("cannot read {}: {}", quoted(path), std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FileError(fmt::format("cannot read {}: {}", quoted(path),
                                S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file"));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

}  // namespace

std::vector<std::uint8_t> readFile(const fs::path& path) {
  const int fd = openForReading(path);
  std::vector<std::uint8_t> out;
  std::uint8_t buffer[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      throw FileError(fmt::format("cannot read {}: {}", quoted(path), std::strerror(err)));
    }
    if (n == 0) break;
    out.insert(out.end(), buffer, buffer + n);
  }
  ::close(fd);
  return out;
}

std::string readTextFile(const fs::path& path) {
  const auto bytes = readFile(path);
  return std::string(bytes.begin(), bytes.end());
}

void writeFileAtomic(const fs::path& path, std::span<const std::uint8_t> data) {
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  std::random_device random;
  const fs::path temp =
      dir / fmt::format(".{}.tmp-{}-{:x}", path.filename().string(), ::getpid(), random());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    throw FileError(fmt::format("cannot write {}: {}", quoted(path), std::strerror(errno)));
  auto fail = [&](int err) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw FileError(fmt::format("cannot write {}: {}", quoted(path), std::strerror(err)));
  };
  if (!writeAll(fd, data.data(), data.size())) fail(errno);
  if (::fsync(fd) != 0) fail(errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw FileError(fmt::format("cannot write {}: {}", quoted(path), std::strerror(err)));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw FileError(fmt::format("cannot write {}: {}", quoted(path), std::strerror(err)));
  }
}

void writeFileAtomic(const fs::path& path, std::string_view text) {
  writeFileAtomic(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void checkWritable(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    throw FileError(fmt::format("cannot write {}: is a directory", quoted(path)));
  }
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) {
    throw FileError(
        fmt::format("cannot write {}: directory {} does not exist", quoted(path), quoted(dir)));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw FileError(fmt::format("cannot write {}: {}", quoted(path), std::strerror(errno)));
  }
  if (fs::exists(path, ec) && ::access(path.c_str(), W_OK) != 0) {
    throw FileError(fmt::format("cannot write {}: {}", quoted(path), std::strerror(errno)));
  }
}

}  // namespace loom::support
