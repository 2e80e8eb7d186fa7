#include "messages/register_types.hpp"

#include "messages/agent_error_inspect.hpp"
#include "messages/failure.hpp"
#include "messages/lifecycle.hpp"

namespace nv {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<AgentError>("nv::AgentError");
  cfg.add_message_type<failure>("nv::failure");
  cfg.add_message_type<state_change>("nv::state");
}

} // namespace nv
