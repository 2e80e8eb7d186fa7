#include "trace/trace_chrome.hpp"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "trace/trace_render.hpp"
#include "trace/trace_tree.hpp"

namespace nv {

namespace {

using nlohmann::json;

struct track {
  int pid = 0, tid = 0;
  // The open slice. One opened by a spawn has no state until the next state event says what
  // it was (its `from`), or the exit closes it as "alive".
  std::optional<int64_t> since_us;
  std::optional<lifecycle> state;
};

// One service, or one top-level actor, per process: "/web-stack/api/api-rep-1" belongs to
// "/web-stack/api"; "/web-stack", "/" and "/_peers" are their own.
std::string group_of(const std::string& path) {
  std::size_t slash = path.find('/', 1);
  if (slash == std::string::npos)
    return path;
  slash = path.find('/', slash + 1);
  return slash == std::string::npos ? path : path.substr(0, slash);
}

class chrome_writer {
public:
  chrome_writer(std::FILE* out, int64_t origin_us) : out_(out), origin_(origin_us) {}

  void emit(const json& ev) {
    std::fputs(first_ ? "\n" : ",\n", out_);
    first_ = false;
    const std::string text = ev.dump(-1, ' ', false, json::error_handler_t::replace);
    std::fwrite(text.data(), 1, text.size(), out_);
  }

  void metadata(const char* name, int pid, int tid, const char* key, json value) {
    json ev = {{"ph", "M"}, {"name", name}, {"pid", pid}, {"args", {{key, std::move(value)}}}};
    if (tid != 0)
      ev["tid"] = tid;
    emit(ev);
  }

  void slice(const track& t, std::string_view name, int64_t begin_us, int64_t end_us) {
    emit({{"ph", "X"},
          {"name", name},
          {"cat", "state"},
          {"pid", t.pid},
          {"tid", t.tid},
          {"ts", rel(begin_us)},
          {"dur", std::max<int64_t>(0, end_us - begin_us)}});
  }

  void instant(const track& t, const trace_record& rec) {
    json args = {{"seq", rec.seq}, {"detail", event_detail(rec.ev)}};
    if (rec.ev.cause != 0)
      args["cause"] = rec.ev.cause;
    emit({{"ph", "i"},
          {"s", "t"},
          {"name", to_string(kind(rec.ev))},
          {"cat", to_string(kind(rec.ev))},
          {"pid", t.pid},
          {"tid", t.tid},
          {"ts", rel(rec.ts_us)},
          {"args", std::move(args)}});
  }

  // Both ends bind to the slice that encloses them ("bp":"e"), the state the actor was in.
  void flow(const char* phase, const track& t, int64_t ts_us, uint64_t id) {
    json ev = {{"ph", phase},  {"name", "cause"}, {"cat", "cause"},   {"id", id},
               {"pid", t.pid}, {"tid", t.tid},    {"ts", rel(ts_us)}, {"bp", "e"}};
    emit(ev);
  }

private:
  int64_t rel(int64_t ts_us) const { return ts_us - origin_; }

  std::FILE* out_;
  int64_t origin_;
  bool first_ = true;
};

bool is_instant(trace_kind k) {
  return k != trace_kind::state;
}

} // namespace

bool export_chrome(const std::string& path, std::FILE* out, read_stats& stats, std::string& error) {
  // Pass 1: the tree (for track order) and every cause link, as (cause, effect) pairs.
  actor_tree tree;
  std::vector<std::pair<uint64_t, uint64_t>> links; // effect-ordered, as read
  int64_t origin = 0, last_ts = 0;
  bool first = true;
  auto pass1 = [&](const trace_record& rec) {
    if (first) {
      origin = rec.ts_us;
      first = false;
    }
    last_ts = std::max(last_ts, rec.ts_us);
    add_to_tree(tree, rec);
    if (rec.ev.cause != 0 && rec.ev.cause < rec.seq)
      links.emplace_back(rec.ev.cause, rec.seq);
  };
  if (!read_trace_file(path, pass1, stats, error))
    return false;
  finish_tree(tree);
  // Already in effect order when the file is in seq order, as the writer guarantees.
  std::sort(links.begin(), links.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });

