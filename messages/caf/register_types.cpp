#include "messages/caf/register_types.hpp"

#include "messages/caf/inspect.hpp"

namespace nv {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<AgentError>("nv::AgentError");
  cfg.add_message_type<failure>("nv::failure");
  cfg.add_message_type<state_change>("nv::state");
}

} // namespace nv
