// Memory: pass 1 keeps one entry per actor (its path and its last failure's position), never
// per event. The walk back then finds each cause by binary search over byte offsets, which
// works because the writer puts lines in strictly increasing seq order (design §7): O(log n)
// short reads per step and O(chain) memory. The walk forward re-reads from the failure on and
// keeps only the seqs already in the chain, capped at max_chain.
#include "trace/trace_why.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <unistd.h>
#include <unordered_set>

#include "trace/trace_render.hpp"

namespace nv {

namespace {

// A failure cascade is a handful of events per tree level; this only stops a hand-made or
// corrupted file from growing the chain without end.
constexpr std::size_t max_chain = 10000;

// Below this window the search reads lines one by one: cheaper than more seeks.
constexpr uint64_t linear_window = 64 * 1024;

struct position {
  uint64_t seq = 0, offset = 0, line = 0;
};

bool is_failure(const trace_event& ev) {
  if (kind(ev) == trace_kind::failure)
    return true;
  const auto* e = std::get_if<exit_event>(&ev.data);
  return e && e->reason == exit_event::reason_kind::failure;
}

// What a failure leads to: its exit, the parent's restart or escalation, the states that mark
// something failed, a route. Spawns and start-up states that follow a restart are the next
// attempt, not part of this failure's story.
bool is_consequence(const trace_event& ev) {
  switch (kind(ev)) {
  case trace_kind::failure:
  case trace_kind::escalate:
  case trace_kind::restart:
  case trace_kind::route:
    return true;
  case trace_kind::exit:
    return is_failure(ev);
  case trace_kind::state: {
    const auto to = std::get<state_event>(ev.data).to;
    return to == lifecycle::failed || to == lifecycle::degraded;
  }
  default:
    return false;
  }
}

class seq_finder {
public:
  explicit seq_finder(int fd) : fd_(fd) {}

  // The record with `seq` among the lines that start before `limit`.
  bool find(uint64_t seq, uint64_t limit, trace_record& out) {
    uint64_t lo = 0, hi = limit;
    while (hi - lo > linear_window) {
      const uint64_t mid = lo + (hi - lo) / 2;
      if (!first_from(mid, hi, out)) {
        hi = mid;
        continue;
      }
      if (out.seq == seq)
        return true;
      if (out.seq < seq)
        lo = out.offset;
      else
        hi = mid;
    }
    if (scan(lo, hi, seq, out))
      return true;
    // Lines out of seq order (a file edited by hand): fall back to reading the whole prefix.
    return lo != 0 || hi != limit ? scan(0, limit, seq, out) : false;
  }

private:
  // The first well-formed record whose line starts in [from, limit).
  bool first_from(uint64_t from, uint64_t limit, trace_record& out) {
    // Start one byte early: the partial line up to the first newline is skipped, and a line
    // that starts exactly at `from` is then the next one.
    if (::lseek(fd_, static_cast<off_t>(from - 1), SEEK_SET) < 0)
      return false;
    line_reader reader(fd_, from - 1, 0);
    line_reader::line l;
    if (reader.next(l) != line_reader::status::line)
      return false;
    return next_record(reader, limit, out, 0);
  }

  bool scan(uint64_t from, uint64_t limit, uint64_t seq, trace_record& out) {
    if (::lseek(fd_, static_cast<off_t>(from), SEEK_SET) < 0)
      return false;
    line_reader reader(fd_, from, 0);
    return next_record(reader, limit, out, seq);
  }

  // Reads records until one qualifies: any (want == 0) or the one with seq `want`.
  bool next_record(line_reader& reader, uint64_t limit, trace_record& out, uint64_t want) {
    line_reader::line l;
    while (reader.next(l) == line_reader::status::line && l.offset < limit) {
      if (l.too_long || !parse_trace_line(l.text, out, error_))
        continue;
      out.offset = l.offset;
      if (want == 0 || out.seq == want)
        return true;
    }
    return false;
  }

