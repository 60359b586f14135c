// Whether this build runs under AddressSanitizer, whose shadow memory
// reserves terabytes of address space: address-space limits (RLIMIT_AS)
// would make every allocation fail, so they are skipped under it.
#pragma once

namespace loom::support {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#else
inline constexpr bool kAddressSanitizer = false;
#endif

}  // namespace loom::support
