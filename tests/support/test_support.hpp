// Helpers every test program shares.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "loom/wasm/module.hpp"

namespace loom::test {

std::filesystem::path sourceDir();
std::filesystem::path fixtureDir();
std::filesystem::path fixturePath(const std::string& name);  // "crc32" or "crc32.wat"
std::vector<std::string> fixtureNames();                     // every tests/fixtures/*.wat, sorted

// A directory removed when the object goes away.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs argv (no shell), capturing stdout and stderr.
CommandResult runCommand(const std::vector<std::string>& argv, const std::string& stdin_text = "");

// wasm-opt run on `input` with `args`, output bytes returned (test fails on error).
wasm::Bytes runWasmOpt(const std::filesystem::path& input, const std::vector<std::string>& args);

// Fixture compiled to a binary with wasm-opt (no passes), cached in a temp dir.
std::filesystem::path fixtureBinary(const std::string& name);

void writeBytes(const std::filesystem::path& path, const wasm::Bytes& bytes);

}  // namespace loom::test
