// Runs one of the programs the oci runtime drives (skopeo, umoci, runc) to its end and keeps
// what it wrote. It blocks its caller until then: call it on one of the runtime's job threads,
// never on a CAF scheduler thread.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace nv::oci {

struct tool_result {
  int code = 0;       // exit status, 128 + signal when killed; -1: it could not run
  std::string output; // stdout and stderr together, the first 64 KiB
  bool timed_out = false;

  bool ok() const { return code == 0 && !timed_out; }
  // The last line that says something (the program's reason), for an error message.
  std::string reason() const;
};

// `argv[0]` is looked up in PATH. After `timeout` the program's group is killed.
tool_result run_tool(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

} // namespace nv::oci
