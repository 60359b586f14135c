# Every dependency comes from a Debian 12 package; scripts/setup installs them.
find_package(Threads REQUIRED)
find_package(pagmo REQUIRED)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(Boost 1.74 REQUIRED COMPONENTS serialization)
find_package(CLI11 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(PkgConfig REQUIRED)

# Z3 4.8.12 in Debian ships only a pkg-config file.
pkg_check_modules(Z3 REQUIRED IMPORTED_TARGET z3)
# cairo draws the plots (PNG and SVG).
pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)

# Binaryen ships neither a CMake config nor a .pc file.
find_path(BINARYEN_INCLUDE_DIR binaryen-c.h REQUIRED)
find_library(BINARYEN_LIBRARY binaryen REQUIRED)
add_library(Binaryen::binaryen UNKNOWN IMPORTED)
set_target_properties(Binaryen::binaryen PROPERTIES
  IMPORTED_LOCATION "${BINARYEN_LIBRARY}"
  INTERFACE_INCLUDE_DIRECTORIES "${BINARYEN_INCLUDE_DIR}")

find_program(WASM_OPT_EXECUTABLE wasm-opt REQUIRED)
find_program(NODE_EXECUTABLE node REQUIRED)

if(LOOM_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(LOOM_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
