// The frames the engine and its worker processes exchange over pipes: a JSON
// header plus an optional binary payload (module bytes).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "loom/wasm/module.hpp"

namespace loom::engine::protocol {

struct Frame {
  nlohmann::json header;
  wasm::Bytes payload;
};

// Blocking; false if the descriptor is closed or broken.
bool writeFrame(int fd, const Frame& frame);
std::optional<Frame> readFrame(int fd);

// Incremental decoding for the non-blocking side: feed bytes, take frames.
class FrameDecoder {
 public:
  void feed(const char* data, std::size_t size);
  std::optional<Frame> next();  // throws std::runtime_error on a corrupt stream

 private:
  std::string buffer_;
};

}  // namespace loom::engine::protocol
