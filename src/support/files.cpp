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

fs::path followLinks(const fs::path& path) {
  fs::path p = path;
  // 40: the kernel's own limit on links followed in one lookup (ELOOP).
  for (int hops = 0; hops < 40; ++hops) {
    std::error_code ec;
    if (!fs::is_symlink(fs::symlink_status(p, ec))) {
      const fs::path canonical = fs::weakly_canonical(p, ec);
      return ec ? p : canonical;
    }
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) throw FileError(fmt::format("cannot resolve {}: {}", quoted(path), ec.message()));
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  throw FileError(
      fmt::format("cannot resolve {}: too many levels of symbolic links", quoted(path)));
}

bool isSpecialFile(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
}

namespace {

// Devices and FIFOs are written through: renaming over them would replace
// the node (as root, /dev/full would become a regular file).
void writeThrough(const fs::path& path, const fs::path& target,
                  std::span<const std::uint8_t> data) {
  // O_NONBLOCK: a FIFO nobody reads from fails at once (ENXIO) instead of
  // hanging the run at its very end.
  const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    throw FileError(fmt::format("cannot write {}: {}", quoted(path),
                                err == ENXIO ? "a FIFO with no reader" : std::strerror(err)));
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const bool ok = writeAll(fd, data.data(), data.size());
  const int err = errno;
  ::close(fd);
  if (!ok) throw FileError(fmt::format("cannot write {}: {}", quoted(path), std::strerror(err)));
}

}  // namespace

void writeFileAtomic(const fs::path& path, std::span<const std::uint8_t> data) {
  const fs::path target = followLinks(path);
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode))
      throw FileError(fmt::format("cannot write {}: is a directory", quoted(path)));
    if (S_ISSOCK(st.st_mode))
      throw FileError(fmt::format("cannot write {}: is a socket", quoted(path)));
    writeThrough(path, target, data);
    return;
  }
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::random_device random;
  const fs::path temp =
      dir / fmt::format(".{}.tmp-{}-{:x}", target.filename().string(), ::getpid(), random());
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
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    throw FileError(fmt::format("cannot write {}: {}", quoted(path), std::strerror(err)));
  }
}

void writeFileAtomic(const fs::path& path, std::string_view text) {
  writeFileAtomic(path, std::span(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
}

void checkWritable(const fs::path& requested) {
  const fs::path path = followLinks(requested);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode))
      throw FileError(fmt::format("cannot write {}: is a directory", quoted(requested)));
    if (S_ISSOCK(st.st_mode))
      throw FileError(fmt::format("cannot write {}: is a socket", quoted(requested)));
    if (::access(path.c_str(), W_OK) != 0)
      throw FileError(fmt::format("cannot write {}: {}", quoted(requested), std::strerror(errno)));
    return;  // a device or a FIFO: written through at the end
  }
  std::error_code ec;
  const fs::path dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::is_directory(dir, ec)) {
    throw FileError(fmt::format("cannot write {}: directory {} does not exist", quoted(requested),
                                quoted(dir)));
  }
  if (::access(dir.c_str(), W_OK) != 0) {
    throw FileError(fmt::format("cannot write {}: {}", quoted(requested), std::strerror(errno)));
  }
  if (fs::exists(path, ec) && ::access(path.c_str(), W_OK) != 0) {
    throw FileError(fmt::format("cannot write {}: {}", quoted(requested), std::strerror(errno)));
  }
}

namespace {

struct Identity {
  fs::path resolved;
  bool exists = false;
  dev_t device = 0;
  ino_t inode = 0;
  bool operator==(const Identity& o) const {
    if (exists && o.exists) return device == o.device && inode == o.inode;
    return resolved == o.resolved;
  }
};

Identity identityOf(const fs::path& path) {
  Identity id;
  id.resolved = followLinks(fs::absolute(path));
  struct stat st {};
  if (::stat(id.resolved.c_str(), &st) == 0) {
    id.exists = true;
    id.device = st.st_dev;
    id.inode = st.st_ino;
  }
  return id;
}

}  // namespace

void checkDistinct(const std::vector<RunFile>& files) {
  std::vector<std::pair<const RunFile*, Identity>> seen;
  for (const RunFile& f : files) {
    if (f.path.empty()) continue;
    const Identity id = identityOf(f.path);
    for (const auto& [other, other_id] : seen) {
      if (!(id == other_id) || (!f.written && !other->written)) continue;
      if (!other->written || !f.written) {
        const RunFile& out = f.written ? f : *other;
        const RunFile& in = f.written ? *other : f;
        throw FileError(fmt::format("{} {} is {} {}: it would be overwritten; choose another path",
                                    out.role, quoted(out.path), in.role, quoted(in.path)));
      }
      throw FileError(fmt::format("{} {} and {} {} are the same file; give each its own path",
                                  other->role, quoted(other->path), f.role, quoted(f.path)));
    }
    seen.emplace_back(&f, id);
  }
}

}  // namespace loom::support
