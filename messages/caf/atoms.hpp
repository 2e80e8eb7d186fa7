// Atoms of the tree's protocol (CAF 0.17: at most 10 characters each).
#pragma once

#include <caf/atom.hpp>

namespace nv {

using which_children_atom = caf::atom_constant<caf::atom("whichchild")>;
using count_children_atom = caf::atom_constant<caf::atom("countchild")>;
using restart_atom = caf::atom_constant<caf::atom("restart")>;
using deadline_atom = caf::atom_constant<caf::atom("deadline")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
// Skip what remains of the stop grace: whatever is still stopping is killed at once (a second
// Ctrl-C). Sent down the tree to the children whose spec says they take it.
using hurry_atom = caf::atom_constant<caf::atom("hurry")>;
// (last_failure_atom, failure): a service tells its deployment of a failure below it, and the
// deployment passes it on to the waits for that service, so a dependency timeout names its cause.
using last_failure_atom = caf::atom_constant<caf::atom("lastfail")>;

// The node's control protocol (actors/node_protocol.hpp): add or apply a deployment, remove one.
using deploy_atom = caf::atom_constant<caf::atom("deploy")>;
using remove_atom = caf::atom_constant<caf::atom("remove")>;
// (apply_atom, plan): the node hands a deployment its new plan, a deployment a service its own.
using apply_atom = caf::atom_constant<caf::atom("apply")>;
// (roll_atom): a deployment tells a service to replace all its replicas, one at a time.
using roll_atom = caf::atom_constant<caf::atom("roll")>;

} // namespace nv
