// CAF 0.17 inspect overloads for the plain vocabulary of messages/, so that it travels inside
// messages and across the network as itself. An AgentError is one tag byte, then the
// alternative's fields. The only place in messages/ that knows CAF.
#pragma once

#include <caf/meta/type_name.hpp>

#include "messages/agent_error.hpp"
#include "messages/agent_error_fields.hpp"
#include "messages/check.hpp"
#include "messages/failure.hpp"
#include "messages/lifecycle.hpp"
#include "messages/runtime_messages.hpp"

namespace nv {

template <class Inspector, class T>
requires requires(const T* p) {
  fields::table(p);
}
typename Inspector::result_type inspect(Inspector& f, T& x) {
  return std::apply(
      [&](const auto&... fl) {
        return f(caf::meta::type_name(fields::kind(&x).data()), x.*(fl.member)...);
      },
      fields::table(&x));
}

namespace detail {

// Reads or writes the alternative selected by `tag`; `tag` is inspected first, so on
// deserialization it holds the wire value by the time this runs.
struct agent_error_body {
  uint8_t& tag;
  AgentError& x;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, agent_error_body& body) {
  if constexpr (Inspector::writes_state) {
    bool known = fields::with_alternative(body.tag, [&](auto* alt) {
      body.x.template emplace<std::remove_pointer_t<decltype(alt)>>();
    });
    if (!known)
      body.x = Internal{"unknown AgentError tag " + std::to_string(body.tag) + " on the wire"};
  }
  return std::visit([&](auto& alt) { return f(alt); }, body.x);
}

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, AgentError& x) {
  uint8_t tag = static_cast<uint8_t>(x.index());
  detail::agent_error_body body{tag, x};
  return f(caf::meta::type_name("AgentError"), tag, body);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, failure& x) {
  return f(caf::meta::type_name("failure"), x.path, x.error, x.attempt, x.ts_us, x.cause,
           x.because_path, x.because_error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, state_change& x) {
  return f(caf::meta::type_name("state"), x.path, x.from, x.to, x.pid);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, runtime_reply& x) {
  return f(caf::meta::type_name("runtime_reply"), x.id, x.op, x.ok, x.error, x.pid);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, container_exited& x) {
  return f(caf::meta::type_name("container_exited"), x.id, x.code, x.signal, x.oom_killed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, exec_result& x) {
  return f(caf::meta::type_name("exec_result"), x.id, x.exec_id, x.code, x.output, x.timed_out);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, check_result& x) {
  return f(caf::meta::type_name("check_result"), x.ok, x.timed_out, x.reason, x.latency);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, check_done& x) {
  return f(caf::meta::type_name("check_done"), x.ticket, x.result);
}

} // namespace nv
