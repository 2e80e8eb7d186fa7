// What a test of the whole tree hears from the node: every state change and failure, as the
// node's observer gets them (node_config::observer), and a wait for what it expects.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "messages/failure.hpp"
#include "messages/lifecycle.hpp"

namespace nv::test {

struct observed {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<state_change> states;
  std::vector<failure> failures;

  template <class Pred>
  bool wait_until(Pred pred, std::chrono::seconds limit = std::chrono::seconds{20}) {
    std::unique_lock<std::mutex> g{mu};
    return cv.wait_for(g, limit, [&] { return pred(*this); });
  }
  bool reached(const std::string& path, lifecycle s) {
    return std::any_of(states.begin(), states.end(),
                       [&](auto& c) { return c.path == path && c.to == s; });
  }
};

inline caf::behavior observer(caf::event_based_actor*, observed* o) {
  return {
      [o](state_change& c) {
        std::lock_guard<std::mutex> g{o->mu};
        o->states.push_back(c);
        o->cv.notify_all();
      },
      [o](failure& f) {
        std::lock_guard<std::mutex> g{o->mu};
        o->failures.push_back(f);
        o->cv.notify_all();
      },
  };
}

} // namespace nv::test
