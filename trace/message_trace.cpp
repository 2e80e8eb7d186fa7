#include "trace/message_trace.hpp"

#include <charconv>

#include <caf/exit_reason.hpp>

namespace nv::trace {

namespace {

void append_reason(std::string& out, const caf::error& reason) {
  if (!reason)
    out += "normal";
  else if (reason == caf::exit_reason::user_shutdown)
    out += "shutdown";
  else if (reason == caf::exit_reason::kill)
    out += "kill";
  else
    out += caf::to_string(reason);
}

template <class Int>
void append_int(std::string& out, Int value) {
  char buf[24];
  out.append(buf, std::to_chars(buf, buf + sizeof buf, value).ptr);
}

} // namespace

std::string& summary_buffer() {
  thread_local std::string summary;
  summary.clear();
  return summary;
}

const char* describe(const exit_request& m, std::string& summary) {
  append_reason(summary, m.reason);
  return "exit";
}

const char* describe(const down_notice& m, std::string& summary) {
  append_reason(summary, m.reason);
  return "down";
}

const char* describe(const subscription& m, std::string& summary) {
  summary += m.service;
  return "subscribe";
}

const caf::error& shutdown_reason() {
  static const caf::error reason{caf::exit_reason::user_shutdown};
  return reason;
}

const caf::error& kill_reason() {
  static const caf::error reason{caf::exit_reason::kill};
  return reason;
}

const char* describe(const nv::failure& m, std::string& summary) {
  summary += kind_name(m.error);
  summary += " of ";
  summary += m.path;
  return "failure";
}

const char* describe(const state_change& m, std::string& summary) {
  summary += m.path;
  summary += ' ';
  summary += to_string(m.from);
  summary += "->";
  summary += to_string(m.to);
  return "state";
}

const char* describe(const runtime_reply& m, std::string& summary) {
  summary += to_string(m.op);
  summary += ' ';
  summary += m.id;
  summary += m.ok ? " ok" : " failed";
  if (!m.ok) {
    summary += ": ";
    summary += kind_name(m.error);
  } else if (m.pid > 0) {
    summary += " pid ";
    append_int(summary, m.pid);
  }
  return "runtime_reply";
}

const char* describe(const container_exited& m, std::string& summary) {
  summary += m.id;
  summary += " code ";
  append_int(summary, m.code);
  return "container_exited";
}

const char* describe(const exec_result& m, std::string& summary) {
  summary += m.id;
  if (m.timed_out) {
    summary += " timed out";
  } else {
    summary += " code ";
    append_int(summary, m.code);
  }
  return "exec_result";
}

} // namespace nv::trace
