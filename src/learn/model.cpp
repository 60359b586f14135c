#include "loom/learn/model.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "loom/pipeline/builtins.hpp"
#include "loom/pipeline/phase.hpp"

namespace loom::learn {

std::string_view targetName(Target target) {
  return target == Target::Size ? "size" : "cycles";
}

// ---------------------------------------------------------------- the log

namespace {

struct Db {
  sqlite3* db = nullptr;
  ~Db() { sqlite3_close(db); }
};

struct Query {
  sqlite3_stmt* stmt = nullptr;
  Query(sqlite3* db, const char* sql, const std::filesystem::path& path) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      throw LearnError(
          fmt::format("{}: not an evaluation log: {}", path.string(), sqlite3_errmsg(db)));
    }
  }
  ~Query() { sqlite3_finalize(stmt); }
  std::string text(int i) const {
    const auto* s = reinterpret_cast<const char*>(sqlite3_column_text(stmt, i));
    return s ? s : "";
  }
};

}  // namespace

Dataset loadLog(const std::filesystem::path& path, const LoadOptions& options) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw LearnError(
        fmt::format("{}: is a directory; give the evaluation log's file", path.string()));
  }
  if (!std::filesystem::is_regular_file(path, ec)) {
    throw LearnError(fmt::format("{}: no such file", path.string()));
  }
  Db db;
  if (sqlite3_open_v2(path.c_str(), &db.db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    throw LearnError(fmt::format("{}: cannot open: {}", path.string(),
                                 db.db ? sqlite3_errmsg(db.db) : "out of memory"));
  }
  sqlite3_busy_timeout(db.db, 10000);

  std::unordered_map<std::string, std::string> names;  // module sha -> file name
  {
    Query q(db.db, "SELECT module_sha256, module_path FROM runs ORDER BY run_id", path);
    int rc;
    while ((rc = sqlite3_step(q.stmt)) == SQLITE_ROW) {
      names[q.text(0)] = std::filesystem::path(q.text(1)).filename().string();
    }
    if (rc != SQLITE_DONE)
      throw LearnError(fmt::format("{}: {}", path.string(), sqlite3_errmsg(db.db)));
  }

  const std::string oz_key = pipeline::builtinConfig("Oz")->key().hex();
  const char* measure = options.target == Target::Size ? "total_bytes" : "cycles";
  const std::string sql = fmt::format(
      "SELECT module_sha256, config_key, config, status, verdict, {} FROM evaluations ORDER BY id "
      "DESC",
      measure);
  Query q(db.db, sql.c_str(), path);

  Dataset data;
  data.target = options.target;
  std::unordered_map<std::string, std::size_t> module_index;
  std::unordered_set<std::string> seen;  // module + config key
  struct Raw {
    std::size_t module;
    std::string config;
    double measure;
  };
  std::vector<Raw> raw;
  int rc;
  while ((rc = sqlite3_step(q.stmt)) == SQLITE_ROW) {
    ++data.evaluations;
    const std::string sha = q.text(0), key = q.text(1), status = q.text(3), verdict = q.text(4);
    if (status != "ok" || sqlite3_column_type(q.stmt, 5) == SQLITE_NULL) continue;
    const double value = sqlite3_column_double(q.stmt, 5);
    if (!(value > 0)) continue;
    auto [it, added] = module_index.try_emplace(sha, data.modules.size());
    if (added) {
      ModuleInfo m;
      m.sha256 = sha;
      auto name = names.find(sha);
      m.name = name != names.end() ? name->second : sha.substr(0, 12);
      data.modules.push_back(m);
    }
    ModuleInfo& module = data.modules[it->second];
    if (key == oz_key && !module.has_oz) {
      module.has_oz = true;
      module.reference = value;
    }
    const bool verified = verdict == "proved" || (options.allow_bounded && verdict == "bounded");
    if (!verified) continue;
    ++data.verified;
    if (!seen.insert(sha + key).second) continue;  // most recent row per configuration
    raw.push_back({it->second, q.text(2), value});
  }
  if (rc != SQLITE_DONE)
    throw LearnError(fmt::format("{}: {}", path.string(), sqlite3_errmsg(db.db)));
  if (raw.empty()) {
    throw LearnError(fmt::format("{}: no verified evaluations ({} evaluations in the log)",
                                 path.string(), data.evaluations));
  }

  // Modules without an -Oz row: the geometric mean stands in (per-module
  // centring removes it from the fit anyway).
  std::vector<double> log_sum(data.modules.size(), 0);
  std::vector<std::size_t> count(data.modules.size(), 0);
  for (const auto& r : raw) {
    log_sum[r.module] += std::log(r.measure);
    ++count[r.module];
  }
  for (std::size_t m = 0; m < data.modules.size(); ++m) {
    if (!data.modules[m].has_oz && count[m])
      data.modules[m].reference = std::exp(log_sum[m] / count[m]);
  }
  // Oldest first, like the log.
  for (auto it = raw.rbegin(); it != raw.rend(); ++it) {
    Row row;
    try {
      row.config = pipeline::PipelineConfig::fromJson(nlohmann::json::parse(it->config));
    } catch (const std::exception&) {
      continue;  // a row from an incompatible version
    }
    row.module = it->module;
    row.value = std::log(it->measure / data.modules[it->module].reference);
    ++data.modules[it->module].rows;
    data.rows.push_back(std::move(row));
  }
  // Modules that contributed only non-verified rows are dropped.
  std::vector<std::size_t> remap(data.modules.size());
  std::vector<ModuleInfo> kept;
  for (std::size_t m = 0; m < data.modules.size(); ++m) {
    remap[m] = kept.size();
    if (data.modules[m].rows) kept.push_back(data.modules[m]);
  }
  for (auto& r : data.rows) r.module = remap[r.module];
  data.modules = std::move(kept);
  return data;
}

