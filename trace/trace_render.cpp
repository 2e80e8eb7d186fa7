#include "trace/trace_render.hpp"

#include <chrono>
#include <cinttypes>
#include <cstdio>

#include "messages/printable.hpp"

namespace nv {

namespace {

std::string micros(uint64_t us) {
  return format_duration(std::chrono::microseconds{us});
}

struct describe {
  std::string operator()(const spawn_event& e) const { return "spawned by " + e.parent; }
  std::string operator()(const exit_event& e) const {
    std::string out{to_string(e.reason)};
    if (e.error)
      out += ": " + to_string(*e.error);
    if (!e.signal.empty())
      out += " (killed by " + e.signal + ")";
    return out;
  }
  std::string operator()(const state_event& e) const {
    std::string out = std::string{to_string(e.from)} + " → " + std::string{to_string(e.to)};
    if (e.pid)
      out += " (pid " + std::to_string(*e.pid) + ")";
    return out;
  }
  std::string operator()(const failure_event& e) const {
    return to_string(e.error) + " (attempt " + std::to_string(e.attempt) + ")";
  }
  std::string operator()(const restart_event& e) const {
    return e.child + " (" + e.strategy + ", after " + std::to_string(e.delay_ms) + "ms)";
  }
  std::string operator()(const escalate_event& e) const {
    return "to " + e.to + ": " + to_string(e.error) + " (from " + e.origin + ")";
  }
  std::string operator()(const probe_event& e) const {
    if (e.ok)
      return "ok in " + micros(e.latency_us);
    return "failed after " + micros(e.latency_us) + ": " + e.reason;
  }
  std::string operator()(const wait_event& e) const {
    return e.dependency + " (" + e.condition + "): " + std::string{to_string(e.outcome)};
  }
  std::string operator()(const route_event& e) const {
    std::string out = e.service + " (os " + e.required_os + ") → ";
    return out + (e.peer ? *e.peer : "no peer runs that OS");
  }
  std::string operator()(const dropped_event& e) const {
    return std::to_string(e.count) + " events dropped by the writer";
  }
  std::string operator()(const send_event& e) const {
    return e.msg + " to " + e.to + (e.summary.empty() ? "" : ": " + e.summary);
  }
  std::string operator()(const recv_event& e) const {
    return e.msg + " from " + e.from + (e.summary.empty() ? "" : ": " + e.summary);
  }
};

} // namespace

std::string format_seconds(int64_t us) {
  const bool negative = us < 0;
  const uint64_t abs = negative ? static_cast<uint64_t>(-(us + 1)) + 1 : static_cast<uint64_t>(us);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%" PRIu64 ".%03" PRIu64 "s", negative ? "-" : "", abs / 1000000,
                abs / 1000 % 1000);
  return buf;
}

std::string event_detail(const trace_event& ev) {
  return std::visit(describe{}, ev.data);
}

std::string render_record(const trace_record& rec, int64_t origin_us) {
  char head[64];
  std::snprintf(head, sizeof head, "%10s  #%-6" PRIu64 " ",
                format_seconds(rec.ts_us - origin_us).c_str(), rec.seq);
  // Reasons carry what a workload printed, and a trace file can hold anything: one line each,
  // nothing that drives the terminal.
  std::string out{head};
  append_printable(out, rec.ev.actor);
  out += "  ";
  out += to_string(kind(rec.ev));
  out += "  ";
  append_printable(out, event_detail(rec.ev));
  return out;
}

} // namespace nv
