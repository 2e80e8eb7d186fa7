// `nodevisor trace summary`: per-actor counts and time in each lifecycle state. Memory grows
// with the number of actors, not of events, so a trace of any length fits.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "trace/trace_reader.hpp"

namespace nv {

inline constexpr std::size_t lifecycle_count = static_cast<std::size_t>(lifecycle::degraded) + 1;

struct actor_summary {
  uint64_t spawns = 0;
  uint64_t restarts = 0; // restart events that named this actor as the child
  uint64_t failures = 0;
  std::map<std::string, uint64_t, std::less<>> failures_by_kind; // AgentError kind → count
  std::array<int64_t, lifecycle_count> us_in_state{};
  // The state being timed and since when; unset until a state event (or a spawn, whose time
  // is charged to the first state event's `from`).
  std::optional<lifecycle> state;
  std::optional<int64_t> since_us;
  uint64_t first_seq = 0;
};

struct trace_summary {
  uint64_t events = 0;
  int64_t first_ts_us = 0, last_ts_us = 0;
  uint64_t dropped = 0; // sum of the writer's dropped events
  std::unordered_map<std::string, actor_summary> actors;
};

void add_to_summary(trace_summary& sum, const trace_record& rec);

// Charges each actor's current state up to the last event of the file.
void finish_summary(trace_summary& sum);

// A header (events, time span, malformed lines, dropped events), then one block per actor,
// the actors with the most failures first.
void print_summary(std::FILE* out, const trace_summary& sum, const read_stats& stats);

} // namespace nv
