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
