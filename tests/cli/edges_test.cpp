// The edges of every input, and files that must never be lost: output
// paths that collide or are not regular files, a log or a checkpoint that
// lies, a log that is locked or foreign, runs that degrade, names and
// numbers out of range. Each case is one a user met; each must end in one
// clear line or in a correct, verified answer.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "cli/cli_support.hpp"
#include "loom/support/files.hpp"
#include "support/test_support.hpp"

namespace loom::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The smallest search that still runs every stage of a run.
const std::vector<std::string> kTiny = {"--generations", "1", "--islands", "1",
                                        "--population",  "4", "--jobs",    "2"};

std::vector<std::string> tinySearch(const fs::path& module, const TempDir& dir,
                                    const std::string& seed = "3") {
  std::vector<std::string> args = {module.string()};
  args.insert(args.end(), kTiny.begin(), kTiny.end());
  args.insert(args.end(), {"--seed", seed, "--checkpoint", (dir / "run.checkpoint.json").string()});
  return args;
}

// Runs SQL on an SQLite file with Python's sqlite3 module (an independent
// client); returns what the statement printed.
std::string sql(const fs::path& db, const std::string& statement) {
  const CommandResult r = runCommand({"python3", "-c",
                                      "import sqlite3, sys\n"
                                      "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                                      "for row in c.execute(sys.argv[2]): print(*row)\n",
                                      db.string(), statement});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// Another process holds the write lock of `db` for `seconds`, as a second
// tool reading the log in a long transaction would; returns once it does.
pid_t holdWriteLock(const fs::path& db, double seconds) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const std::string hold = std::to_string(seconds);
    ::execlp("python3", "python3", "-c",
             "import sqlite3, sys, time\n"
             "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)\n"
             "c.execute('BEGIN EXCLUSIVE')\n"
             "time.sleep(float(sys.argv[2]))\n"
             "c.execute('COMMIT')\n",
             db.c_str(), hold.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  // Taken once a write from here fails.
  for (int i = 0; i < 200; ++i) {
    const CommandResult probe = runCommand({"python3", "-c",
                                            "import sqlite3, sys\n"
                                            "c = sqlite3.connect(sys.argv[1], "
                                            "isolation_level=None, timeout=0)\n"
                                            "c.execute('BEGIN IMMEDIATE')\n"
                                            "c.execute('ROLLBACK')\n",
                                            db.string()});
    if (probe.exit_code != 0) return pid;
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "the lock on " << db << " was never taken";
  return pid;
}

void release(pid_t holder) {
  ::kill(holder, SIGKILL);
  int status = 0;
  ::waitpid(holder, &status, 0);
}

TEST(Edges, PathsThatNameOneFileTwiceAreRefusedBeforeWork) {
  TempDir dir;
  const fs::path wat = dir / "m.wat";
  fs::copy_file(fixturePath("helpers"), wat);
  const fs::path wasm = dir / "m.wasm";
  fs::copy_file(fixtureBinary("helpers"), wasm);
  const std::string wat_before = slurp(wat), wasm_before = slurp(wasm);
  const std::string db = (dir / "runs.db").string(), x = (dir / "x").string();
  fs::create_symlink(wasm, dir / "link-to-input.wasm");

  expectCleanError(loom({wasm.string(), "-o", db, "--log", db}), "are the same file", "-o = --log");
  expectCleanError(loom({wat.string(), "--report", wat.string()}), "is the input",
                   "report = input");
  expectCleanError(loom({wat.string(), "-o", wat.string()}), "is the input", "-o = input");
  expectCleanError(loom({wasm.string(), "-o", x, "--report", x}), "are the same file",
                   "-o = report");
  expectCleanError(loom({wasm.string(), "-o", (dir / "link-to-input.wasm").string()}),
                   "is the input", "-o is a link to the input");
  expectCleanError(loom({wasm.string(), "-o", x, "--checkpoint", wasm.string()}), "is the input",
                   "checkpoint = input");
  expectCleanError(loom({"apply", "Oz", wasm.string(), "-o", wasm.string()}), "is the input",
                   "apply -o = input");
  expectCleanError(loom({"tune", dir.path().string(), "--log", db, "--report", db}),
                   "are the same file", "tune --log = --report");
  support::writeFileAtomic(dir / "r.json", std::string_view("{}"));
  expectCleanError(loom({"plot", (dir / "r.json").string(), "-o", (dir / "r.json").string()}),
                   "is the report", "plot -o = report");

  EXPECT_EQ(slurp(wat), wat_before);
  EXPECT_EQ(slurp(wasm), wasm_before);
  EXPECT_FALSE(fs::exists(db));
  EXPECT_FALSE(fs::exists(x));
}

TEST(Edges, OutputsAreWrittenThroughLinksAndSpecialFilesNeverReplaced) {
  TempDir dir;
  const fs::path wasm = dir / "m.wasm";
  fs::copy_file(fixtureBinary("helpers"), wasm);

  // A symbolic link stays a link; the file it names gets the module.
  const fs::path target = dir / "target.wasm";
  fs::create_symlink(target, dir / "link.wasm");
  const CommandResult linked =
      loom({"apply", "Oz", wasm.string(), "-o", (dir / "link.wasm").string(), "--unverified"});
  ASSERT_EQ(linked.exit_code, 0) << linked.err;
  EXPECT_TRUE(fs::is_symlink(dir / "link.wasm"));
  EXPECT_GT(fs::file_size(target), 8u);

  // A FIFO nobody reads is refused in one line, and stays a FIFO.
  const fs::path fifo = dir / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  expectCleanError(loom({"apply", "Oz", wasm.string(), "-o", fifo.string(), "--unverified"}),
                   "FIFO with no reader", "FIFO");
  EXPECT_TRUE(fs::is_fifo(fifo));

  // A directory is refused before any work.
  fs::create_directory(dir / "d");
  expectCleanError(loom({"apply", "Oz", wasm.string(), "-o", (dir / "d").string()}),
                   "is a directory", "directory");
}

TEST(Edges, ADeviceNodeSurvivesBeingTheReport) {
  if (::geteuid() != 0) GTEST_SKIP() << "creating a device node needs root";
  TempDir dir;
  const fs::path wasm = dir / "m.wasm";
  fs::copy_file(fixtureBinary("helpers"), wasm);
  // A private /dev/null (char 1:3): written through, it swallows the report.
  const fs::path device = dir / "null-device";
  ASSERT_EQ(::mknod(device.c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  auto args = tinySearch(wasm, dir);
  args.insert(args.end(), {"--report", device.string(), "--quiet"});
  const CommandResult r = loom(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_character_file(device)) << "the device node was replaced";
  EXPECT_FALSE(fs::exists(dir / "null-device.checkpoint.json"));
}

TEST(Edges, AForeignDatabaseIsRefusedUntouchedAndAFailedStartLeavesNoLog) {
  TempDir dir;
  const fs::path wasm = dir / "m.wasm";
  fs::copy_file(fixtureBinary("helpers"), wasm);
  const fs::path foreign = dir / "foreign.db";
  sql(foreign, "CREATE TABLE notes(id INTEGER PRIMARY KEY, text TEXT)");
  sql(foreign, "INSERT INTO notes(text) VALUES ('keep me')");
  const std::string before = slurp(foreign);
  auto args = tinySearch(wasm, dir);
  args.insert(args.end(), {"--log", foreign.string()});
  expectCleanError(loom(args), "another kind", "foreign SQLite file");
  EXPECT_EQ(slurp(foreign), before) << "the foreign database was changed";
  EXPECT_FALSE(fs::exists(foreign.string() + "-wal"));

  const fs::path text = dir / "notes.txt";
  support::writeFileAtomic(text, std::string_view("plain text, not a database\n"));
  args = tinySearch(wasm, dir);
  args.insert(args.end(), {"--log", text.string()});
  expectCleanError(loom(args), "not a database", "a text file as the log");
  EXPECT_EQ(slurp(text), "plain text, not a database\n");

  // Too few file descriptors: said before work, with the limit needed, and
  // the log the run would have created is not left behind.
  const fs::path fresh = dir / "fresh.db";
  args = tinySearch(wasm, dir);
  *(std::find(args.begin(), args.end(), "--jobs") + 1) = "16";
  args.insert(args.end(), {"--log", fresh.string()});
  std::vector<std::string> shell = {"/bin/sh", "-c", "ulimit -n 32 && exec \"$0\" \"$@\"",
                                    LOOM_EVOLVE_EXECUTABLE};
  shell.insert(shell.end(), args.begin(), args.end());
  expectCleanError(runCommand(shell), "too few file descriptors", "ulimit -n 32, --jobs 16");
  EXPECT_FALSE(fs::exists(fresh)) << "a run that failed to start left its log behind";
}

TEST(Edges, ALockedLogIsWaitedForAndRowsThatCannotBeWrittenAreCounted) {
  TempDir dir;
  const fs::path wasm = dir / "m.wasm";
  fs::copy_file(fixtureBinary("helpers"), wasm);
  const fs::path db = dir / "runs.db";
  auto first = tinySearch(wasm, dir, "1");
  first.insert(first.end(), {"--log", db.string(), "--quiet"});
  const CommandResult made = loom(first);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const auto rows = [&] { return std::stoul(sql(db, "SELECT count(*) FROM evaluations")); };
  const unsigned long rows_before = rows();
  ASSERT_GT(rows_before, 0u);

  // Held for longer than SQLite's own busy timeout would wait: the run waits,
  // loses nothing, and ends normally.
  {
    const pid_t holder = holdWriteLock(db, 12);
    auto args = tinySearch(wasm, dir, "2");
    args.insert(args.end(), {"--log", db.string(), "--quiet"});
    const CommandResult r = loom(args);
    int status = 0;
    ::waitpid(holder, &status, 0);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.err.find("not written"), std::string::npos) << r.err;
    EXPECT_EQ(sql(db, "SELECT count(*) FROM runs"), "2\n");
    EXPECT_GE(rows(), rows_before);
  }

  // Held for the whole run and beyond --log-wait: the rows are counted as
  // lost, and the exit status says the run is incomplete.
  {
    const pid_t holder = holdWriteLock(db, 120);
    auto args = tinySearch(wasm, dir, "5");
    args.insert(args.end(), {"--log", db.string(), "--log-wait", "1", "--quiet"});
    const CommandResult r = loom(args);
    release(holder);
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_NE(r.err.find("rows not written"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("incomplete"), std::string::npos) << r.err;
  }
}

// tune shares the policy: a log that cannot be written costs log rows
// (counted, exit 4), never the checkpoint.
TEST(Edges, TuneKeepsItsCheckpointWhenTheLogCannotBeWritten) {
  TempDir dir;
  const fs::path corpus = dir / "corpus";
  fs::create_directories(corpus);
  fs::copy_file(fixtureBinary("arith"), corpus / "arith.wasm");
  std::ofstream(corpus / "manifest.tsv") << "name\tsplit\tbytes\tsha256\tpath\n"
                                         << "arith\ttrain\t0\t-\t-\n";
  const fs::path db = dir / "tune.db";
  std::vector<std::string> base = {"tune", corpus.string()};
  base.insert(base.end(), kTiny.begin(), kTiny.end());
  base.insert(base.end(), {"--quiet", "--checkpoint", (dir / "tune.checkpoint.json").string()});
  auto first = base;
  first.insert(first.end(), {"--log", db.string()});
  ASSERT_EQ(loom(first).exit_code, 0);
  fs::remove(dir / "tune.checkpoint.json");

  // Another process holds the log's write lock for longer than the run.
  const pid_t holder = holdWriteLock(db, 300);
  auto second = base;
  second.insert(second.end(), {"--log", db.string(), "--log-wait", "1", "--seed", "9"});
  const CommandResult r = loom(second);
  release(holder);
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("rows not written"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::exists(dir / "tune.checkpoint.json")) << "the checkpoint was lost with the log";
}

TEST(Edges, APoisonedLogRowCannotMakeTheAnswerWorse) {
  TempDir dir;
  const fs::path wasm = dir / "m.wasm";
  fs::copy_file(fixtureBinary("helpers"), wasm);
  const fs::path db = dir / "runs.db";
  auto args = tinySearch(wasm, dir);
  args.insert(args.end(), {"--log", db.string(), "-o", (dir / "first.wasm").string(), "--quiet"});
  ASSERT_EQ(loom(args).exit_code, 0);
  const auto honest = fs::file_size(dir / "first.wasm");

  // The largest verified output of a pipeline now claims to be 20 bytes.
  sql(db,
      "UPDATE evaluations SET total_bytes = 20, code_bytes = 5, result = json_set(result, "
      "'$.metrics.total_bytes', 20, '$.metrics.code_bytes', 5) WHERE id = (SELECT id FROM "
      "evaluations WHERE verdict = 'proved' AND phases != '' ORDER BY total_bytes DESC LIMIT 1)");
  ASSERT_EQ(sql(db, "SELECT count(*) FROM evaluations WHERE total_bytes = 20"), "1\n");

  args = tinySearch(wasm, dir);
  args.insert(args.end(), {"--log", db.string(), "-o", (dir / "second.wasm").string(), "--report",
                           (dir / "second.json").string()});
  const CommandResult r = loom(args);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("re-ran"), std::string::npos) << "the lie went unnoticed:\n" << r.err;
  const auto written = fs::file_size(dir / "second.wasm");
  EXPECT_LE(written, honest);
  EXPECT_LE(written, fs::file_size(wasm));
  const auto report = nlohmann::json::parse(slurp(dir / "second.json"));
  EXPECT_EQ(report.at("written").at("total_bytes").get<std::uint64_t>(), written);
  ASSERT_EQ(report.at("written").at("from"), "best");
  EXPECT_TRUE(report.at("best").at("verified").get<bool>());
  EXPECT_EQ(report.at("best").at("total_bytes").get<std::uint64_t>(), written);
}

TEST(Edges, DamagedCheckpointsAreRefusedNamingTheFieldInSearchAndTune) {
  TempDir dir;
  const fs::path wasm = dir / "m.wasm";
  fs::copy_file(fixtureBinary("helpers"), wasm);
  const fs::path checkpoint = dir / "run.checkpoint.json";
  auto args = tinySearch(wasm, dir);
  args.push_back("--quiet");
  ASSERT_EQ(loom(args).exit_code, 0);
  const auto good = nlohmann::json::parse(slurp(checkpoint));
  ASSERT_TRUE(good.is_object());

  struct Damage {
    std::string what;
    std::function<void(nlohmann::json&)> edit;
    std::string needle;
  };
  const std::vector<Damage> damages = {
      {"a list",
       [](nlohmann::json& j) {
         j = nlohmann::json::array({1, 2, 3});
       },
       "not a checkpoint: a list"},
      {"negative generation", [](nlohmann::json& j) { j["generation"] = -5; },
       "field 'generation' is -5"},
      {"huge generation", [](nlohmann::json& j) { j["generation"] = 1e12; }, "field 'generation'"},
      {"fractional generation", [](nlohmann::json& j) { j["generation"] = 1.5; },
       "field 'generation'"},
      {"island without individuals",
       [](nlohmann::json& j) { j["islands"][0] = nlohmann::json::object(); },
       "islands[0].individuals"},
      {"short decision vector",
       [](nlohmann::json& j) { j["islands"][0]["individuals"][0]["x"] = {0.5}; },
       "islands[0].individuals[0].x"},
      {"negative elapsed time", [](nlohmann::json& j) { j["elapsed_seconds"] = -1; },
       "elapsed_seconds"},
      {"another schema", [](nlohmann::json& j) { j["schema"] = "something/9"; }, "schema"},
      {"broken archive",
       [](nlohmann::json& j) {
         j["archive"]["front"] = {{{"x", 1}}};
       },
       "field 'archive'"},
  };
  for (const auto& d : damages) {
    nlohmann::json j = good;
    d.edit(j);
    support::writeFileAtomic(checkpoint, j.dump());
    auto resume = args;
    resume.push_back("--resume");
    expectCleanError(loom(resume), d.needle, d.what);
    EXPECT_EQ(loom(resume).err.find("json.exception"), std::string::npos) << d.what;
  }

  // A number JSON cannot hold (found by run_files_fuzzer: nlohmann throws
  // out_of_range, not parse_error, for it).
  support::writeFileAtomic(checkpoint, std::string_view("{\"generation\": 20520566e0975}"));
  auto resume = args;
  resume.push_back("--resume");
  expectCleanError(loom(resume), "not valid JSON", "a number out of range");
  support::writeFileAtomic(dir / "input-config.json", std::string_view("[1e999]"));
  expectCleanError(loom({"apply", (dir / "input-config.json").string(), wasm.string(), "-o",
                         (dir / "o.wasm").string()}),
                   "not valid JSON", "a configuration with a number out of range");

  // tune reads its checkpoint with the same reader, so the same lines.
  const fs::path corpus = dir / "corpus";
  fs::create_directories(corpus);
  fs::copy_file(fixtureBinary("arith"), corpus / "arith.wasm");
  std::ofstream(corpus / "manifest.tsv") << "name\tsplit\tbytes\tsha256\tpath\n"
                                         << "arith\ttrain\t0\t-\t-\n";
  support::writeFileAtomic(dir / "tune.checkpoint.json", std::string_view("[1,2,3]"));
  expectCleanError(loom({"tune", corpus.string(), "--checkpoint",
                         (dir / "tune.checkpoint.json").string(), "--resume", "--quiet"}),
                   "not a checkpoint: a list", "tune, a list");
  support::writeFileAtomic(dir / "tune.checkpoint.json", std::string_view("{\"schema\": 3"));
  expectCleanError(loom({"tune", corpus.string(), "--checkpoint",
                         (dir / "tune.checkpoint.json").string(), "--resume", "--quiet"}),
                   "not valid JSON", "tune, truncated");
}

TEST(Edges, NumbersInConfigurationsAreRangeChecked) {
  TempDir dir;
  const std::string m = fixturePath("helpers").string();
  const std::string out = (dir / "out.wasm").string();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"phases": ["dce"], "inlining": {"always_inline_max_size": -7}})",
       "'inlining.always_inline_max_size' is -7"},
      {R"({"phases": ["dce"], "unroll": {"strategy": "all", "factor": -4}})",
       "'unroll.factor' is -4"},
      {R"({"phases": ["dce"], "unroll": {"strategy": "all", "factor": 1e300}})",
       "'unroll.factor' is 1e+300"},
      {R"({"phases": ["dce"], "optimize_level": 2.5})", "'optimize_level' is 2.5"},
  };
  for (const auto& [text, needle] : cases) {
    support::writeFileAtomic(dir / "input-config.json", std::string_view(text));
    expectCleanError(loom({"apply", (dir / "input-config.json").string(), m, "-o", out}), needle,
                     text);
  }
  EXPECT_FALSE(fs::exists(out));
}

