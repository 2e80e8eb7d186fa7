# Warning and sanitizer flags for project targets only (not for imported ones).
add_library(nodevisor_options INTERFACE)
target_compile_options(nodevisor_options INTERFACE -Wall -Wextra)
if(NODEVISOR_WERROR)
  target_compile_options(nodevisor_options INTERFACE -Werror)
endif()
if(NODEVISOR_SANITIZE)
  target_compile_options(nodevisor_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                         -fno-sanitize-recover=undefined
                         # CAF 0.17.6 binds a reference to an empty shared_ptr<tuple<>> when a
                         # function actor takes no arguments (init_fun_factory.hpp); keep that
                         # one check recoverable so scripts/ubsan.supp can name it.
                         -fsanitize-recover=null)
  target_link_options(nodevisor_options INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(nodevisor_options INTERFACE ${PROJECT_SOURCE_DIR})

# Most of the node's resident memory is code: with 1 000 children, the text of nodevisor-run and
# the keeper weighs more than the tree (docs/benchmarks.md). So Release is -O2, not CMake's -O3,
# whose unrolling and inlining made the text a quarter larger in an agent that mostly waits, and
# the functions nothing calls are dropped at link.
string(REPLACE "-O3" "-O2" CMAKE_CXX_FLAGS_RELEASE "${CMAKE_CXX_FLAGS_RELEASE}")
if(NOT NODEVISOR_SANITIZE AND NOT NODEVISOR_FUZZ)
  target_compile_options(nodevisor_options INTERFACE -ffunction-sections -fdata-sections)
  target_link_options(nodevisor_options INTERFACE -Wl,--gc-sections)
endif()
# GCC 12 at -O2/-O3 reports false positives inside libstdc++'s memmove when CAF's binary
# serializer appends a one-byte field (GCC bugs 105329, 105651); clang and GCC at -O0 see
# nothing. Keep every other warning.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_GREATER_EQUAL 12)
  target_compile_options(nodevisor_options INTERFACE -Wno-array-bounds -Wno-stringop-overflow
                         -Wno-stringop-overread -Wno-restrict)
endif()

# A fuzz build instruments all project code for coverage, so libFuzzer sees inside the
# libraries it drives, not only the fuzz target's own file.
if(NODEVISOR_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "NODEVISOR_FUZZ needs clang: configure with CXX=clang++")
  endif()
  target_compile_options(nodevisor_options INTERFACE -fsanitize=fuzzer-no-link,address,undefined)
  target_link_options(nodevisor_options INTERFACE -fsanitize=address,undefined)
endif()
