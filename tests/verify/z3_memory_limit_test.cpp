// Z3's memory limit (a worker sets memory_max_size) must end in an unknown
// verdict, never in a crash: past the limit, Z3 cannot create a context, and
// the stock C++ header then wrote through a null pointer (a segmentation
// fault in Z3_set_error_handler, seen in workers of long tune runs).
#include <gtest/gtest.h>

#include <cstdlib>

#include "verify_pair.hpp"

namespace loom::verify {
namespace {

TEST(Z3MemoryLimit, PastItFunctionsAreUnknownNotACrash) {
  EXPECT_EXIT(
      {
        // 1 MB: less than creating a context takes.
        limitSolverMemory(1);
        const ModuleVerdict v = verifyPair(R"((module
          (func (export "f") (param i32 i32) (result i32)
            (i32.add (local.get 0) (local.get 1)))))",
                                           R"((module
          (func (export "f") (param i32 i32) (result i32)
            (i32.add (i32.xor (local.get 0) (local.get 1))
                     (i32.shl (i32.and (local.get 0) (local.get 1)) (i32.const 1))))))");
        const bool unknown = v.functions.size() == 1 && v.overall() == Verdict::Unknown &&
                             v.functions[0].reason.find("out of memory") != std::string::npos;
        std::_Exit(unknown ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace loom::verify
