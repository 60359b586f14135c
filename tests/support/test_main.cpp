#include <gtest/gtest.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  // As in loom-evolve's main: no Binaryen threads in a process that forks.
  ::setenv("BINARYEN_CORES", "1", 1);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
