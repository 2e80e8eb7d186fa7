#include "trace/message_trace.hpp"

#include <charconv>
#include <typeinfo>

#include <caf/abstract_actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/exit_reason.hpp>
#include <caf/system_messages.hpp>
#include <caf/type_nr.hpp>

#include "messages/caf/atoms.hpp"
#include "messages/caf/inspect.hpp"
#include "trace/emit.hpp"
#include "trace/trace_sink.hpp"
#include "trace/traced_actor.hpp"

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
  summary += " exec ";
  append_int(summary, m.exec_id);
  if (m.timed_out) {
    summary += " timed out";
  } else {
    summary += " code ";
    append_int(summary, m.code);
  }
  return "exec_result";
}

const char* describe(const check_done& m, std::string& summary) {
  summary += m.result.ok ? std::string_view{"ok"} : std::string_view{m.result.reason};
  return "check_done";
}

const char* describe(const caf::exit_msg& m, std::string& summary) {
  append_reason(summary, m.reason);
  return "exit";
}

const char* describe(const caf::down_msg& m, std::string& summary) {
  append_reason(summary, m.reason);
  return "down";
}

// CAF's own types have a type number, ours only their type_info: compare what identifies each.
template <class T>
bool holds(const caf::rtti_pair& t) {
  constexpr auto nr = caf::type_nr<T>::value;
  return nr != 0 ? t.first == nr : t.second && *t.second == typeid(T);
}

template <class T>
const char* describe_if(const caf::type_erased_tuple& m, const caf::rtti_pair& t,
                        std::string& summary) {
  return holds<T>(t) ? describe(m.get_as<T>(0), summary) : nullptr;
}

template <class... Ts>
const char* describe_first(const caf::type_erased_tuple& m, std::string& summary) {
  const auto t = m.type(0);
  const char* type = nullptr;
  ((type = describe_if<Ts>(m, t, summary)) || ...);
  return type;
}

// This thread's summary buffer, emptied: it keeps its capacity from one message to the next.
std::string& summary_buffer() {
  thread_local std::string summary;
  summary.clear();
  return summary;
}

const identity* traced_sender(const caf::mailbox_element& x) {
  if (!x.sender)
    return nullptr;
  auto* who = dynamic_cast<const identity*>(caf::actor_cast<caf::abstract_actor*>(x.sender));
  return who && who->trace_sink_of() ? who : nullptr;
}

thread_local std::string next_spawn_name;

} // namespace

const char* describe(const caf::type_erased_tuple& m, std::string& summary) {
  if (m.size() == 2 && m.match_element<caf::atom_value>(0) &&
      m.get_as<caf::atom_value>(0) == subscribe_atom::value && m.match_element<std::string>(1)) {
    summary += m.get_as<std::string>(1);
    return "subscribe";
  }
  if (m.size() != 1)
    return nullptr;
  return describe_first<state_change, nv::failure, runtime_reply, container_exited, exec_result,
                        check_done, caf::exit_msg, caf::down_msg>(m, summary);
}

const char* anonymous_sender(const caf::type_erased_tuple& m) {
  if (m.match_elements<check_done>())
    return "/_checks";
  if (m.match_elements<runtime_reply>() || m.match_elements<container_exited>() ||
      m.match_elements<exec_result>())
    return "/_runtime";
  return "/_outside";
}

identity::identity() {
  if (next_spawn_name.empty())
    return;
  name(std::move(next_spawn_name), current().sink);
  next_spawn_name.clear();
}

void identity::name(std::string path, trace_sink* sink) {
  path_ = std::move(path);
  sink_.store(sink, std::memory_order_release);
}

spawn_name::spawn_name(const std::string& path) {
  next_spawn_name = path;
}

spawn_name::~spawn_name() {
  next_spawn_name.clear();
}

void message_sent(const identity& receiver, const caf::mailbox_element& x) {
  // CAF itself sends the down messages; the receiver's recv is the record of them.
  auto* sender = traced_sender(x);
  if (!sender || x.content().match_elements<caf::down_msg>())
    return;
  auto& summary = summary_buffer();
  if (auto* type = describe(x.content(), summary)) {
    // The clock thread delivers delayed messages: it has no context of its own.
    context_scope scope{receiver.trace_sink_of(), nullptr, current_cause()};
    send(sender->trace_path(), receiver.trace_path(), type, summary);
  }
}

void message_received(const identity& receiver, const caf::mailbox_element& x) {
  auto& summary = summary_buffer();
  auto* type = describe(x.content(), summary);
  if (!type)
    return;
  auto* sender = traced_sender(x);
  recv(receiver.trace_path(),
       sender ? std::string_view{sender->trace_path()} : anonymous_sender(x.content()), type,
       summary);
}

} // namespace nv::trace
