// CAF 0.17 inspect overloads for AgentError, so an error travels inside messages
// and across the network as itself (one tag byte, then the alternative's fields).
#pragma once

#include <caf/meta/type_name.hpp>

#include "messages/agent_error.hpp"
#include "messages/agent_error_fields.hpp"

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

} // namespace nv
