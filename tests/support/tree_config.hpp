// The actor system of a test of the tree: the vocabulary and the supervisors' messages
// registered, on two threads of the sharing scheduler, as the tests of the whole tree run it.
#pragma once

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

#include "messages/caf/register_types.hpp"
#include "supervisor/supervisor.hpp"

namespace nv::test {

struct tree_config : caf::actor_system_config {
  tree_config() {
    register_message_types(*this);
    register_supervisor_types(*this);
    set("scheduler.policy", caf::atom("sharing"));
    set("scheduler.max-threads", 2);
  }
};

} // namespace nv::test
