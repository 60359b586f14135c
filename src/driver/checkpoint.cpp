#include "checkpoint.hpp"

#include <fmt/format.h>

#include <cmath>

#include "archipelago.hpp"
#include "loom/driver/archive.hpp"
#include "loom/support/files.hpp"

namespace loom::driver {

namespace {

std::string kindOf(const nlohmann::json& j) {
  if (j.is_array()) return "a list";
  if (j.is_string()) return "a string";
  if (j.is_number()) return "a number";
  if (j.is_boolean()) return "a boolean";
  if (j.is_null()) return "null";
  return "an object";
}

}  // namespace

std::uint64_t wholeNumberField(const nlohmann::json& j, const std::string& field,
                               std::uint64_t max) {
  const auto it = j.find(field);
  if (it == j.end()) throw std::invalid_argument(fmt::format("field '{}' is missing", field));
  const nlohmann::json& v = *it;
  const std::string range = fmt::format("must be a whole number from 0 to {}", max);
  if (v.is_number_unsigned()) {
    const auto n = v.get<std::uint64_t>();
    if (n > max) throw std::invalid_argument(fmt::format("field '{}' is {}: {}", field, n, range));
    return n;
  }
  if (v.is_number_integer())
    throw std::invalid_argument(
        fmt::format("field '{}' is {}: {}", field, v.get<std::int64_t>(), range));
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d >= 0 && d <= static_cast<double>(max) && d == std::floor(d))
      return static_cast<std::uint64_t>(d);
    throw std::invalid_argument(fmt::format("field '{}' is {}: {}", field, v.dump(), range));
  }
  throw std::invalid_argument(fmt::format("field '{}' is {}: {}", field, kindOf(v), range));
}

Checkpoint readCheckpoint(const std::filesystem::path& path,
                          const CheckpointExpectation& expected) {
  auto fail = [&](const std::string& why) {
    return CheckpointError(fmt::format("cannot resume from {}: {}", path.string(), why));
  };
  Checkpoint c;
  std::string text;
  try {
    text = support::readTextFile(path);
  } catch (const support::FileError& e) {
    throw CheckpointError(fmt::format("cannot resume: {}", e.what()));
  }
  try {
    c.json = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {  // parse_error, or out_of_range: 1e999
    throw fail("not valid JSON (a damaged or truncated checkpoint)");
  }
  if (!c.json.is_object())
    throw fail(fmt::format("not a checkpoint: {} where an object was expected", kindOf(c.json)));
  const auto schema = c.json.find("schema");
  if (schema == c.json.end() || !schema->is_string() || *schema != expected.schema) {
    throw fail(fmt::format("not a checkpoint of this command (schema {}, expected \"{}\")",
                           schema == c.json.end() ? "missing" : schema->dump(), expected.schema));
  }
  const auto subject = c.json.find(expected.subject_field);
  if (subject == c.json.end() || !subject->is_string() || *subject != expected.subject)
    throw CheckpointError(
        fmt::format("cannot resume: {} {}", path.string(), expected.subject_mismatch));
  if (c.json.value("identity", nlohmann::json()) != expected.identity)
    throw CheckpointError(
        fmt::format("cannot resume: {} was made with different search options", path.string()));
  try {
    c.generation = static_cast<unsigned>(wholeNumberField(c.json, "generation", kMaxGenerations));
    if (expected.has_evaluations)
      c.evaluations = wholeNumberField(c.json, "evaluations", std::uint64_t{1} << 53);
    const auto elapsed = c.json.find("elapsed_seconds");
    if (elapsed == c.json.end() || !elapsed->is_number() ||
        !std::isfinite(elapsed->get<double>()) || elapsed->get<double>() < 0)
      throw std::invalid_argument("field 'elapsed_seconds' must be a non-negative number");
    c.elapsed_seconds = elapsed->get<double>();
    for (const char* field : {"islands", "migrations"}) {
      if (!c.json.contains(field) || !c.json[field].is_array())
        throw std::invalid_argument(fmt::format("field '{}' is missing or not a list", field));
    }
    if (!c.json.contains("archive") || !c.json["archive"].is_object())
      throw std::invalid_argument("field 'archive' is missing or not an object");
  } catch (const std::invalid_argument& e) {
    throw fail(e.what());
  }
  return c;
}

void restoreIslands(Archipelago& islands, const Checkpoint& checkpoint,
                    const std::filesystem::path& path) {
  try {
    islands.restore(checkpoint.json.at("islands"), checkpoint.json.at("migrations"));
  } catch (const std::exception& e) {
    throw CheckpointError(fmt::format("cannot resume from {}: {}", path.string(), e.what()));
  }
  try {
    Archive().restore(checkpoint.json.at("archive"));
  } catch (const std::exception&) {
    throw CheckpointError(
        fmt::format("cannot resume from {}: field 'archive' holds a candidate of the wrong shape",
                    path.string()));
  }
}

}  // namespace loom::driver
