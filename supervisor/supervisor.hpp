// The generic OTP-style supervisor every parent of the tree is built on (service, deployment,
// node). One state record, each restart strategy a small clause (supervisor.cpp).
//
// Protocol with children: a child that fails sends its parent a `failure` and exits; the
// parent monitors every child and decides on the exit. Stopping is explicit: the parent sends
// exit(user_shutdown), waits the child's grace, then exit(kill). A hurry (hurry_atom) skips
// the grace: the supervisor passes it to each child that takes it and is stopping, and to
// each it asks to stop afterwards.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor_clock.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "messages/actor_path.hpp"
#include "messages/caf/inspect.hpp"
#include "messages/supervision.hpp"
#include "supervisor/child_spec.hpp"
#include "trace/traced_actor.hpp"

namespace nv {

// which_children: one entry per child spec, in start order.
struct child_info {
  std::string id;
  std::string path;
  caf::actor handle; // invalid while the child is not running
  child_kind kind = child_kind::worker;
  restart_type restart = restart_type::permanent;
  lifecycle state = lifecycle::pending;
  uint32_t restarts = 0;
  // What the supervisor knows beyond the state, for a status to show without a trace.
  failure last_failure;    // the child's last reported failure; ts_us == 0: none yet
  int64_t up_since_us = 0; // wall clock when it last became up (running, healthy, ...)
  int32_t pid = 0;         // a container's main process while it is up, else 0
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_info& x) {
  return f(caf::meta::type_name("child_info"), x.id, x.path, x.handle, x.kind, x.restart, x.state,
           x.restarts, x.last_failure, x.up_since_us, x.pid);
}

// count_children, as OTP's: specs, active (alive) children, supervisors, workers.
struct child_counts {
  uint32_t specs = 0;
  uint32_t active = 0;
  uint32_t supervisors = 0;
  uint32_t workers = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, child_counts& x) {
  return f(caf::meta::type_name("child_counts"), x.specs, x.active, x.supervisors, x.workers);
}

// Hooks for the actors that embed the supervisor (service, deployment, node) to add their own
// behaviour without changing its rules.
struct supervisor_hooks {
  // A child's state changed, as the child reported it or as the supervisor decided it.
  std::function<void(std::size_t index, lifecycle from, lifecycle to)> on_child_state;
  // A child failed; return true when the embedder handled it (the supervisor then neither
  // restarts the child nor counts the failure).
  std::function<bool(std::size_t index, failure& report)> on_child_failure;
  // A reschedule signal (RouteToPeer) reached this supervisor; without this hook it is
  // passed to the parent unchanged. The node sets it: it is the level that re-places.
  std::function<void(failure& report)> on_reschedule;
  // A restart was decided (child `index`, after `delay`): where the embedder writes down what
  // must outlive the daemon (its restarts, the intensity, when the restart falls due).
  std::function<void(std::size_t index, duration delay)> on_restart;
};

struct supervisor_config {
  std::string path;                        // this supervisor's path, "/" for the node
  std::string noun = "supervisor";         // what it is, for log lines: "service", "deployment"
  caf::actor_addr parent;                  // weak; failures and state changes go there
  std::string parent_path;                 // for trace events
  const node_services* services = nullptr; // handed to every child
  supervisor_flags flags;
  // Stop all children at once (a service's replicas) instead of one at a time in reverse
  // start order (a deployment's services).
  bool parallel_stop = false;
  std::vector<child_spec> children; // in start order
  supervisor_hooks hooks;
  // Restarts this supervisor made under the daemon before this one, inside its window: they
  // count toward its intensity as its own do.
  std::vector<caf::actor_clock::time_point> recent_restarts{};
  // Report `running` at once (a plain supervisor). An embedder that derives its own state
  // from its children (a service from its replicas) sets it with supervisor_set_state.
  bool own_state_is_running = true;
};

struct child_record {
  child_spec spec;
  std::string path;
  caf::actor handle;
  lifecycle state = lifecycle::pending;
  uint32_t restarts = 0; // all restarts, for which_children
  // Kept after the child recovers; null: none yet. Failures are rare and large (two AgentErrors
  // each): a record holds them only once they happen.
  std::unique_ptr<failure> last_failure;
  int64_t up_since_us = 0;
  int32_t pid = 0;
  // For backoff: the spec's own when it has one, which outlives this supervisor.
  std::shared_ptr<restart_history> history;
  uint64_t restarted_by = 0;        // trace seq of the restart that starts its next incarnation
  std::unique_ptr<failure> pending; // reported failure, exit not yet seen
  bool routed = false;     // failed with a reschedule signal: stays down, the node re-places it
  bool stopping = false;   // we asked it to stop
  uint64_t stopped_by = 0; // ... because of this trace event (a stop job's, or a terminate's)
  // Stopped on request (supervisor_terminate_child): kept down, no restart, until started again.
  bool held = false;
  // Tags, unique within the supervisor: a stop deadline or a delayed restart finds its record
  // by them (records move when one is deleted), and a stale one finds none.
  uint64_t stop_gen = 0;
  uint64_t restart_gen = 0;
  std::vector<std::function<void()>> when_down; // what terminate_child's callers wait for
};

// What the supervisor does once the children it is stopping are all down.
enum class stop_purpose : uint8_t { none, restart, give_up, shutdown };

struct stop_job {
  stop_purpose purpose = stop_purpose::none;
  std::vector<std::size_t> order;   // children to stop, in stop order
  std::vector<std::size_t> restart; // children to start again afterwards, in start order
  duration delay{0};                // ... after this backoff
  failure escalation;               // give_up: what goes to the parent
  caf::error quit_reason;           // shutdown: the reason we were asked to exit with
  uint64_t began_by = 0;            // trace seq of what began the stop: each exit names it
};

struct supervisor_state {
  std::string path;
  std::string noun;
  caf::actor_addr parent;
  std::string parent_path;
  const node_services* services = nullptr;
  supervisor_flags flags;
  bool parallel_stop = false;
  // A deque: a hook that a child's state change calls may add children (a service starts its
  // replicas once its waits end) while the rule that changed it still holds its record.
  std::deque<child_record> children;
  std::unordered_map<caf::actor_addr, std::size_t> index;   // alive child -> its record
  std::deque<caf::actor_clock::time_point> recent_restarts; // for the intensity
  lifecycle state = lifecycle::pending;
  stop_job job;
  supervisor_hooks hooks;
  bool hurried = false;  // told to skip the stop grace: every child it stops is hurried too
  uint64_t last_gen = 0; // the last stop_gen / restart_gen handed out

