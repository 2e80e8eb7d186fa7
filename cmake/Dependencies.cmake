# All dependencies come from Debian packages (scripts/setup.sh installs them).
find_package(Threads REQUIRED)

# Debian's libcaf-dev (0.17.6) ships neither a CMake package nor a .pc file.
find_package(CAF 0.17 QUIET CONFIG COMPONENTS core io)
if(NOT CAF_FOUND)
  find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
  find_library(CAF_CORE_LIB caf_core REQUIRED)
  find_library(CAF_IO_LIB caf_io REQUIRED)
  file(STRINGS "${CAF_INCLUDE_DIR}/caf/config.hpp" _caf_version_line REGEX "#define CAF_VERSION [0-9]+")
  string(REGEX MATCH "[0-9]+" _caf_version "${_caf_version_line}")
  if(NOT _caf_version STREQUAL "1706")
    message(WARNING "nodevisor is written against CAF 0.17.6 (1706); found ${_caf_version}")
  endif()
  add_library(CAF::core SHARED IMPORTED)
  set_target_properties(CAF::core PROPERTIES IMPORTED_LOCATION "${CAF_CORE_LIB}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}" INTERFACE_LINK_LIBRARIES Threads::Threads)
  add_library(CAF::io SHARED IMPORTED)
  set_target_properties(CAF::io PROPERTIES IMPORTED_LOCATION "${CAF_IO_LIB}"
    INTERFACE_LINK_LIBRARIES CAF::core)
endif()

find_package(nlohmann_json 3 REQUIRED)
find_package(spdlog REQUIRED)
# Debian's libcli11-dev ships CLI11Config.cmake (header only).
find_package(CLI11 CONFIG REQUIRED)
# The daemon's control API (Debian's libcpp-httplib-dev: a compiled library with a .pc file) and
# its desired state (libsqlite3-dev).
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
find_package(SQLite3 REQUIRED)
