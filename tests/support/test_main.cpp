#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

int main(int argc, char** argv) {
  // As in loom-evolve's main: no Binaryen threads in a process that forks.
  ::setenv("BINARYEN_CORES", "1", 1);
  // The loom-evolve runs of the tests share a proof store of their own, never
  // the user's, and leave nothing behind.
  std::string store_dir;
  if (const char* set = ::getenv("LOOM_PROOF_STORE"); !set || !*set) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "loom-test-proofs-XXXXXX").string();
    if (::mkdtemp(pattern.data())) {
      store_dir = pattern;
      ::setenv("LOOM_PROOF_STORE", (store_dir + "/proofs.db").c_str(), 1);
    }
  }
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  if (!store_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(store_dir, ec);
  }
  return status;
}
