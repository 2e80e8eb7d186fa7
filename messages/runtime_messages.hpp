// Messages a runtime sends to the container actor that called it. Every runtime call
// answers with exactly one runtime_reply; exits arrive as container_exited, never polled.
#pragma once

#include <cstdint>
#include <string>

#include "messages/agent_error.hpp"

namespace nv {

enum class runtime_op : uint8_t { pull, create, start, stop, remove };

std::string_view to_string(runtime_op op);

struct runtime_reply {
  std::string id;
  runtime_op op = runtime_op::pull;
  bool ok = true;
  AgentError error; // meaningful when !ok
  int32_t pid = 0;  // start: the container's main pid where one exists
};

inline runtime_reply reply_ok(const std::string& id, runtime_op op, int32_t pid = 0) {
  return runtime_reply{id, op, true, AgentError{}, pid};
}

inline runtime_reply reply_failed(const std::string& id, runtime_op op, AgentError error) {
  return runtime_reply{id, op, false, std::move(error), 0};
}

inline NotFound no_such_container(const std::string& id) {
  return NotFound{id, "no such container"};
}

struct container_exited {
  std::string id;
  int32_t code = 0;        // exit status; 128 + signal when killed by a signal (shell convention)
  int32_t signal = 0;      // the terminating signal, 0 when it exited by itself
  bool oom_killed = false; // the kernel killed it at its memory limit (where the runtime can tell)
};

struct exec_result {
  std::string id;
  uint64_t exec_id = 0; // the one the exec was called with
  int32_t code = 0;
  std::string output; // combined stdout and stderr, bounded
  bool timed_out = false;
};

enum class container_state : uint8_t { unknown, created, running, stopping, exited };

std::string_view to_string(container_state s);

struct container_status {
  container_state state = container_state::unknown;
  int32_t exit_code = 0;
  int32_t pid = 0;
  bool healthy = true; // runtimes without their own notion of health say true
};

} // namespace nv