// ---------------------------------------------------------------- features

namespace {

using Key = std::uint64_t;

Key makeKey(FeatureKind kind, std::uint32_t a, std::uint32_t b) {
  return (static_cast<Key>(kind) << 56) | (static_cast<Key>(a & 0xffffff) << 32) | b;
}
FeatureKind kindOf(Key k) {
  return static_cast<FeatureKind>(k >> 56);
}
std::uint32_t firstOf(Key k) {
  return static_cast<std::uint32_t>((k >> 32) & 0xffffff);
}
std::uint32_t secondOf(Key k) {
  return static_cast<std::uint32_t>(k & 0xffffffff);
}

enum Setting : std::uint32_t {
  kOptimizeLevel,
  kShrinkLevel,
  kFlexibleInline,
  kOneCallerInline,
  kInlineLoops,
  kUnrollStrategy,
  kUnrollFactor,
  kUnrollBody,
};
constexpr const char* kSettingNames[] = {"optimize-level",
                                         "shrink-level",
                                         "flexible-inline-max-size",
                                         "one-caller-inline-max-size",
                                         "inline-functions-with-loops",
                                         "unroll-strategy",
                                         "unroll-factor",
                                         "unroll-body-limit"};
enum Numeric : std::uint32_t { kAlwaysInline, kLength, kDistinct };
constexpr const char* kNumericNames[] = {"always-inline-max-size", "pipeline length",
                                         "distinct phases"};

using Sparse = std::vector<std::pair<Key, double>>;

Sparse featuresOf(const pipeline::PipelineConfig& c) {
  Sparse out;
  // First position and count of each phase, by vocabulary index.
  std::vector<std::pair<std::uint32_t, std::size_t>> first;  // (phase, position)
  std::unordered_map<std::uint32_t, std::size_t> counts;
  for (std::size_t i = 0; i < c.phases.size(); ++i) {
    const auto index = pipeline::phaseIndex(c.phases[i]);
    if (!index) continue;
    const auto p = static_cast<std::uint32_t>(*index);
    if (counts[p]++ == 0) first.emplace_back(p, i);
  }
  for (const auto& [p, n] : counts) {
    out.emplace_back(makeKey(FeatureKind::Presence, p, 0), 1.0);
    if (n >= 2) out.emplace_back(makeKey(FeatureKind::Repeat, p, 0), 1.0);
  }
  for (std::size_t i = 0; i < first.size(); ++i) {
    for (std::size_t j = i + 1; j < first.size(); ++j) {
      // first[i] comes before first[j] in the pipeline.
      const auto a = first[i].first, b = first[j].first;
      if (a < b)
        out.emplace_back(makeKey(FeatureKind::Order, a, b), 1.0);
      else
        out.emplace_back(makeKey(FeatureKind::Order, b, a), -1.0);
    }
  }
  const bool unrolls = c.unrolls();
  const std::uint32_t settings[] = {
      static_cast<std::uint32_t>(c.optimize_level),
      static_cast<std::uint32_t>(c.shrink_level),
      c.inlining.flexible_inline_max_size,
      c.inlining.one_caller_inline_max_size,
      c.inlining.allow_functions_with_loops ? 1u : 0u,
      unrolls ? static_cast<std::uint32_t>(c.unroll.strategy) : 0u,
      unrolls ? c.unroll.factor : 1u,
      unrolls ? c.unroll.max_body_size : 0u,
  };
  for (std::uint32_t s = 0; s < std::size(settings); ++s) {
    out.emplace_back(makeKey(FeatureKind::Setting, s, settings[s]), 1.0);
  }
  out.emplace_back(makeKey(FeatureKind::Numeric, kAlwaysInline, 0),
                   std::log2(1.0 + c.inlining.always_inline_max_size));
  out.emplace_back(makeKey(FeatureKind::Numeric, kLength, 0),
                   std::log2(1.0 + static_cast<double>(c.phases.size())));
  out.emplace_back(makeKey(FeatureKind::Numeric, kDistinct, 0),
                   std::log2(1.0 + static_cast<double>(first.size())));
  return out;
}

std::string phaseName(std::uint32_t index) {
  const auto phases = pipeline::allPhases();
  return index < phases.size() ? std::string(phases[index].name) : fmt::format("phase#{}", index);
}

std::string settingValue(std::uint32_t setting, std::uint32_t value) {
  switch (setting) {
    case kOneCallerInline:
      return value == UINT32_MAX ? "unlimited" : std::to_string(value);
    case kInlineLoops:
      return value ? "on" : "off";
    case kUnrollStrategy:
      return std::string(
          pipeline::unrollStrategyName(static_cast<pipeline::UnrollStrategy>(value)));
    case kUnrollBody:
      return value ? std::to_string(value) : "none";
    default:
      return std::to_string(value);
  }
}

// The label of the statement a positive feature value makes.
std::string labelOf(Key k, const std::unordered_map<std::uint32_t, std::uint32_t>& reference) {
  const auto a = firstOf(k), b = secondOf(k);
  switch (kindOf(k)) {
    case FeatureKind::Presence:
      return fmt::format("{} present", phaseName(a));
    case FeatureKind::Repeat:
      return fmt::format("{} 2+ times", phaseName(a));
    case FeatureKind::Order:
      return fmt::format("{} before {}", phaseName(a), phaseName(b));
    case FeatureKind::Setting: {
      auto ref = reference.find(a);
      return fmt::format("{} {} (vs {})", kSettingNames[a], settingValue(a, b),
                         ref == reference.end() ? "?" : settingValue(a, ref->second));
    }
    case FeatureKind::Numeric:
      return fmt::format("{}, per doubling", kNumericNames[a]);
  }
  return "?";
}

}  // namespace

