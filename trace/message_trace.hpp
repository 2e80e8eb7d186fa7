// Message tracing (--trace-messages): `sent` and `received` record one message between two
// actors as a send or recv event with the message's type and a short summary. Both test the
// sink's switch inline before building anything, so a run without message tracing pays one
// branch per message.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/error.hpp>

#include "messages/actor_path.hpp"
#include "messages/failure.hpp"
#include "messages/lifecycle.hpp"
#include "messages/runtime_messages.hpp"
#include "trace/emit.hpp"
#include "trace/trace_sink.hpp"

namespace nv::trace {

// What a reader needs to recognise a message: `describe` returns its type and appends to
// `summary` the few fields that tell one instance from another (never a full dump: the
// AgentError's text is in the failure events).
const char* describe(const nv::failure& m, std::string& summary);
const char* describe(const state_change& m, std::string& summary);
const char* describe(const runtime_reply& m, std::string& summary);
const char* describe(const container_exited& m, std::string& summary);
const char* describe(const exec_result& m, std::string& summary);

// CAF's own messages and the subscription, by reference: nothing is built unless traced. The
// reason reads the same on both sides: "shutdown", "kill", "normal", or CAF's rendering.
struct exit_request {
  const caf::error& reason;
};
struct down_notice {
  const caf::error& reason;
};
struct subscription {
  const std::string& service;
};
const char* describe(const exit_request& m, std::string& summary);
const char* describe(const down_notice& m, std::string& summary);
const char* describe(const subscription& m, std::string& summary);

// The reasons a supervisor sends, for exit_request.
const caf::error& shutdown_reason();
const caf::error& kill_reason();

inline bool tracing_messages(const trace_sink* sink) {
  return sink && sink->messages();
}

// This thread's summary buffer, emptied: it keeps its capacity from one message to the next.
std::string& summary_buffer();

template <class Message>
uint64_t sent(trace_sink* sink, const std::string& from, std::string_view to, const Message& m,
              uint64_t cause = 0) {
  if (!tracing_messages(sink))
    return 0;
  std::string& summary = summary_buffer();
  const char* type = describe(m, summary);
  return send(sink, from, to, type, summary, cause);
}

template <class Message>
uint64_t received(trace_sink* sink, const std::string& at, std::string_view from, const Message& m,
                  uint64_t cause = 0) {
  if (!tracing_messages(sink))
    return 0;
  std::string& summary = summary_buffer();
  const char* type = describe(m, summary);
  return recv(sink, at, from, type, summary, cause);
}

// The same with the parent of `actor` (its path's prefix) as the peer, worked out only when
// traced: most messages go to or come from the parent.
template <class Message>
uint64_t sent_to_parent(trace_sink* sink, const std::string& actor, const Message& m,
                        uint64_t cause = 0) {
  if (!tracing_messages(sink))
    return 0;
  return sent(sink, actor, parent_path_of(actor), m, cause);
}

template <class Message>
uint64_t received_from_parent(trace_sink* sink, const std::string& actor, const Message& m,
                              uint64_t cause = 0) {
  if (!tracing_messages(sink))
    return 0;
  return received(sink, actor, parent_path_of(actor), m, cause);
}

} // namespace nv::trace
