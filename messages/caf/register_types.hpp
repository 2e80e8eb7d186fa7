#pragma once

#include <caf/actor_system_config.hpp>

namespace nv {

// Adds the message types of messages/ to a CAF config; call before constructing the actor_system.
void register_message_types(caf::actor_system_config& cfg);

} // namespace nv
