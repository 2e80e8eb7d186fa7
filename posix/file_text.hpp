// A whole file as text, for the small files the runtimes read: a config, /proc/version.
#pragma once

#include <filesystem>
#include <string>

namespace nv {

// Its bytes; empty when it cannot be read.
std::string file_text(const std::filesystem::path& path);

} // namespace nv
