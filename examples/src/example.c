// The bundled example for loom-evolve's README: a few small routines of the
// kind a C library exports, compiled to WebAssembly without wasm-opt
// (scripts/build-example), so the optimizer has real work to do.
#include <stddef.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static unsigned char buffer[4096];

EXPORT(buffer_address) unsigned char* buffer_address(void) { return buffer; }

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static uint32_t read32(const unsigned char* p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

// MurmurHash3 x86_32 over the first `len` bytes of the buffer.
EXPORT(murmur3) uint32_t murmur3(size_t len, uint32_t seed) {
  if (len > sizeof buffer) len = sizeof buffer;
  const unsigned char* data = buffer;
  const size_t blocks = len / 4;
  uint32_t h = seed;
  const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  for (size_t i = 0; i < blocks; i++) {
    uint32_t k = read32(data + i * 4);
    k *= c1;
    k = rotl32(k, 15);
    k *= c2;
    h ^= k;
    h = rotl32(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const unsigned char* tail = data + blocks * 4;
  uint32_t k1 = 0;
  switch (len & 3) {
    case 3: k1 ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: k1 ^= (uint32_t)tail[1] << 8;  /* fall through */
    case 1:
      k1 ^= tail[0];
      k1 *= c1;
      k1 = rotl32(k1, 15);
      k1 *= c2;
      h ^= k1;
  }
  h ^= (uint32_t)len;
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int to_lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

// Counts the words of the NUL-terminated text in the buffer.
EXPORT(count_words) int count_words(void) {
  int words = 0, in_word = 0;
  for (size_t i = 0; i < sizeof buffer && buffer[i]; i++) {
    if (is_space(buffer[i])) {
      in_word = 0;
    } else if (!in_word) {
      in_word = 1;
      words++;
    }
  }
  return words;
}

// Parses a signed decimal number at the start of the buffer.
EXPORT(parse_int) int32_t parse_int(void) {
  size_t i = 0;
  while (i < sizeof buffer && is_space(buffer[i])) i++;
  int negative = 0;
  if (buffer[i] == '-' || buffer[i] == '+') negative = buffer[i++] == '-';
  int32_t value = 0;
  while (i < sizeof buffer && is_digit(buffer[i])) value = value * 10 + (buffer[i++] - '0');
  return negative ? -value : value;
}

// Case-insensitive comparison of the two NUL-terminated strings at offsets a and b.
EXPORT(compare_ignore_case) int compare_ignore_case(size_t a, size_t b) {
  if (a >= sizeof buffer || b >= sizeof buffer) return 0;
  while (a < sizeof buffer && b < sizeof buffer) {
    const int x = to_lower(buffer[a++]), y = to_lower(buffer[b++]);
    if (x != y || x == 0) return x - y;
  }
  return 0;
}

static void swap_bytes(unsigned char* x, unsigned char* y) {
  const unsigned char t = *x;
  *x = *y;
  *y = t;
}

// Sorts the first n bytes of the buffer (insertion sort).
EXPORT(sort_bytes) void sort_bytes(size_t n) {
  if (n > sizeof buffer) n = sizeof buffer;
  for (size_t i = 1; i < n; i++) {
    for (size_t j = i; j > 0 && buffer[j - 1] > buffer[j]; j--) swap_bytes(&buffer[j - 1], &buffer[j]);
  }
}

static int32_t clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : v > hi ? hi : v; }

// A 3x3 box blur over a w x h greyscale image stored in the buffer.
EXPORT(blur) void blur(int32_t w, int32_t h) {
  static unsigned char out[4096];
  w = clamp(w, 1, 64);
  h = clamp(h, 1, 64);
  if (w * h > (int32_t)sizeof buffer) return;
  for (int32_t y = 0; y < h; y++) {
    for (int32_t x = 0; x < w; x++) {
      int32_t sum = 0, count = 0;
      for (int32_t dy = -1; dy <= 1; dy++) {
        for (int32_t dx = -1; dx <= 1; dx++) {
          const int32_t yy = y + dy, xx = x + dx;
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
          sum += buffer[yy * w + xx];
          count++;
        }
      }
      out[y * w + x] = (unsigned char)(sum / count);
    }
  }
  for (int32_t i = 0; i < w * h; i++) buffer[i] = out[i];
}

static int64_t mul_mod(int64_t a, int64_t b, int64_t m) { return (a * b) % m; }

// Modular exponentiation, the core of many checksums and toy ciphers.
EXPORT(pow_mod) int64_t pow_mod(int64_t base, int64_t exponent, int64_t modulus) {
  if (modulus <= 1 || modulus > 3037000499LL) return 0;
  base %= modulus;
  if (base < 0) base += modulus;
  int64_t result = 1;
  while (exponent > 0) {
    if (exponent & 1) result = mul_mod(result, base, modulus);
    base = mul_mod(base, base, modulus);
    exponent >>= 1;
  }
  return result;
}

static uint32_t crc_table[256];
static int crc_ready;

static void crc_init(void) {
  for (uint32_t n = 0; n < 256; n++) {
    uint32_t c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    crc_table[n] = c;
  }
  crc_ready = 1;
}

EXPORT(crc32) uint32_t crc32(size_t len) {
  if (!crc_ready) crc_init();
  if (len > sizeof buffer) len = sizeof buffer;
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < len; i++) c = crc_table[(c ^ buffer[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}
