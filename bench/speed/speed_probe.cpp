// speed_probe: the C++ half of the speed benchmark (bench/speed/README.md).
//
//   speed_probe apply CONFIG.json IN.wasm OUT.wasm
//       runs a pipeline configuration (JSON as `loom-evolve apply` takes it,
//       or a built-in name: loom, O, Os, Oz, O3, O4) on IN, unverified, and
//       writes what the evaluator would ship: the module as written.
//   speed_probe functions A.wasm
//       per function: name, call frequency, cycles per call, their product.
//   speed_probe config NAME|CONFIG.json
//       prints the configuration's canonical JSON.
//   speed_probe measure A.wasm [B.wasm ...]
//       prints one JSON line per module: the cost model's metrics of the
//       module as the engine sees it (written, decoded again with names).
//
// It links only the pipeline, wasm and cost libraries, so the benchmark
// needs neither the verifier nor the driver. Modules are loaded through the
// forked-child probe like any untrusted input.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "loom/cost/cost_model.hpp"
#include "loom/pipeline/apply.hpp"
#include "loom/pipeline/builtins.hpp"
#include "loom/pipeline/config.hpp"
#include "loom/wasm/ir.hpp"
#include "loom/wasm/loader.hpp"

namespace loom {
namespace {

wasm::Module decoded(const wasm::Module& module) {
  wasm::Module d = wasm::Module::parseBinaryTrusted(module.writeBinary({.names_section = true}));
  d.setFeatures(module.features());
  return d;
}

nlohmann::json metricsJson(const wasm::Module& module) {
  const wasm::Module d = decoded(module);
  const wasm::Bytes bytes = module.writeBinary();
  const cost::Metrics m = cost::measure(d, bytes);
  // The same estimate by cost class, before the class weights (for fitting
  // them), weighted by each function's call frequency as measure() does.
  const std::vector<BinaryenFunctionRef> functions = wasm::definedFunctions(d.get());
  std::vector<cost::CycleFeatures> per;
  for (BinaryenFunctionRef f : functions) per.push_back(cost::cycleFeatures(f));
  const std::vector<double> frequency = cost::callFrequencies(d.get(), functions, per);
  nlohmann::json features = nlohmann::json::object();
  for (std::size_t c = 0; c < cost::kCostClassCount; ++c) {
    double sum = 0;
    for (std::size_t i = 0; i < functions.size(); ++i) sum += frequency[i] * per[i].by_class[c];
    features[std::string(cost::costClassName(static_cast<cost::CostClass>(c)))] = sum;
  }
  return {{"total_bytes", m.total_bytes},   {"code_bytes", m.code_bytes},
          {"instructions", m.instructions}, {"cycles", m.cycles},
          {"functions", m.functions},       {"features", features}};
}

pipeline::PipelineConfig readConfig(const std::string& spec) {
  if (auto builtin = pipeline::builtinConfig(spec)) return *builtin;
  std::ifstream in(spec);
  if (!in) throw std::runtime_error("cannot read " + spec);
  return pipeline::PipelineConfig::fromJson(nlohmann::json::parse(in));
}

int run(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "apply" && argc == 5) {
    const pipeline::PipelineConfig config = readConfig(argv[2]);
    wasm::LoadedModule in = wasm::loadModuleFile(argv[3]);
    const wasm::Module out = pipeline::applyPipeline(in.module, config);
    const wasm::Bytes bytes = out.writeBinary();
    std::ofstream file(argv[4], std::ios::binary);
    file.write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    if (!file) throw std::runtime_error(std::string("cannot write ") + argv[4]);
    nlohmann::json line = metricsJson(out);
    line["module"] = argv[4];
    std::cout << line.dump() << "\n";
    return 0;
  }
  if (cmd == "config" && argc == 3) {
    std::cout << readConfig(argv[2]).toJson().dump() << "\n";
    return 0;
  }
  if (cmd == "functions" && argc == 3) {
    wasm::LoadedModule in = wasm::loadModuleFile(argv[2]);
    const wasm::Module d = decoded(in.module);
    const std::vector<BinaryenFunctionRef> functions = wasm::definedFunctions(d.get());
    std::vector<cost::CycleFeatures> per;
    for (BinaryenFunctionRef f : functions) per.push_back(cost::cycleFeatures(f));
    const std::vector<double> frequency = cost::callFrequencies(d.get(), functions, per);
    for (std::size_t i = 0; i < functions.size(); ++i)
      std::cout << BinaryenFunctionGetName(functions[i]) << "\t" << frequency[i] << "\t"
                << per[i].cycles() << "\t" << frequency[i] * per[i].cycles() << "\n";
    return 0;
  }
  if (cmd == "measure" && argc >= 3) {
    for (int i = 2; i < argc; ++i) {
      wasm::LoadedModule in = wasm::loadModuleFile(argv[i]);
      nlohmann::json line = metricsJson(in.module);
      line["module"] = argv[i];
      std::cout << line.dump() << "\n";
    }
    return 0;
  }
  std::cerr
      << "usage: speed_probe apply CONFIG IN.wasm OUT.wasm | config CONFIG | measure A.wasm...\n";
  return 2;
}

}  // namespace
}  // namespace loom

int main(int argc, char** argv) {
  setenv("BINARYEN_CORES", "1", 1);
  try {
    return loom::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "speed_probe: error: " << e.what() << "\n";
    return 1;
  }
}
