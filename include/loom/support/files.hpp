// Reading inputs with one-line errors, and writing outputs so that a crash or
// a full disk never leaves a half-written file behind.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace loom::support {

class FileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::vector<std::uint8_t> readFile(const std::filesystem::path& path);
std::string readTextFile(const std::filesystem::path& path);

// Writes to a temporary file beside `path`, flushes it to disk and renames it
// over `path`. On failure the temporary is removed and FileError is thrown.
// A symbolic link is followed (the file it names is replaced, the link
// stays); a device or a FIFO is written through, never replaced; a
// directory or a socket is refused.
void writeFileAtomic(const std::filesystem::path& path, std::span<const std::uint8_t> data);
void writeFileAtomic(const std::filesystem::path& path, std::string_view text);

// Fails early, before a long run, if `path` could not be written later.
void checkWritable(const std::filesystem::path& path);

// `path` with every symbolic link resolved, including a last component that
// is a link to a file that does not exist yet. Throws FileError on a loop.
std::filesystem::path followLinks(const std::filesystem::path& path);

// Whether `path` exists and is something other than a regular file (a
// device, a FIFO, a socket, a directory), after following links.
bool isSpecialFile(const std::filesystem::path& path);

// A file a command reads or writes, named by the option that gives it.
struct RunFile {
  std::string role;  // "the input", "-o", "--report", "--log", ...
  std::filesystem::path path;
  bool written = true;
};

// Refuses, in one line, two roles that name the same file (after following
// links; hard links count as the same file) and any written file that is an
// input. Roles whose path is empty are skipped.
void checkDistinct(const std::vector<RunFile>& files);

}  // namespace loom::support