// ---------------------------------------------------------------- the fit

Model Model::fit(const Dataset& data, const FitOptions& options) {
  const std::size_t n = data.rows.size();
  if (n < options.min_rows) {
    throw LearnError(
        fmt::format("only {} verified evaluations; at least {} are needed", n, options.min_rows));
  }
  // Candidate features and how often they occur.
  std::vector<Sparse> sparse(n);
  struct Stats {
    std::size_t nonzero = 0, plus = 0, minus = 0;
    double sum = 0, sum2 = 0;
  };
  std::unordered_map<Key, Stats> stats;
  for (std::size_t i = 0; i < n; ++i) {
    sparse[i] = featuresOf(data.rows[i].config);
    for (const auto& [k, v] : sparse[i]) {
      Stats& s = stats[k];
      if (v != 0) ++s.nonzero;
      if (v > 0) ++s.plus;
      if (v < 0) ++s.minus;
      s.sum += v;
      s.sum2 += v * v;
    }
  }
  // The most common value of each setting is the reference level.
  std::unordered_map<std::uint32_t, std::uint32_t> reference;
  {
    std::unordered_map<std::uint32_t, std::size_t> best;
    for (const auto& [k, s] : stats) {
      if (kindOf(k) != FeatureKind::Setting) continue;
      const auto setting = firstOf(k);
      auto it = best.find(setting);
      if (it == best.end() || s.nonzero > it->second ||
          (s.nonzero == it->second && secondOf(k) < reference[setting])) {
        best[setting] = s.nonzero;
        reference[setting] = secondOf(k);
      }
    }
  }
  const auto needed =
      static_cast<std::size_t>(std::ceil(options.min_share * static_cast<double>(n)));
  const std::size_t minority =
      std::max<std::size_t>(3, static_cast<std::size_t>(std::ceil(0.01 * static_cast<double>(n))));
  std::vector<Key> candidates;
  for (const auto& [k, s] : stats) {
    bool keep = false;
    switch (kindOf(k)) {
      case FeatureKind::Presence:
      case FeatureKind::Repeat:
        keep = s.nonzero >= needed && s.nonzero < n;
        break;
      case FeatureKind::Setting:
        keep = s.nonzero >= needed && s.nonzero < n && reference[firstOf(k)] != secondOf(k);
        break;
      case FeatureKind::Order:
        keep = s.nonzero >= needed && std::min(s.plus, s.minus) >= minority;
        break;
      case FeatureKind::Numeric: {
        const double mean = s.sum / static_cast<double>(n);
        keep = s.sum2 / static_cast<double>(n) - mean * mean > 1e-12;
        break;
      }
    }
    if (keep) candidates.push_back(k);
  }
  std::sort(candidates.begin(), candidates.end());

  // Dense raw features, then centred within each module.
  std::unordered_map<Key, std::size_t> column;
  for (std::size_t j = 0; j < candidates.size(); ++j) column[candidates[j]] = j;
  const std::size_t p0 = candidates.size();
  Eigen::MatrixXd raw =
      Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(p0));
  Eigen::VectorXd y(static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto& [k, v] : sparse[i]) {
      auto it = column.find(k);
      if (it != column.end())
        raw(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(it->second)) = v;
    }
    y(static_cast<Eigen::Index>(i)) = data.rows[i].value;
  }
  const std::size_t modules = data.modules.size();
  std::vector<std::vector<Eigen::Index>> members(modules);
  for (std::size_t i = 0; i < n; ++i)
    members[data.rows[i].module].push_back(static_cast<Eigen::Index>(i));
  Eigen::MatrixXd x = raw;
  Eigen::VectorXd yw = y;
  for (const auto& rows : members) {
    if (rows.empty()) continue;
    Eigen::RowVectorXd mean = Eigen::RowVectorXd::Zero(x.cols());
    double ymean = 0;
    for (auto i : rows) {
      mean += x.row(i);
      ymean += y(i);
    }
    mean /= static_cast<double>(rows.size());
    ymean /= static_cast<double>(rows.size());
    for (auto i : rows) {
      x.row(i) -= mean;
      yw(i) -= ymean;
    }
  }

  // Drop features constant within every module; fold exact duplicates (or
  // negations) into the first of them.
  std::vector<std::size_t> kept;
  std::vector<double> scale;
  std::vector<std::vector<std::pair<std::size_t, bool>>> folded;  // per kept: (candidate, negated)
  {
    std::unordered_map<std::size_t, std::vector<std::size_t>> by_hash;  // hash -> positions in kept
    for (std::size_t j = 0; j < p0; ++j) {
      const auto col = x.col(static_cast<Eigen::Index>(j));
      const double sd = std::sqrt(col.squaredNorm() / static_cast<double>(n));
      if (sd < 1e-9) continue;
      // Sign-normalised fingerprint of the standardised column.
      double sign = 0;
      for (Eigen::Index i = 0; i < col.size() && sign == 0; ++i) {
        if (std::abs(col(i)) > 1e-9) sign = col(i) > 0 ? 1 : -1;
      }
      std::size_t h = 0;
      for (Eigen::Index i = 0; i < col.size(); ++i) {
        const auto q = static_cast<long long>(std::llround(sign * col(i) / sd * 1e6));
        h = h * 1000003u ^ std::hash<long long>{}(q);
      }
      bool duplicate = false;
      for (auto pos : by_hash[h]) {
        const auto other = x.col(static_cast<Eigen::Index>(kept[pos]));
        const double other_sd = scale[pos];
        const double same = (col / sd - other / other_sd).cwiseAbs().maxCoeff();
        const double negated = (col / sd + other / other_sd).cwiseAbs().maxCoeff();
        if (same < 1e-9 || negated < 1e-9) {
          folded[pos].emplace_back(j, negated < 1e-9);
          duplicate = true;
          break;
        }
      }
      if (duplicate) continue;
      by_hash[h].push_back(kept.size());
      kept.push_back(j);
      scale.push_back(sd);
      folded.emplace_back();
    }
  }
  const std::size_t p = kept.size();
  if (p == 0)
    throw LearnError(fmt::format("no feature varies within a module in enough of the {} rows", n));

  Eigen::MatrixXd z(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(p));
  for (std::size_t j = 0; j < p; ++j) {
    z.col(static_cast<Eigen::Index>(j)) = x.col(static_cast<Eigen::Index>(kept[j])) / scale[j];
  }
  const double penalty = options.lambda * static_cast<double>(n);
  Eigen::VectorXd b;
  if (p <= n) {
    Eigen::MatrixXd gram = z.transpose() * z;
    gram.diagonal().array() += penalty;
    b = gram.llt().solve(z.transpose() * yw);
  } else {
    Eigen::MatrixXd gram = z * z.transpose();
    gram.diagonal().array() += penalty;
    b = z.transpose() * gram.llt().solve(yw);
  }
  const Eigen::VectorXd fitted = z * b;

  Model model;
  model.rows_ = n;
  model.modules_ = static_cast<std::size_t>(
      std::count_if(members.begin(), members.end(), [](const auto& m) { return !m.empty(); }));
  model.lambda_ = options.lambda;
  const double tss = yw.squaredNorm();
  model.within_r2_ = tss > 0 ? 1 - (yw - fitted).squaredNorm() / tss : 0;
  model.mean_ = y.mean();
  for (std::size_t j = 0; j < p; ++j) {
    model.keys_.push_back(candidates[kept[j]]);
    model.weights_.push_back(b(static_cast<Eigen::Index>(j)) / scale[j]);
    model.means_.push_back(raw.col(static_cast<Eigen::Index>(kept[j])).mean());
  }

  // Effects, with the within-module sign of each feature's partial residual slope.
  const Eigen::VectorXd residual = yw - fitted;
  for (std::size_t j = 0; j < p; ++j) {
    const auto jj = static_cast<Eigen::Index>(j);
    const Key k = model.keys_[j];
    Effect e;
    e.kind = kindOf(k);
    e.label = labelOf(k, reference);
    e.importance = std::abs(b(jj));
    e.rows = stats[k].nonzero;
    double w = model.weights_[j];
    if (e.kind == FeatureKind::Order) {
      w *= 2;  // A first rather than B first: from -1 to +1
      if (w > 0) {
        e.label = fmt::format("{} before {}", phaseName(secondOf(k)), phaseName(firstOf(k)));
        w = -w;
      }
    }
    e.coefficient = w;
    e.percent = 100.0 * (std::exp(w) - 1.0);
    const Eigen::VectorXd partial = residual + z.col(jj) * b(jj);
    for (const auto& rows : members) {
      double sxx = 0, sxy = 0;
      std::size_t nonzero = 0;
      for (auto i : rows) {
        sxx += z(i, jj) * z(i, jj);
        sxy += z(i, jj) * partial(i);
        if (raw(i, static_cast<Eigen::Index>(kept[j])) != 0) ++nonzero;
      }
      // An indicator needs both values in the module; a contrast or a number only variation.
      const bool indicator = e.kind != FeatureKind::Order && e.kind != FeatureKind::Numeric;
      if (sxx < 1e-12 || nonzero < 2 || (indicator && rows.size() - nonzero < 2)) continue;
      ++e.modules_varying;
      if ((sxy > 0) == (b(jj) > 0) && sxy != 0) ++e.modules_agree;
    }
    std::vector<std::string> aliases;
    for (const auto& [c, negated] : folded[j]) {
      aliases.push_back((negated ? "not: " : "") + labelOf(candidates[c], reference));
    }
    for (std::size_t a = 0; a < aliases.size(); ++a) e.aliases += (a ? "; " : "") + aliases[a];
    model.effects_.push_back(std::move(e));
  }
  std::stable_sort(model.effects_.begin(), model.effects_.end(),
                   [](const Effect& l, const Effect& r) { return l.importance > r.importance; });
  return model;
}

