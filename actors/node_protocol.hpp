// What the node actor answers, for whoever drives it (the daemon's control API, tests). Each is a
// request; the reply comes as said, or a caf::error of node_error_category.
//
//   (deploy_atom, deployment_plan) -> deployment_change
//       A name not in the tree is added and started; one in the tree is sent the new plan to
//       apply (actors/plan_diff.hpp says what that changes). The reply comes once the change has
//       begun. A name that is being removed waits for the removal to end, then is added anew.
//   (remove_atom, std::string deployment) -> caf::unit
//       Stops the deployment (its services in reverse order, as a shutdown does) and forgets it;
//       the reply comes once all of it is down. node_errc::not_found for a name not in the tree.
//   (restart_atom, std::string deployment, std::string service) -> caf::unit
//       Replaces every replica of the service, one at a time, each new one healthy (running
//       without a health check, completed for a job) before the next old one stops. The reply
//       comes once begun. node_errc::not_found for an unknown deployment or service,
//       node_errc::not_running for a deployment that is not running (it failed).
//   (which_children_atom) -> std::vector<child_info>, one per deployment.
#pragma once

#include <cstdint>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/plan.hpp"
#include "actors/plan_diff.hpp"

namespace nv {

enum class node_errc : uint8_t {
  none = 0,
  not_found = 1,   // no such deployment or service: the API's 404 NotFound
  not_running = 2, // the deployment is in the tree but not running (it failed)
};

constexpr caf::atom_value node_error_category = caf::atom("nvnode");

// The context is one line for a person: "no deployment 'web' on this node".
caf::error make_error(node_errc code, std::string what);

// The code of a node error, none for any other error.
node_errc node_error_code(const caf::error& err);
// The line make_error was given, empty for any other error.
std::string node_error_text(const caf::error& err);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, replica_changes& x) {
  return f(caf::meta::type_name("replica_changes"), x.unchanged, x.added, x.removed, x.replaced);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, rolled_service& x) {
  return f(caf::meta::type_name("rolled_service"), x.name, x.replicas);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, deployment_change& x) {
  return f(caf::meta::type_name("deployment_change"), x.deployment, x.whole, x.unchanged, x.added,
           x.removed, x.replaced, x.rolled);
}

// The node's message types and its error category; call with register_supervisor_types, before
// the actor system is made.
void register_node_types(caf::actor_system_config& cfg);

} // namespace nv

// Plans hold shared restart histories and runtime options (std::any): they travel only inside
// this process, from the control API to the node and down the tree.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nv::deployment_plan)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(nv::service_plan)
