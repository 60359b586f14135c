// Module-level equivalence: what the host sees besides the functions'
// behaviour — imports, exports, the start function, the table, the initial
// memory image, globals and memory limits.
#pragma once

#include <string>
#include <vector>

#include "src/verify/check/correspondence.hpp"

namespace loom::verify::check {

struct ModuleProblems {
  std::vector<std::string> problems;
  bool definite = false;  // a real difference, not just something the verifier cannot show
  void add(std::string what, bool is_definite) {
    problems.push_back(std::move(what));
    definite = definite || is_definite;
  }
};

ModuleProblems checkModules(const Correspondence& correspondence);

// The bytes of memory after instantiation that differ from zero, when the
// memory is not imported (then unwritten bytes are known to be zero).
std::map<std::uint32_t, std::uint8_t> initialImage(const sem::MemoryInfo& memory);

}  // namespace loom::verify::check
