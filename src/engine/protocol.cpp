#include "protocol.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "loom/support/child_process.hpp"

namespace loom::engine::protocol {

namespace {

constexpr std::uint32_t kMagic = 0x4d4f4f4c;  // "LOOM"
constexpr std::size_t kHeaderBytes = 4 + 4 + 8;

bool readExactly(int fd, void* data, std::size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

bool writeFrame(int fd, const Frame& frame) {
  const std::string json = frame.header.dump();
  char head[kHeaderBytes];
  const std::uint32_t json_size = static_cast<std::uint32_t>(json.size());
  const std::uint64_t payload_size = frame.payload.size();
  std::memcpy(head, &kMagic, 4);
  std::memcpy(head + 4, &json_size, 4);
  std::memcpy(head + 8, &payload_size, 8);
  return support::writeAll(fd, head, sizeof head) &&
         support::writeAll(fd, json.data(), json.size()) &&
         support::writeAll(fd, frame.payload.data(), frame.payload.size());
}

std::optional<Frame> readFrame(int fd) {
  char head[kHeaderBytes];
  if (!readExactly(fd, head, sizeof head)) return std::nullopt;
  std::uint32_t magic = 0, json_size = 0;
  std::uint64_t payload_size = 0;
  std::memcpy(&magic, head, 4);
  std::memcpy(&json_size, head + 4, 4);
  std::memcpy(&payload_size, head + 8, 8);
  if (magic != kMagic) return std::nullopt;
  std::string json(json_size, '\0');
  if (!readExactly(fd, json.data(), json.size())) return std::nullopt;
  Frame frame;
  frame.header = nlohmann::json::parse(json);
  frame.payload.resize(payload_size);
  if (!readExactly(fd, frame.payload.data(), frame.payload.size())) return std::nullopt;
  return frame;
}

void FrameDecoder::feed(const char* data, std::size_t size) {
  buffer_.append(data, size);
}

std::optional<Frame> FrameDecoder::next() {
  if (buffer_.size() < kHeaderBytes) return std::nullopt;
  std::uint32_t magic = 0, json_size = 0;
  std::uint64_t payload_size = 0;
  std::memcpy(&magic, buffer_.data(), 4);
  std::memcpy(&json_size, buffer_.data() + 4, 4);
  std::memcpy(&payload_size, buffer_.data() + 8, 8);
  if (magic != kMagic) throw std::runtime_error("corrupt frame from worker");
  const std::size_t total = kHeaderBytes + json_size + payload_size;
  if (buffer_.size() < total) return std::nullopt;
  Frame frame;
  frame.header = nlohmann::json::parse(
      buffer_.begin() + kHeaderBytes,
      buffer_.begin() + static_cast<std::ptrdiff_t>(kHeaderBytes + json_size));
  const auto* payload =
      reinterpret_cast<const std::uint8_t*>(buffer_.data() + kHeaderBytes + json_size);
  frame.payload.assign(payload, payload + payload_size);
  buffer_.erase(0, total);
  return frame;
}

}  // namespace loom::engine::protocol