TEST(Edges, NamesThatAreNotUtf8AreInvalidWebAssembly) {
  TempDir dir;
  // Latin-1 "café": the byte 0xE9 raw, and as the escape \e9 that the
  // specification reads as the same byte (Binaryen keeps it as text).
  const fs::path raw = dir / "raw.wat", escaped = dir / "escaped.wat";
  std::ofstream(raw) << "(module (func (export \"caf\xe9\") (result i32) (i32.const 1)))";
  std::ofstream(escaped) << "(module (func (export \"caf\\e9\") (result i32) (i32.const 1)))";
  for (const fs::path& wat : {raw, escaped}) {
    expectCleanError(loom({"baselines", wat.string()}), "not valid UTF-8", "baselines");
    expectCleanError(loom({wat.string(), "-o", (dir / "o.wasm").string()}), "not valid UTF-8",
                     "evolve");
    expectCleanError(loom({"apply", "Oz", wat.string(), "-o", (dir / "o.wasm").string()}),
                     "not valid UTF-8", "apply");
  }
  EXPECT_FALSE(fs::exists(dir / "o.wasm"));

  // A name that is valid UTF-8 beyond ASCII ("café" as UTF-8) is accepted.
  const fs::path good = dir / "utf8.wat";
  std::ofstream(good) << "(module (func (export \"caf\xc3\xa9\") (result i32) (i32.const 1)))";
  EXPECT_EQ(loom({"apply", "Oz", good.string(), "-o", (dir / "o.wasm").string(), "--unverified"})
                .exit_code,
            0);
}

