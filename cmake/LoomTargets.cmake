# Warnings are errors on the project's own code; third-party headers live in
# /usr/include and are therefore system headers, exempt from these flags.
add_library(loom_warnings INTERFACE)
target_compile_options(loom_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
  -Wunused -Woverloaded-virtual -Wformat=2 -Werror)
# GCC 12 at -O3 reports stringop-overflow/-overread inside libstdc++'s own
# vector and memcmp code (GCC bugs 106199, 105651): warnings about the
# standard library's inlined bodies, not about our code.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  target_compile_options(loom_warnings INTERFACE -Wno-stringop-overflow -Wno-stringop-overread)
endif()

if(LOOM_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

# loom_library(NAME SOURCES... DEPENDS targets...): one library per concern.
function(loom_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPENDS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/include ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPENDS} PRIVATE loom_warnings)
endfunction()
