// What a traced message looks like in a send/recv event: its type and the few fields that tell
// one instance from another (never a full dump: an AgentError's text is in the failure events).
// trace/traced_actor.hpp calls it for every message an actor sends or receives.
#pragma once

#include <string>

#include <caf/type_erased_tuple.hpp>

namespace nv::trace {

// The message's type, with its summary appended to `summary`, or nullptr for a message the trace
// does not record (timers, queries, answers to requests).
const char* describe(const caf::type_erased_tuple& m, std::string& summary);

// Where a message without a traced sender comes from: the runtime's or the check runner's
// threads, or outside the tree.
const char* anonymous_sender(const caf::type_erased_tuple& m);

} // namespace nv::trace
