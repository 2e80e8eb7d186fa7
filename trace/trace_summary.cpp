#include "trace/trace_summary.hpp"

#include <algorithm>
#include <cinttypes>
#include <ctime>
#include <vector>

#include "messages/printable.hpp"
#include "trace/trace_render.hpp"

namespace nv {

namespace {

void charge(actor_summary& a, lifecycle s, int64_t until_us) {
  if (a.since_us && until_us > *a.since_us)
    a.us_in_state[static_cast<std::size_t>(s)] += until_us - *a.since_us;
}

actor_summary& actor_of(trace_summary& sum, const std::string& path, uint64_t seq) {
  auto [it, added] = sum.actors.try_emplace(path);
  if (added)
    it->second.first_seq = seq;
  return it->second;
}

// "2026-11-26 12:20:41.123 UTC"
std::string wall_clock(int64_t ts_us) {
  const std::time_t secs = static_cast<std::time_t>(ts_us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[48];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03d UTC", static_cast<int>(ts_us / 1000 % 1000));
  return buf;
}

} // namespace

void add_to_summary(trace_summary& sum, const trace_record& rec) {
  if (sum.events == 0)
    sum.first_ts_us = rec.ts_us;
  ++sum.events;
  sum.last_ts_us = std::max(sum.last_ts_us, rec.ts_us);
  if (const auto* d = std::get_if<dropped_event>(&rec.ev.data)) {
    sum.dropped += d->count; // the writer's own bookkeeping, not an actor
    return;
  }
  actor_summary& a = actor_of(sum, rec.ev.actor, rec.seq);
  switch (kind(rec.ev)) {
  case trace_kind::spawn:
    ++a.spawns;
    if (!a.since_us)
      a.since_us = rec.ts_us;
    break;
  case trace_kind::state: {
    const auto& e = std::get<state_event>(rec.ev.data);
    charge(a, a.state.value_or(e.from), rec.ts_us);
    a.state = e.to;
    a.since_us = rec.ts_us;
    break;
  }
  case trace_kind::failure: {
    const auto& e = std::get<failure_event>(rec.ev.data);
    ++a.failures;
    const auto kind_word = kind_name(e.error);
    auto it = a.failures_by_kind.find(kind_word);
    if (it == a.failures_by_kind.end())
      a.failures_by_kind.emplace(std::string{kind_word}, 1);
    else
      ++it->second;
    break;
  }
  case trace_kind::restart:
    ++actor_of(sum, std::get<restart_event>(rec.ev.data).child, rec.seq).restarts;
    break;
  default:
    break;
  }
}

void finish_summary(trace_summary& sum) {
  for (auto& [path, a] : sum.actors)
    if (a.state) {
      charge(a, *a.state, sum.last_ts_us);
      a.since_us = sum.last_ts_us;
    }
}

void print_summary(std::FILE* out, const trace_summary& sum, const read_stats& stats) {
  std::fprintf(out, "events:    %" PRIu64 "\n", sum.events);
  if (sum.events > 0)
    std::fprintf(out, "span:      %s (%s to %s)\n",
                 format_seconds(sum.last_ts_us - sum.first_ts_us).c_str(),
                 wall_clock(sum.first_ts_us).c_str(), wall_clock(sum.last_ts_us).c_str());
  std::fprintf(out, "malformed: %" PRIu64 " lines\n", stats.malformed);
  std::fprintf(out, "dropped:   %" PRIu64 " events\n", sum.dropped);
  std::fprintf(out, "actors:    %zu\n", sum.actors.size());

  std::vector<const std::pair<const std::string, actor_summary>*> order;
  order.reserve(sum.actors.size());
  std::size_t width = 5;
  for (const auto& entry : sum.actors) {
    order.push_back(&entry);
    width = std::max(width, entry.first.size());
  }
  // Most failures first; then most restarts; then start order, so the quiet rest reads like
  // the tree.
  std::sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    if (a->second.failures != b->second.failures)
      return a->second.failures > b->second.failures;
    if (a->second.restarts != b->second.restarts)
      return a->second.restarts > b->second.restarts;
    return a->second.first_seq < b->second.first_seq;
  });
  const int w = static_cast<int>(width);
  std::fprintf(out, "\n%-*s  %6s  %8s  %8s  %s\n", w, "ACTOR", "SPAWNS", "RESTARTS", "FAILURES",
               "FAILURES BY KIND");
  for (const auto* entry : order) {
    const actor_summary& a = entry->second;
    std::string kinds;
    for (const auto& [kind_word, n] : a.failures_by_kind)
      kinds += (kinds.empty() ? "" : ", ") + kind_word + " " + std::to_string(n);
    std::fprintf(out, "%-*s  %6" PRIu64 "  %8" PRIu64 "  %8" PRIu64 "%s%s\n", w,
                 printable(entry->first).c_str(), a.spawns, a.restarts, a.failures,
                 kinds.empty() ? "" : "  ", kinds.c_str());
    std::string states;
    for (std::size_t s = 0; s < lifecycle_count; ++s)
      if (a.us_in_state[s] > 0)
        states += (states.empty() ? "" : ", ") + std::string{to_string(static_cast<lifecycle>(s))} +
                  " " + format_seconds(a.us_in_state[s]);
    if (!states.empty())
      std::fprintf(out, "  in state: %s\n", states.c_str());
  }
}

} // namespace nv