double Model::predict(const pipeline::PipelineConfig& config) const {
  std::unordered_map<Key, double> values;
  for (const auto& [k, v] : featuresOf(config)) values[k] = v;
  double out = mean_;
  for (std::size_t j = 0; j < keys_.size(); ++j) {
    auto it = values.find(keys_[j]);
    out += weights_[j] * ((it == values.end() ? 0.0 : it->second) - means_[j]);
  }
  return out;
}

// ---------------------------------------------------------------- validation

namespace {

std::vector<double> ranks(std::span<const double> v) {
  std::vector<std::size_t> order(v.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double mean_rank = (static_cast<double>(i) + static_cast<double>(j)) / 2.0;
    for (std::size_t k = i; k <= j; ++k) r[order[k]] = mean_rank;
    i = j + 1;
  }
  return r;
}

double distinctPhases(const pipeline::PipelineConfig& c) {
  std::unordered_set<std::string_view> names(c.phases.begin(), c.phases.end());
  return static_cast<double>(names.size());
}

}  // namespace

double spearman(std::span<const double> a, std::span<const double> b) {
  if (a.size() != b.size() || a.size() < 2) return 0;
  const auto ra = ranks(a), rb = ranks(b);
  const double n = static_cast<double>(a.size());
  const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n;
  const double mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < ra.size(); ++i) {
    sab += (ra[i] - ma) * (rb[i] - mb);
    saa += (ra[i] - ma) * (ra[i] - ma);
    sbb += (rb[i] - mb) * (rb[i] - mb);
  }
  if (saa <= 0 || sbb <= 0) return 0;
  return sab / std::sqrt(saa * sbb);
}

