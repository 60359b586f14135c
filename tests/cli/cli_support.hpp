// What the command-line test programs share: running loom-evolve and the
// contract for bad input (one "loom-evolve: error: ..." line, non-zero exit).
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "support/test_support.hpp"

namespace loom::test {

inline CommandResult loom(std::vector<std::string> args) {
  args.insert(args.begin(), LOOM_EVOLVE_EXECUTABLE);
  return runCommand(args);
}

inline void expectCleanError(const CommandResult& r, const std::string& needle,
                             const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_LT(r.exit_code, 128) << "crashed: " << r.err;
  std::string err = r.err;
  ASSERT_FALSE(err.empty());
  EXPECT_EQ(err.back(), '\n');
  err.pop_back();
  EXPECT_EQ(err.find('\n'), std::string::npos) << "more than one line:\n" << r.err;
  EXPECT_EQ(err.rfind("loom-evolve: error: ", 0), 0u) << r.err;
  EXPECT_NE(err.find(needle), std::string::npos) << r.err;
}

}  // namespace loom::test
