// Small pieces both kinds of run (one module, a corpus) need.
#pragma once

#include <string>

#include "archipelago.hpp"
#include "loom/driver/run_options.hpp"
#include "loom/engine/engine.hpp"

namespace loom::driver {

// The verification options a stored verdict depends on.
std::string verifyFingerprint(const RunOptions& options);

engine::EngineOptions engineOptions(const RunOptions& options);
ArchipelagoSettings archipelagoSettings(const RunOptions& options);

}  // namespace loom::driver
