// The compact live status `run` shows on a terminal: one line per service with its replicas
// running and healthy, restarts and state, redrawn in place. It walks the tree with
// which_children requests, so it reads the supervisors' own records, never a copy.
#pragma once

#include <caf/event_based_actor.hpp>

namespace nv {

caf::behavior live_status_actor(caf::event_based_actor* self, caf::actor node);

} // namespace nv