// The number-of-distinct-phases baseline, oriented by the sign of its
// within-module slope on the training rows.
static double baselineSign(const Dataset& train) {
  std::vector<double> sum_x(train.modules.size(), 0), sum_y(train.modules.size(), 0),
      count(train.modules.size(), 0);
  for (const auto& r : train.rows) {
    sum_x[r.module] += distinctPhases(r.config);
    sum_y[r.module] += r.value;
    ++count[r.module];
  }
  double sxy = 0;
  for (const auto& r : train.rows) {
    sxy += (distinctPhases(r.config) - sum_x[r.module] / count[r.module]) *
           (r.value - sum_y[r.module] / count[r.module]);
  }
  return sxy < 0 ? -1.0 : 1.0;
}

Validation crossValidate(const Dataset& data, const FitOptions& options, unsigned folds,
                         std::uint64_t seed) {
  if (folds < 2) throw LearnError("cross-validation needs at least 2 folds");
  const std::size_t n = data.rows.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<double> predicted(n, 0), baseline(n, 0);
  for (unsigned f = 0; f < folds; ++f) {
    Dataset train;
    train.modules = data.modules;
    train.target = data.target;
    std::vector<std::size_t> held;
    for (std::size_t i = 0; i < n; ++i) {
      if (i % folds == f)
        held.push_back(order[i]);
      else
        train.rows.push_back(data.rows[order[i]]);
    }
    const Model model = Model::fit(train, options);
    for (auto i : held) predicted[i] = model.predict(data.rows[i].config);
    const double sign = baselineSign(train);
    for (auto i : held) baseline[i] = sign * distinctPhases(data.rows[i].config);
  }
  Validation v;
  v.folds = folds;
  double weighted = 0, weighted_baseline = 0;
  std::size_t weight = 0;
  for (std::size_t m = 0; m < data.modules.size(); ++m) {
    std::vector<double> p, b, t;
    for (std::size_t i = 0; i < n; ++i) {
      if (data.rows[i].module != m) continue;
      p.push_back(predicted[i]);
      b.push_back(baseline[i]);
      t.push_back(data.rows[i].value);
    }
    if (p.size() < 3) continue;
    const double rho = spearman(p, t);
    v.per_module[data.modules[m].name] = rho;
    weighted += rho * static_cast<double>(p.size());
    weighted_baseline += spearman(b, t) * static_cast<double>(p.size());
    weight += p.size();
  }
  v.rows = weight;
  v.spearman = weight ? weighted / static_cast<double>(weight) : 0;
  v.baseline_spearman = weight ? weighted_baseline / static_cast<double>(weight) : 0;
  return v;
}

