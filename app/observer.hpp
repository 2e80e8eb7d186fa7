// The node's parent in `run`: it hears the deployments' state changes and the failures that
// escalate to the node, prints them through the console, and tells `run`'s main thread.
#pragma once

#include <mutex>
#include <optional>

#include "messages/failure.hpp"
#include "messages/lifecycle.hpp"
#include "trace/traced_actor.hpp"

namespace nv {

class console;

// What the CLI learns from the node, shared between the observer actor and main. Main sleeps
// in poll on `wake` (an eventfd) and its signalfd; the observer writes `wake` after each change.
struct outcome {
  bool print_states = true; // `path: state` lines; off under the live status, which shows them
  int wake = -1;
  std::mutex mu;
  lifecycle deployment = lifecycle::pending;
  std::optional<failure> failed; // the deployment gave up
  bool node_down = false;
};

// The line `run` prints when the deployment has given up.
std::string final_failure_text(const failure& f);

caf::behavior observer(traced_actor* self, outcome* out, console* screen);

} // namespace nv
