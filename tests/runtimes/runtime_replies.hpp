// What the runtime tests share: a real actor system's config and typed takers for the
// messages a runtime sends, so each test checks their exact order.
#pragma once

#include <variant>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "messages/caf/register_types.hpp"
#include "messages/runtime_messages.hpp"

namespace nv::runtime_test {

using namespace std::chrono_literals;

struct config : caf::actor_system_config {
  config() {
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
    register_message_types(*this);
  }
};

using message = std::variant<std::monostate, runtime_reply, container_exited, exec_result>;

// The next message, of any of the types a runtime sends, so that tests see the exact order;
// monostate when nothing arrives within `timeout`.
inline message next(caf::scoped_actor& self, duration timeout = 10s) {
  message out;
  self->receive([&](runtime_reply& x) { out = std::move(x); },
                [&](container_exited& x) { out = std::move(x); },
                [&](exec_result& x) { out = std::move(x); }, caf::after(timeout) >> [] {});
  return out;
}

template <class T>
T take(caf::scoped_actor& self) {
  auto m = next(self);
  auto* x = std::get_if<T>(&m);
  EXPECT_NE(x, nullptr) << "message kind " << m.index() << " (0: nothing within 10 s)";
  return x != nullptr ? std::move(*x) : T{};
}

// Takes a successful reply to `op` for `id` and returns its pid.
inline int32_t take_ok(caf::scoped_actor& self, runtime_op op, const std::string& id) {
  auto r = take<runtime_reply>(self);
  EXPECT_EQ(r.op, op) << to_string(r.op);
  EXPECT_EQ(r.id, id);
  EXPECT_TRUE(r.ok) << to_string(r.error);
  return r.pid;
}

inline AgentError take_error(caf::scoped_actor& self, runtime_op op) {
  auto r = take<runtime_reply>(self);
  EXPECT_EQ(r.op, op) << to_string(r.op);
  EXPECT_FALSE(r.ok);
  return r.error;
}

inline void take_exit(caf::scoped_actor& self, const std::string& id, int32_t code,
                      int32_t signal) {
  auto e = take<container_exited>(self);
  EXPECT_EQ(e.id, id);
  EXPECT_EQ(e.code, code);
  EXPECT_EQ(e.signal, signal);
}

} // namespace nv::runtime_test
