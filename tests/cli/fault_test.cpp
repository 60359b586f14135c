// Faults during a run, from the outside, the way they happen to users:
// signals, workers killed at random moments, a full disk. The run must end
// with a verified result and a checkpoint (or a clean error), and a resumed
// run must lose nothing that was checkpointed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "support/test_support.hpp"

namespace loom::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// loom-evolve running in the background, its output in files.
class BackgroundRun {
 public:
  BackgroundRun(const TempDir& dir, std::vector<std::string> args,
                rlim_t file_size_limit = RLIM_INFINITY)
      : out_(dir / "stdout.txt"), err_(dir / "stderr.txt") {
    args.insert(args.begin(), LOOM_EVOLVE_EXECUTABLE);
    std::vector<char*> argv;  // before the fork: the child must not allocate
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int out = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int err = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, 1);
      ::dup2(err, 2);
      if (file_size_limit != RLIM_INFINITY) {
        // A full disk: writes past the limit fail with EFBIG instead of killing us.
        ::signal(SIGXFSZ, SIG_IGN);
        const rlimit limit{file_size_limit, file_size_limit};
        ::setrlimit(RLIMIT_FSIZE, &limit);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~BackgroundRun() {
    if (!finished_) {
      ::kill(pid_, SIGKILL);
      wait();
    }
  }
  pid_t pid() const { return pid_; }
  bool running() {
    if (finished_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      finished_ = true;
      status_ = status;
      return false;
    }
    return true;
  }
  int wait() {
    if (!finished_) {
      ::waitpid(pid_, &status_, 0);
      finished_ = true;
    }
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
  }
  std::string err() const { return slurp(err_); }

 private:
  fs::path out_, err_;
  pid_t pid_ = -1;
  bool finished_ = false;
  int status_ = 0;
};

// Waits until `path` exists (or the run ends / the time is up).
bool waitForFile(BackgroundRun& run, const fs::path& path, std::chrono::seconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (fs::exists(path)) return true;
    if (!run.running()) return fs::exists(path);
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

std::vector<pid_t> childrenOf(pid_t parent) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    // pid (comm) state ppid ...; comm may hold spaces, so parse after ')'.
    const auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent) pids.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return pids;
}

std::vector<std::string> searchArgs(const TempDir& dir, const fs::path& module,
                                    unsigned generations) {
  return {module.string(),
          "--generations",
          std::to_string(generations),
          "-o",
          (dir / "out.wasm").string(),
          "--report",
          (dir / "report.json").string(),
          "--checkpoint",
          (dir / "checkpoint.json").string(),
          "--checkpoint-every",
          "1",
          "--jobs",
          "2",
          "--seed",
          "7",
          "--quiet"};
}

int verifyExit(const fs::path& original, const fs::path& optimized) {
  return runCommand(
             {LOOM_EVOLVE_EXECUTABLE, "verify", original.string(), optimized.string(), "--json"})
      .exit_code;
}

class Signals : public ::testing::TestWithParam<int> {};

TEST_P(Signals, EndTheRunWithAVerifiedResultAndACheckpointThatResumes) {
  TempDir dir;
  const fs::path module = fixtureBinary("arith");
  const auto args = searchArgs(dir, module, 40);
  {
    BackgroundRun run(dir, args);
    ASSERT_TRUE(waitForFile(run, dir / "checkpoint.json", 300s)) << run.err();
    ::kill(run.pid(), GetParam());
    EXPECT_EQ(run.wait(), 130) << run.err();
  }
  ASSERT_TRUE(fs::exists(dir / "out.wasm"));
  EXPECT_EQ(verifyExit(module, dir / "out.wasm"), 0);
  const auto report = nlohmann::json::parse(slurp(dir / "report.json"));
  EXPECT_TRUE(report.at("interrupted").get<bool>());
  const auto checkpoint = nlohmann::json::parse(slurp(dir / "checkpoint.json"));
  const unsigned saved_generation = checkpoint.at("generation");
  const std::uint64_t best_before = report.at("best").at("total_bytes");

  // Resuming picks up at the checkpoint, and ends no worse than where it stopped.
  auto resume = searchArgs(dir, module, saved_generation + 2);
  resume.push_back("--resume");
  BackgroundRun resumed(dir, resume);
  EXPECT_EQ(resumed.wait(), 0) << resumed.err();
  const auto final_report = nlohmann::json::parse(slurp(dir / "report.json"));
  EXPECT_EQ(final_report.at("generations"), saved_generation + 2);
  EXPECT_LE(final_report.at("best").at("total_bytes").get<std::uint64_t>(), best_before);
  EXPECT_EQ(verifyExit(module, dir / "out.wasm"), 0);
}

INSTANTIATE_TEST_SUITE_P(Faults, Signals, ::testing::Values(SIGINT, SIGTERM),
                         [](const auto& signal_info) {
                           return signal_info.param == SIGINT ? std::string("SIGINT")
                                                              : std::string("SIGTERM");
                         });

