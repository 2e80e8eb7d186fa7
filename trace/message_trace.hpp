// Message tracing (--trace-messages): `sent` and `received` record one message between two
// actors as a send or recv event with the message's type and a short summary. Both test the
// sink's switch inline before building anything, so a run without message tracing pays one
// branch per message.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

#include "messages/actor_path.hpp"
#include "messages/failure.hpp"
#include "messages/lifecycle.hpp"
#include "messages/runtime_messages.hpp"
#include "trace/emit.hpp"
#include "trace/trace_sink.hpp"

namespace nv::trace {

// What a reader needs to recognise a message: its type and the few fields that tell one
// instance from another (never a full dump: the AgentError's text is in the failure events).
struct message_summary {
  const char* type;
  std::string summary;
};

message_summary describe(const nv::failure& m);
message_summary describe(const state_change& m);
message_summary describe(const runtime_reply& m);
message_summary describe(const container_exited& m);
message_summary describe(const exec_result& m);

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
message_summary describe(const exit_request& m);
message_summary describe(const down_notice& m);
message_summary describe(const subscription& m);

// The reasons a supervisor sends, for exit_request.
const caf::error& shutdown_reason();
const caf::error& kill_reason();

inline bool tracing_messages(const trace_sink* sink) {
  return sink && sink->messages();
}

template <class Message>
uint64_t sent(trace_sink* sink, const std::string& from, const std::string& to, const Message& m,
              uint64_t cause = 0) {
  if (!tracing_messages(sink))
    return 0;
  auto d = describe(m);
  return send(sink, from, to, d.type, d.summary, cause);
}

template <class Message>
uint64_t received(trace_sink* sink, const std::string& at, const std::string& from,
                  const Message& m, uint64_t cause = 0) {
  if (!tracing_messages(sink))
    return 0;
  auto d = describe(m);
  return recv(sink, at, from, d.type, d.summary, cause);
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