  int fd_;
  std::string error_;
};

bool ends_at_component(const std::string& path, const std::string& name) {
  if (name.empty() || path.size() < name.size() ||
      path.compare(path.size() - name.size(), name.size(), name) != 0)
    return false;
  return path.size() == name.size() || name.front() == '/' ||
         path[path.size() - name.size() - 1] == '/';
}

} // namespace

std::string resolve_actor(const std::vector<std::string>& paths, const std::string& name,
                          std::vector<std::string>& candidates) {
  if (std::find(paths.begin(), paths.end(), name) != paths.end())
    return name;
  for (const auto& match :
       {+[](const std::string&p, const std::string&n) { return ends_at_component(p, n); },
        +[](const std::string&p, const std::string&n) { return p.rfind(n, 0) == 0; }}) {
    candidates.clear();
    for (const auto& p : paths)
      if (match(p, name))
        candidates.push_back(p);
    if (candidates.size() == 1)
      return candidates.front();
    if (!candidates.empty())
      return {};
  }
  return {};
}

why_result explain_failure(const std::string& path, const std::string& name, read_stats& stats) {
  why_result why;
  // Pass 1: every actor and the position of its last failure.
  std::map<std::string, position> last_failure;
  std::vector<std::string> paths;
  std::unordered_set<std::string> seen;
  bool first = true;
  auto pass1 = [&](const trace_record& rec) {
    if (first) {
      why.origin_us = rec.ts_us;
      first = false;
    }
    if (seen.insert(rec.ev.actor).second)
      paths.push_back(rec.ev.actor);
    if (is_failure(rec.ev))
      last_failure[rec.ev.actor] = {rec.seq, rec.offset, rec.line};
  };
  if (!read_trace_file(path, pass1, stats, why.error)) {
    why.result = why_result::outcome::unreadable;
    return why;
  }
  seen.clear();
  why.actor = resolve_actor(paths, name, why.candidates);
  if (why.actor.empty()) {
    why.result =
        why.candidates.empty() ? why_result::outcome::no_match : why_result::outcome::ambiguous;
    return why;
  }
  auto target = last_failure.find(why.actor);
  if (target == last_failure.end()) {
    why.result = why_result::outcome::never_failed;
    return why;
  }
  const position from = target->second;
  last_failure.clear();

  // Forward: the failure itself and what it led to.
  std::unordered_set<uint64_t> in_chain{from.seq};
  read_stats again; // these lines were counted in pass 1
  auto forward = [&](const trace_record& rec) {
    if (rec.seq == from.seq ||
        (in_chain.count(rec.ev.cause) && is_consequence(rec.ev) && why.chain.size() < max_chain)) {
      in_chain.insert(rec.seq);
      why.chain.push_back(rec);
    }
  };
  if (!read_trace_file(path, forward, again, why.error,
                       {.offset = from.offset, .first_line = from.line}) ||
      why.chain.empty()) {
    why.result = why_result::outcome::unreadable;
    if (why.error.empty())
      why.error = path + ": changed while being read (line " + std::to_string(from.line) +
                  " is no longer seq " + std::to_string(from.seq) + ")";
    return why;
  }

  // Backward: follow cause links to the first cause.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    why.result = why_result::outcome::unreadable;
    why.error = path + ": cannot open: " + std::strerror(errno);
    return why;
  }
  seq_finder finder(fd);
  std::vector<trace_record> back;
  uint64_t cause = why.chain.front().ev.cause;
  uint64_t limit = from.offset;
  trace_record rec;
  while (cause != 0 && back.size() < max_chain) {
    // Each cause is searched only before the line of its effect, so the walk ends.
    if (!finder.find(cause, limit, rec)) {
      why.missing_cause = "#" + std::to_string(cause);
      break;
    }
    back.push_back(rec);
    cause = rec.ev.cause;
    limit = rec.offset;
  }
  ::close(fd);
  why.chain.insert(why.chain.begin(), back.rbegin(), back.rend());
  why.result = why_result::outcome::chain;
  return why;
}

void print_why(std::FILE* out, const why_result& why) {
  if (!why.missing_cause.empty())
    std::fprintf(out, "%10s  %s (not in the file: dropped, or written before it began)\n", "?",
                 why.missing_cause.c_str());
  for (const auto& rec : why.chain)
    std::fprintf(out, "%s\n", render_record(rec, why.origin_us).c_str());
}

} // namespace nv