// A signal while the run still measures its input and verifies the baselines
// (seconds on the bundled example): nothing to keep yet, so it ends with one
// line, exit 130, and no output, report or checkpoint.
TEST(Faults, ASignalDuringSetUpEndsTheRunWithNothingWritten) {
  TempDir dir;
  const fs::path module = sourceDir() / "examples" / "example.wasm";
  BackgroundRun run(dir, searchArgs(dir, module, 5));
  std::this_thread::sleep_for(1500ms);
  ASSERT_TRUE(run.running()) << run.err();
  ::kill(run.pid(), SIGTERM);
  EXPECT_EQ(run.wait(), 130) << run.err();
  EXPECT_NE(run.err().find("interrupted during set-up"), std::string::npos) << run.err();
  EXPECT_FALSE(fs::exists(dir / "out.wasm"));
  EXPECT_FALSE(fs::exists(dir / "report.json"));
  EXPECT_FALSE(fs::exists(dir / "checkpoint.json"));
}

// tune's last step checks the recommendation on the held-out modules, which
// means verifying -Oz and the recommendation on each (seconds for the bundled
// example). A signal there ends the run at once, as interrupted; resuming
// runs the check again.
TEST(Faults, ASignalDuringTunesHeldOutCheckEndsItAndResumeRunsItAgain) {
  TempDir dir;
  const fs::path corpus = dir / "corpus";
  fs::create_directories(corpus);
  fs::copy_file(fixtureBinary("arith"), corpus / "arith.wasm");
  fs::copy_file(fixtureBinary("helpers"), corpus / "helpers.wasm");
  fs::copy_file(sourceDir() / "examples" / "example.wasm", corpus / "example.wasm");
  std::ofstream(corpus / "manifest.tsv") << "name\tsplit\tbytes\tsha256\tpath\n"
                                         << "arith\ttrain\t0\t-\t-\n"
                                         << "helpers\ttrain\t0\t-\t-\n"
                                         << "example\ttest\t0\t-\t-\n";
  const std::vector<std::string> args = {"tune",          corpus.string(),
                                         "--generations", "0",
                                         "--report",      (dir / "tune.json").string(),
                                         "--checkpoint",  (dir / "tune.checkpoint.json").string(),
                                         "--jobs",        "2"};
  {
    BackgroundRun run(dir, args);
    const auto end = std::chrono::steady_clock::now() + 300s;
    while (run.running() && std::chrono::steady_clock::now() < end &&
           run.err().find("checking the recommendation") == std::string::npos) {
      std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(run.running()) << run.err();
    ::kill(run.pid(), SIGINT);
    EXPECT_EQ(run.wait(), 130) << run.err();
  }
  auto report = nlohmann::json::parse(slurp(dir / "tune.json"));
  EXPECT_TRUE(report.at("interrupted").get<bool>());
  EXPECT_TRUE(report.at("test").at("modules").empty()) << report.at("test").dump();
  ASSERT_TRUE(report.at("recommended").is_object());

  auto resume = args;
  resume.push_back("--resume");
  BackgroundRun resumed(dir, resume);
  EXPECT_EQ(resumed.wait(), 0) << resumed.err();
  report = nlohmann::json::parse(slurp(dir / "tune.json"));
  EXPECT_FALSE(report.at("interrupted").get<bool>());
  ASSERT_EQ(report.at("test").at("modules").size(), 1u);
  EXPECT_EQ(report.at("test").at("modules")[0].at("name"), "example");
}

TEST(Faults, WorkersKilledAtRandomMomentsCostOnlyTheirCandidates) {
  TempDir dir;
  const fs::path module = fixtureBinary("arith");
  BackgroundRun run(dir, searchArgs(dir, module, 6));
  std::mt19937 random(12345);
  unsigned killed = 0;
  const auto end = std::chrono::steady_clock::now() + 240s;
  while (run.running() && killed < 6 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + random() % 600));
    const auto workers = childrenOf(run.pid());
    if (workers.empty()) continue;
    if (::kill(workers[random() % workers.size()], SIGKILL) == 0) ++killed;
  }
  ASSERT_EQ(run.wait(), 0) << run.err();
  EXPECT_GT(killed, 0u);
  EXPECT_EQ(verifyExit(module, dir / "out.wasm"), 0);
  const auto report = nlohmann::json::parse(slurp(dir / "report.json"));
  EXPECT_TRUE(report.at("best").at("verified").get<bool>());
  // Every kill is seen as a crashed candidate (or an idle worker replaced).
  const auto& workers = report.at("engine").at("workers");
  EXPECT_GE(workers.at("processes_crashed").get<std::uint64_t>() +
                workers.at("restarts").get<std::uint64_t>(),
            1u)
      << workers.dump();
}

TEST(Faults, AFullDiskIsACleanErrorWithNoPartialOutput) {
  TempDir dir;
  const fs::path module = fixtureBinary("arith");
  // 64 bytes per file: the input is readable; nothing we write fits.
  BackgroundRun run(dir, searchArgs(dir, module, 1), 64);
  const int code = run.wait();
  EXPECT_NE(code, 0);
  EXPECT_LT(code, 128) << "crashed: " << run.err();
  std::string err = run.err();
  ASSERT_FALSE(err.empty());
  EXPECT_NE(err.find("loom-evolve: error: "), std::string::npos) << err;
  EXPECT_FALSE(fs::exists(dir / "out.wasm")) << "a half-written module was left behind";
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    const std::string name = entry.path().filename().string();
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "left behind: " << name;
  }
}

}  // namespace
}  // namespace loom::test
