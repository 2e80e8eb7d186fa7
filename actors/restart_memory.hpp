// The records the supervisors of a deployment keep in the node's supervision_memory, and how a
// daemon that starts puts them back into the plans it restores (design §9: a restarted daemon
// carries over restart counts and backoffs, so that nothing is started twice and a crash loop
// stays a crash loop).
//
// Keys are actor paths: a child's record ("/shop/api/api-rep-1": its restarts, the restarts
// inside its window, its last start, when its pending restart falls due) and a supervisor's
// ("/shop/api/@": the restarts it made inside its window, for its intensity). Times are kept on
// the wall clock, the only one two processes share.
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "actors/plan.hpp"
#include "messages/supervision_memory.hpp"
#include "supervisor/supervisor.hpp"

namespace nv {

// A supervisor_hooks::on_restart for `st`: writes down child `index`'s record and the
// supervisor's own.
void remember_restart(supervision_memory& memory, const supervisor_state& st, std::size_t index,
                      duration delay, caf::actor_clock::time_point now);

// A supervisor_hooks::on_child_state for a child that completed: writes down that it did, as the
// replica it was (`fingerprint`), so that the next daemon does not run it again.
void remember_completion(supervision_memory& memory, const child_record& rec,
                         const std::string& fingerprint);

// Fills the plan's histories and intensities from what the daemon before this one wrote down
// (nothing for a deployment it did not know).
void recall(deployment_plan& plan, const std::map<std::string, std::string>& memory,
            caf::actor_clock::time_point now);

// The prefix of every key of a deployment's supervisors.
std::string memory_prefix(const std::string& deployment);

} // namespace nv