  // Links by cause, to start each flow at its cause; `started` marks, per link in effect
  // order, that its start was written, so every end written has its start and ids pair up.
  std::vector<std::size_t> by_cause(links.size());
  for (std::size_t i = 0; i < by_cause.size(); ++i)
    by_cause[i] = i;
  std::stable_sort(by_cause.begin(), by_cause.end(),
                   [&](std::size_t a, std::size_t b) { return links[a].first < links[b].first; });
  std::vector<bool> started(links.size(), false);

  chrome_writer w(out, origin);
  std::fprintf(out,
               "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"source\":%s,\"origin_ts_us\":%lld},"
               "\"traceEvents\":[",
               json(path).dump(-1, ' ', false, json::error_handler_t::replace).c_str(),
               static_cast<long long>(origin));

  std::unordered_map<std::string, track> tracks;
  std::unordered_map<std::string, int> pids;
  int next_tid = 1;
  walk_tree(tree, [&](std::size_t i, std::size_t) {
    const std::string& actor_path = tree.actors[i].path;
    const std::string group = group_of(actor_path);
    auto [pit, added] = pids.try_emplace(group, static_cast<int>(pids.size()) + 1);
    if (added) {
      w.metadata("process_name", pit->second, 0, "name", group);
      w.metadata("process_sort_index", pit->second, 0, "sort_index", pit->second);
    }
    track t;
    t.pid = pit->second;
    t.tid = next_tid++;
    w.metadata("thread_name", t.pid, t.tid, "name", actor_path);
    w.metadata("thread_sort_index", t.pid, t.tid, "sort_index", t.tid);
    tracks.emplace(actor_path, t);
  });

  auto close_slice = [&](track& t, std::string_view name, int64_t at_us) {
    if (t.since_us)
      w.slice(t, name, *t.since_us, at_us);
    t.since_us.reset();
  };

  read_stats again; // these lines were counted in pass 1
  auto pass2 = [&](const trace_record& rec) {
    auto it = tracks.find(rec.ev.actor);
    if (it == tracks.end())
      return; // the writer's dropped-events record: no actor, no track
    track& t = it->second;
    const trace_kind k = kind(rec.ev);
    if (k == trace_kind::exit) {
      close_slice(t, t.state ? to_string(*t.state) : std::string_view{"alive"}, rec.ts_us);
      t.state.reset();
    } else if (const auto* s = std::get_if<state_event>(&rec.ev.data)) {
      close_slice(t, to_string(t.state.value_or(s->from)), rec.ts_us);
      t.state = s->to;
      t.since_us = rec.ts_us;
    } else if (!t.since_us) {
      // A spawn, or the first event of an actor whose spawn is not traced (probes): it is
      // alive from here, so the flows that touch it have a slice to bind to.
      t.since_us = rec.ts_us;
    }
    if (is_instant(k))
      w.instant(t, rec);
    // Index and seq are both 64-bit unsigned here: explicit lambdas, no overload guessing.
    const auto lo =
        std::lower_bound(by_cause.begin(), by_cause.end(), rec.seq,
                         [&](std::size_t link, uint64_t seq) { return links[link].first < seq; });
    const auto hi =
        std::upper_bound(lo, by_cause.end(), rec.seq,
                         [&](uint64_t seq, std::size_t link) { return seq < links[link].first; });
    for (auto l = lo; l != hi; ++l) {
      started[*l] = true;
      w.flow("s", t, rec.ts_us, links[*l].second);
    }
    if (rec.ev.cause != 0) {
      auto e = std::lower_bound(links.begin(), links.end(), rec.seq,
                                [](const auto& link, uint64_t seq) { return link.second < seq; });
      if (e != links.end() && e->second == rec.seq &&
          started[static_cast<std::size_t>(e - links.begin())])
        w.flow("f", t, rec.ts_us, rec.seq);
    }
  };
  if (!read_trace_file(path, pass2, again, error))
    return false;
  for (auto& [actor_path, t] : tracks)
    close_slice(t, t.state ? to_string(*t.state) : std::string_view{"alive"}, last_ts);
  std::fputs("\n]}\n", out);
  if (std::fflush(out) != 0 || std::ferror(out)) {
    error = "writing the export failed";
    return false;
  }
  return true;
}

} // namespace nv
