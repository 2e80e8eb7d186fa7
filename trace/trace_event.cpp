#include "trace/trace_event.hpp"

#include <array>
#include <type_traits>

namespace nv {

namespace {

template <trace_kind K, class T>
constexpr bool kind_is =
    std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(K), trace_data>, T>;

// kind() reads the variant index as the kind; a reordered alternative must not compile.
static_assert(std::variant_size_v<trace_data> == static_cast<std::size_t>(trace_kind::recv) + 1);
static_assert(kind_is<trace_kind::spawn, spawn_event> && kind_is<trace_kind::exit, exit_event> &&
              kind_is<trace_kind::state, state_event> &&
              kind_is<trace_kind::failure, failure_event> &&
              kind_is<trace_kind::restart, restart_event> &&
              kind_is<trace_kind::escalate, escalate_event> &&
              kind_is<trace_kind::probe, probe_event> && kind_is<trace_kind::wait, wait_event> &&
              kind_is<trace_kind::route, route_event> &&
              kind_is<trace_kind::dropped, dropped_event> &&
              kind_is<trace_kind::send, send_event> && kind_is<trace_kind::recv, recv_event>);

constexpr std::array<std::string_view, 12> kind_names = {"spawn",   "exit",     "state", "failure",
                                                         "restart", "escalate", "probe", "wait",
                                                         "route",   "dropped",  "send",  "recv"};
constexpr std::array<std::string_view, 3> reason_names = {"normal", "shutdown", "failure"};
constexpr std::array<std::string_view, 4> outcome_names = {"satisfied", "timeout_fail",
                                                           "timeout_warn", "timeout_continue"};

template <std::size_t N, class Enum>
std::string_view name_of(const std::array<std::string_view, N>& names, Enum e) {
  auto i = static_cast<std::size_t>(e);
  return i < N ? names[i] : "unknown";
}

} // namespace

std::string_view to_string(trace_kind k) {
  return name_of(kind_names, k);
}

std::string_view to_string(exit_event::reason_kind r) {
  return name_of(reason_names, r);
}

std::string_view to_string(wait_event::outcome_kind o) {
  return name_of(outcome_names, o);
}

} // namespace nv
