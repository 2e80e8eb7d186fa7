#include "trace/message_trace.hpp"

#include <caf/exit_reason.hpp>

namespace nv::trace {

namespace {

std::string reason_word(const caf::error& reason) {
  if (!reason)
    return "normal";
  if (reason == caf::exit_reason::user_shutdown)
    return "shutdown";
  if (reason == caf::exit_reason::kill)
    return "kill";
  return caf::to_string(reason);
}

} // namespace

message_summary describe(const exit_request& m) {
  return {"exit", reason_word(m.reason)};
}

message_summary describe(const down_notice& m) {
  return {"down", reason_word(m.reason)};
}

message_summary describe(const subscription& m) {
  return {"subscribe", m.service};
}

const caf::error& shutdown_reason() {
  static const caf::error reason{caf::exit_reason::user_shutdown};
  return reason;
}

const caf::error& kill_reason() {
  static const caf::error reason{caf::exit_reason::kill};
  return reason;
}

message_summary describe(const nv::failure& m) {
  return {"failure", std::string{kind_name(m.error)} + " of " + m.path};
}

message_summary describe(const state_change& m) {
  return {"state",
          m.path + " " + std::string{to_string(m.from)} + "->" + std::string{to_string(m.to)}};
}

message_summary describe(const runtime_reply& m) {
  auto s = std::string{to_string(m.op)} + " " + m.id + (m.ok ? " ok" : " failed");
  if (!m.ok)
    s += ": " + std::string{kind_name(m.error)};
  else if (m.pid > 0)
    s += " pid " + std::to_string(m.pid);
  return {"runtime_reply", std::move(s)};
}

message_summary describe(const container_exited& m) {
  return {"container_exited", m.id + " code " + std::to_string(m.code)};
}

message_summary describe(const exec_result& m) {
  return {"exec_result", m.id + (m.timed_out ? " timed out" : " code " + std::to_string(m.code))};
}

} // namespace nv::trace
