# Warning and sanitizer flags for project targets only (not for imported ones).
add_library(nodevisor_options INTERFACE)
target_compile_options(nodevisor_options INTERFACE -Wall -Wextra)
if(NODEVISOR_WERROR)
  target_compile_options(nodevisor_options INTERFACE -Werror)
endif()
if(NODEVISOR_SANITIZE)
  target_compile_options(nodevisor_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
                         -fno-sanitize-recover=undefined)
  target_link_options(nodevisor_options INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(nodevisor_options INTERFACE ${PROJECT_SOURCE_DIR})
