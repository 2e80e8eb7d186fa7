// The live status `run` shows on a terminal: the status table (app/status_table.hpp) handed to
// the console once a second, read from the supervisors' own records with which_children
// requests. It monitors the node: once the node is down it draws a last frame, where every
// service that had not ended reads `stopped`, and exits.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <caf/event_based_actor.hpp>

#include "messages/dependency.hpp"

namespace nv {

class console;

caf::behavior live_status_actor(caf::event_based_actor* self, caf::actor node, console* screen,
                                std::map<std::string, std::vector<dependency>> depends);

} // namespace nv
