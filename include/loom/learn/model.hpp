// What generally works: a ridge least-squares model, fitted on the evaluation
// log (docs/evaluation-log.md), of how phase presence, repeats, precedences
// ("A before B") and settings move the verified output's size (or cycles)
// relative to the module's -Oz result. Per-module fixed effects: targets and
// features are centred within each module, so only differences between
// pipelines on the same module count. Method and results:
// docs/learned-model.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "loom/pipeline/config.hpp"

namespace loom::learn {

// Bad input (no such file, not an evaluation log, too little data): one line.
class LearnError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Target { Size, Cycles };

std::string_view targetName(Target target);  // "size", "cycles"

// One verified evaluation.
struct Row {
  std::size_t module = 0;  // index into Dataset::modules
  pipeline::PipelineConfig config;
  double value = 0;  // log(measure / the module's -Oz measure)
};

struct ModuleInfo {
  std::string sha256;
  std::string name;      // file name from the runs table, or a sha prefix
  double reference = 0;  // the -Oz measure the values are relative to
  bool has_oz =
      false;  // false: no -Oz row; reference is the geometric mean (the fit is unaffected)
  std::size_t rows = 0;
};

struct Dataset {
  std::vector<ModuleInfo> modules;
  std::vector<Row> rows;
  Target target = Target::Size;
  std::size_t evaluations = 0;  // rows in the log
  std::size_t verified = 0;     // verified rows before removing repeated configurations
};

struct LoadOptions {
  Target target = Target::Size;
  bool allow_bounded = false;  // count "bounded" verdicts as verified
};

// Reads the verified rows of an evaluation log (read-only). A configuration
// logged more than once for a module counts once. Throws LearnError.
Dataset loadLog(const std::filesystem::path& path, const LoadOptions& options = {});

struct FitOptions {
  // Ridge penalty per row, on standardised features. 1 ranks held-out rows
  // best on the measured log (docs/learned-model.md) but shrinks effects
  // (about halves an uncorrelated one); 0.01 leaves them nearly unbiased
  // when rows far outnumber features.
  double lambda = 1.0;
  double min_share = 0.05;    // a feature must be non-zero in this share of the rows...
  std::size_t min_rows = 30;  // ...and the data must have this many rows
};

enum class FeatureKind {
  Presence,  // phase A appears
  Repeat,    // phase A appears two or more times
  Order,     // +1: first A before first B; -1: first B before first A; 0: not both present
  Setting,   // a setting has this value (rather than the most common one)
  Numeric,   // log2(1 + value): always-inline size, pipeline length, distinct phases
};

struct Effect {
  FeatureKind kind = FeatureKind::Presence;
  std::string label;                // "inlining-optimizing before cse", "flatten present", ...
  double coefficient = 0;           // change of log(target ratio) per unit of the label's statement
  double percent = 0;               // the same as a change in percent of the target
  double importance = 0;            // |standardised coefficient|: what the ranking uses
  std::size_t rows = 0;             // rows where the feature is non-zero
  std::size_t modules_agree = 0;    // modules whose within-module effect has the same sign
  std::size_t modules_varying = 0;  // modules where the feature varies at all
  std::string aliases;  // other features with exactly the same values (folded into this one)
};

class Model {
 public:
  // Throws LearnError when there are fewer than min_rows rows or no usable feature.
  static Model fit(const Dataset& data, const FitOptions& options = {});

  // Predicted log(target / -Oz target) of a configuration for a typical
  // module of the training data. Only differences between configurations
  // are meaningful: a surrogate for ranking candidates before evaluating them.
  double predict(const pipeline::PipelineConfig& config) const;

  // Every feature's effect, strongest (largest standardised coefficient) first.
  const std::vector<Effect>& effects() const { return effects_; }

  std::size_t rows() const { return rows_; }
  std::size_t modules() const { return modules_; }
  std::size_t features() const { return keys_.size(); }
  double lambda() const { return lambda_; }
  double withinR2() const { return within_r2_; }  // in-sample, on module-centred values

 private:
  std::vector<std::uint64_t> keys_;  // feature keys in column order
  std::vector<double> weights_;      // raw-scale coefficients
  std::vector<double> means_;        // raw feature means over the training rows
  double mean_ = 0;                  // mean target over the training rows
  std::vector<Effect> effects_;
  std::size_t rows_ = 0, modules_ = 0;
  double lambda_ = 0, within_r2_ = 0;
};

// Spearman rank correlation (ties get their mean rank); 0 when either side is constant.
double spearman(std::span<const double> a, std::span<const double> b);

struct Validation {
  unsigned folds = 0;
  std::size_t rows = 0;  // held-out rows that were predicted
  double spearman = 0;   // within-module rank correlation, averaged over modules by rows
  // The same for a one-feature baseline: the number of distinct phases, with
  // the sign of its within-module slope on the training rows. The model is
  // worth something only where it beats this.
  double baseline_spearman = 0;
  std::map<std::string, double> per_module;  // module name -> its held-out Spearman
};

// k-fold cross-validation over rows (shuffled with `seed`): fit on k-1 folds,
// predict the held-out fold, and rank-correlate predictions with the truth
// within each module.
Validation crossValidate(const Dataset& data, const FitOptions& options, unsigned folds = 5,
                         std::uint64_t seed = 1);

// Leave one module out: for each module, fit on the other modules' rows and
// rank-correlate predictions with the truth on the left-out module. This is
// what "generally works" means for a module the model has never seen.
// Modules whose training rows are too few are skipped.
Validation leaveOneModuleOut(const Dataset& data, const FitOptions& options);

// The command's JSON: data, fit, validation and the top `top` effects.
nlohmann::json toJson(const Dataset& data, const Model& model, const Validation* validation,
                      std::size_t top, const Validation* across_modules = nullptr);

}  // namespace loom::learn
