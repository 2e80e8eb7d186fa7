// Every actor of the tree is a traced<Base> (caf-0.17.md §3.2): one place that installs the trace
// context for each message the actor handles (trace/context.hpp) and, under --trace-messages,
// records each message between actors as a send on the sender's side and a recv on the
// receiver's. No handler traces a message by hand.
//
// An actor is named at its spawn: the spawner calls spawn_name{path} around the spawn, and the
// constructor, which CAF runs inside spawn on the spawner's thread, takes that name and the
// spawner's sink. So the name is fixed before any message can reach the actor. An actor spawned
// without a name (a test's) names itself with trace_as in its behavior function.
#pragma once

#include <atomic>
#include <string>

#include <caf/actor_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/mailbox_element.hpp>
#include <caf/stateful_actor.hpp>

#include "trace/context.hpp"
#include "trace/trace_sink.hpp"

namespace nv {

namespace trace {

// The name of an actor as the trace knows it, reachable from another actor's message without
// knowing that actor's type.
class identity {
public:
  // Empty until named; fixed from then on.
  const std::string& trace_path() const { return path_; }
  trace_sink* trace_sink_of() const { return sink_.load(std::memory_order_acquire); }

protected:
  identity();
  void name(std::string path, trace_sink* sink);

private:
  std::string path_;
  std::atomic<trace_sink*> sink_{nullptr};
};

// Names the actor spawned on this thread while it lives.
class spawn_name {
public:
  explicit spawn_name(const std::string& path);
  ~spawn_name();
  spawn_name(const spawn_name&) = delete;
  spawn_name& operator=(const spawn_name&) = delete;
};

// The send and recv events of a message, when it is one the trace knows (state, failure,
// runtime answers, exits, subscriptions); timers and queries are not recorded.
void message_sent(const identity& receiver, const caf::mailbox_element& x);
void message_received(const identity& receiver, const caf::mailbox_element& x);

inline bool tracing_messages(const trace_sink* sink) {
  return sink && sink->messages();
}

} // namespace trace

template <class Base>
class traced : public Base, public trace::identity {
public:
  explicit traced(caf::actor_config& cfg) : Base(cfg) {}

  // For an actor spawned without a spawn_name: names it from its behavior function.
  void trace_as(const std::string& path, trace_sink* sink) {
    if (!trace_path().empty() || !sink)
      return;
    name(path, sink);
    trace::current() = trace::context{sink, &trace_path(), trace::current_cause()};
  }

  void enqueue(caf::mailbox_element_ptr x, caf::execution_unit* eu) override {
    if (trace::tracing_messages(trace_sink_of()))
      trace::message_sent(*this, *x);
    Base::enqueue(std::move(x), eu);
  }

  caf::invoke_message_result consume(caf::mailbox_element& x) override {
    auto* sink = trace_sink_of();
    trace::context_scope scope{sink, &trace_path()};
    if (trace::tracing_messages(sink))
      trace::message_received(*this, x);
    return Base::consume(x);
  }

  void initialize() override {
    trace::context_scope scope{trace_sink_of(), &trace_path()};
    Base::initialize();
  }
};

using traced_actor = traced<caf::event_based_actor>;

template <class State>
using traced_stateful_actor = caf::stateful_actor<State, traced_actor>;

} // namespace nv