Validation leaveOneModuleOut(const Dataset& data, const FitOptions& options) {
  Validation v;
  double weighted = 0, weighted_baseline = 0;
  for (std::size_t m = 0; m < data.modules.size(); ++m) {
    Dataset train;
    train.modules = data.modules;
    train.target = data.target;
    std::vector<double> p, b, t;
    for (const auto& r : data.rows) {
      if (r.module != m) train.rows.push_back(r);
    }
    if (train.rows.size() < options.min_rows) continue;
    const Model model = Model::fit(train, options);
    const double sign = baselineSign(train);
    for (const auto& r : data.rows) {
      if (r.module != m) continue;
      p.push_back(model.predict(r.config));
      b.push_back(sign * distinctPhases(r.config));
      t.push_back(r.value);
    }
    if (p.size() < 3) continue;
    const double rho = spearman(p, t);
    v.per_module[data.modules[m].name] = rho;
    weighted += rho * static_cast<double>(p.size());
    weighted_baseline += spearman(b, t) * static_cast<double>(p.size());
    v.rows += p.size();
    ++v.folds;
  }
  v.spearman = v.rows ? weighted / static_cast<double>(v.rows) : 0;
  v.baseline_spearman = v.rows ? weighted_baseline / static_cast<double>(v.rows) : 0;
  return v;
}

