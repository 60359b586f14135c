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
void writeFileAtomic(const std::filesystem::path& path, std::span<const std::uint8_t> data);
void writeFileAtomic(const std::filesystem::path& path, std::string_view text);

// Fails early, before a long run, if `path` could not be written later.
void checkWritable(const std::filesystem::path& path);

}  // namespace loom::support