TEST(Edges, MessagesForDirectoriesAndTooSmallMemory) {
  TempDir dir;
  expectCleanError(loom({"learn", dir.path().string()}), "is a directory", "learn DIR");

  // 50 MB cannot hold a worker: whatever fails says which option helps.
  const fs::path wasm = dir / "m.wasm";
  fs::copy_file(fixtureBinary("helpers"), wasm);
  auto args = tinySearch(wasm, dir);
  args.insert(args.end(), {"--memory-limit", "50", "--report", (dir / "r.json").string()});
  const CommandResult r = loom(args);
  EXPECT_NE(r.err.find("--memory-limit"), std::string::npos) << r.err;
  if (r.exit_code == 0) {
    const auto report = nlohmann::json::parse(slurp(dir / "r.json"));
    const auto& engine = report.at("engine");
    const auto& degraded = report.at("degraded");
    ASSERT_TRUE(degraded.contains("out-of-memory")) << degraded.dump();
    EXPECT_EQ(degraded.at("out-of-memory").at("candidates"),
              engine.at("by_status").at("out-of-memory"));
  }
}

TEST(Edges, ASecondInterruptSaysWhatItDid) {
  TempDir dir;
  const fs::path wasm = dir / "m.wasm";
  fs::copy_file(fixtureBinary("helpers"), wasm);
  auto args = tinySearch(wasm, dir);
  args[2] = "200";  // generations: long enough to interrupt
  args.insert(args.begin(), LOOM_EVOLVE_EXECUTABLE);
  const fs::path err = dir / "stderr.txt";
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // Past the set-up (the first generation's checkpoint exists), two
  // interrupts.
  const auto end = std::chrono::steady_clock::now() + 300s;
  while (!fs::exists(dir / "run.checkpoint.json") && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(fs::exists(dir / "run.checkpoint.json")) << slurp(err);
  // Two signals sent at once can merge into one pending signal: the second
  // goes once the first has been seen.
  ::kill(pid, SIGINT);
  while (slurp(err).find("stopping") == std::string::npos && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(10ms);
  ::kill(pid, SIGINT);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_NE(slurp(err).find("stopped at once"), std::string::npos) << slurp(err);
}

}  // namespace
}  // namespace loom::test