// ---------------------------------------------------------------- output

nlohmann::json toJson(const Dataset& data, const Model& model, const Validation* validation,
                      std::size_t top, const Validation* across_modules) {
  nlohmann::json j;
  j["objective"] = targetName(data.target);
  j["evaluations"] = data.evaluations;
  j["verified"] = data.verified;
  j["rows"] = model.rows();
  j["modules"] = nlohmann::json::array();
  for (const auto& m : data.modules) {
    j["modules"].push_back(
        {{"name", m.name},
         {"sha256", m.sha256},
         {"rows", m.rows},
         {"oz", m.has_oz ? nlohmann::json(m.reference) : nlohmann::json(nullptr)}});
  }
  j["features"] = model.features();
  j["lambda"] = model.lambda();
  j["within_r2"] = model.withinR2();
  if (validation) {
    j["validation"] = {{"folds", validation->folds},
                       {"rows", validation->rows},
                       {"spearman", validation->spearman},
                       {"baseline_spearman", validation->baseline_spearman},
                       {"per_module", validation->per_module}};
  }
  if (across_modules) {
    j["leave_one_module_out"] = {{"modules", across_modules->folds},
                                 {"rows", across_modules->rows},
                                 {"spearman", across_modules->spearman},
                                 {"baseline_spearman", across_modules->baseline_spearman},
                                 {"per_module", across_modules->per_module}};
  }
  static constexpr const char* kKinds[] = {"presence", "repeat", "order", "setting", "numeric"};
  j["effects"] = nlohmann::json::array();
  for (std::size_t i = 0; i < model.effects().size() && i < top; ++i) {
    const Effect& e = model.effects()[i];
    nlohmann::json x = {{"kind", kKinds[static_cast<int>(e.kind)]},
                        {"feature", e.label},
                        {"coefficient", e.coefficient},
                        {"percent", e.percent},
                        {"importance", e.importance},
                        {"rows", e.rows},
                        {"modules_agree", e.modules_agree},
                        {"modules_varying", e.modules_varying}};
    if (!e.aliases.empty()) x["same_rows_as"] = e.aliases;
    j["effects"].push_back(std::move(x));
  }
  return j;
}

}  // namespace loom::learn
