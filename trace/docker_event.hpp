// ZLayer's Docker-shaped container lifecycle events (design §8, `/api/v1/events`), derived from
// the trace: {"resource":"container","kind":"start"|"die"|"oom"|"health","id":"api-rep-1",
// "labels":{"deployment":..,"service":..,"replica":".."},"exit_code":int|null,"reason":..|null,
// "status":..|null,"at":RFC 3339}. ZLayer's ContainerEvent (crates/zlayer-api/src/event_bus.rs)
// has these fields but `resource`, and omits a null one; its clients read a null the same way.
//
// Only a container actor's events map, a path /DEPLOYMENT/SERVICE/SERVICE-rep-N:
//   start   its state to `running`;
//   health  its state to `healthy` (status "healthy"), or its failure with HealthCheckFailed
//           (status "unhealthy", reason the error's message);
//   die     its exit (exit_code the code when the trace has one; reason the error's message, or
//           the exit's reason word `normal` | `shutdown` when it has no error);
//   oom     after that die, when the exit has `oom_killed` (reason "oom_killed", as ZLayer).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace nv {

// The events of one trace line (a parsed §7 line): none for most, two for an OOM kill.
std::vector<nlohmann::json> docker_events(const nlohmann::json& trace_line);

// The trace events docker_events maps: a trace_filter with these spares reading the rest.
std::vector<std::string> docker_source_events();

// One `label=k=v` filter of `/api/v1/events`.
struct label_filter {
  std::string key;
  std::string value; // may be empty: the label is there with an empty value
};

// "k=v" (the value may itself hold '='); none without a '=' or with an empty key, which the
// endpoint answers with 400, as ZLayer does.
std::optional<label_filter> parse_label_filter(std::string_view text);

// Whether `event` has every label of `filters` with that value (AND; none: every event).
bool matches_labels(const nlohmann::json& event, const std::vector<label_filter>& filters);

} // namespace nv