  supervisor_state() = default;
  supervisor_state(const supervisor_state&) = delete;
  supervisor_state& operator=(const supervisor_state&) = delete;
  // A supervisor that dies without stopping its children (killed by its parent at the end of
  // its grace) kills them, so no child outlives its parent.
  ~supervisor_state();

  static inline const char* name = "nv.supervisor";
};

using supervisor_actor_t = traced_stateful_actor<supervisor_state>;

// Initializes `st` from `cfg`, installs the down and exit handlers and starts every child in
// order. Returns the supervisor's handlers, to be combined with an embedding actor's own.
caf::behavior supervisor_init(caf::event_based_actor* self, supervisor_state& st,
                              supervisor_config cfg);

// Starts a new child after the existing ones (OTP's start_child); returns its index.
std::size_t supervisor_add_child(caf::event_based_actor* self, supervisor_state& st,
                                 child_spec spec);

// True once the supervisor is stopping for good (shut down, or gave up): its children's
// states no longer describe it.
bool supervisor_is_ending(const supervisor_state& st);

// Starts child `index` again if it is not running (OTP's restart_child); false if it runs.
bool supervisor_restart_child(caf::event_based_actor* self, supervisor_state& st,
                              std::size_t index);

// Stops child `index` and keeps it down (OTP's terminate_child): neither the restart rules nor a
// restart of its siblings start it again, only supervisor_restart_child does. `done` runs once
// it is down (at once when it is not running), unless the supervisor is ending by then.
void supervisor_terminate_child(caf::event_based_actor* self, supervisor_state& st,
                                std::size_t index, std::function<void()> done = {});

// Forgets the record of a child that is down (OTP's delete_child); the records after it move one
// index down. False, and nothing done, while it runs.
bool supervisor_delete_child(supervisor_state& st, std::size_t index);

// The spec the child is started from the next time; the incarnation running now runs on.
void supervisor_set_child_spec(supervisor_state& st, std::size_t index, child_spec spec);

// Puts the records in this order (start order, stop order in reverse): `ids` first, as listed,
// then the others as they were.
void supervisor_reorder_children(supervisor_state& st, const std::vector<std::string>& ids);

// The index of the child with this spec id.
std::optional<std::size_t> supervisor_find_child(const supervisor_state& st, const std::string& id);

// Sets this supervisor's own state: traced and sent to its parent as a state_change.
void supervisor_set_state(caf::event_based_actor* self, supervisor_state& st, lifecycle to);

// Stops every child and fails with `report` (unchanged), as when the intensity is exceeded.
// `why` ends the log line "service /d/s is giving up …", e.g. "as errors.on_panic says".
void supervisor_give_up(caf::event_based_actor* self, supervisor_state& st, failure report,
                        const std::string& why);

// The plain supervisor actor.
caf::behavior supervisor_actor(supervisor_actor_t* self, supervisor_config cfg);

// For children that must not outlive their parent (probes, init steps): monitors the parent
// and exits when it goes. False, and the child already exiting, when the parent is gone.
bool exit_with_parent(caf::event_based_actor* self, const child_context& ctx);

// For children: report `error` to the parent as a failure and exit. Emits the failure event,
// caused by what the handler is doing, or else by the restart that started this incarnation.
void fail_child(caf::event_based_actor* self, const child_context& ctx, AgentError error);
// The same for a child that traced its failure event itself (report.cause is that event).
void send_failure(caf::event_based_actor* self, const child_context& ctx, failure report);

// The exit reason of a supervisor that gave up and escalated.
caf::error escalated_exit_reason();

void register_supervisor_types(caf::actor_system_config& cfg);

} // namespace nv
