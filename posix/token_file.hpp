// The daemon's API token (node config `token_file`), read so that a token other users could
// read is refused rather than trusted.
#pragma once

#include <filesystem>
#include <string>

namespace nv {

struct token_read {
  std::string token; // set only when error is empty
  std::string error; // names the file, what is wrong and the remedy
};

// The file must be a regular file of mode 0600 or 0400 (readable by its owner alone), owned by
// this process's user or root; its content is one line of printable characters (a trailing
// newline is dropped), not empty. Other modes are refused with "chmod 600 FILE" as the remedy.
token_read read_token_file(const std::filesystem::path& path);

} // namespace nv
