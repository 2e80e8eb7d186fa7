#include "app/trace_command.hpp"

#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "app/cli.hpp"
#include "app/verbs.hpp"
#include "messages/printable.hpp"
#include "trace/trace_chrome.hpp"
#include "trace/trace_dot.hpp"
#include "trace/trace_reader.hpp"
#include "trace/trace_summary.hpp"
#include "trace/trace_tail.hpp"
#include "trace/trace_tree.hpp"
#include "trace/trace_why.hpp"

namespace nv {

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_stop_signal(int) {
  stop_requested = 1;
}

// Reads `file` into an analysis; prints skipped lines on stderr. False (after saying why) when
// the file cannot be read.
bool read_all(const std::string& file, const record_callback& fn, read_stats& stats) {
  std::string error;
  const bool ok = read_trace_file(file, fn, stats, error);
  if (!ok)
    std::fprintf(stderr, "nodevisor trace: %s\n", printable(error).c_str());
  report_malformed(stderr, file, stats);
  return ok;
}

// An output file, or stdout for "-".
struct output {
  std::FILE* file = nullptr;
  bool owned = false;
  ~output() {
    if (owned && file)
      std::fclose(file);
  }
  bool open(const std::string& path) {
    if (path == "-") {
      file = stdout;
      return true;
    }
    file = std::fopen(path.c_str(), "w");
    owned = file != nullptr;
    if (!file)
      std::fprintf(stderr, "nodevisor trace: %s: cannot create: %s\n", path.c_str(),
                   std::strerror(errno));
    return file != nullptr;
  }
  // Removes a half-written OUT.
  void discard(const std::string& path) {
    if (!owned)
      return;
    std::fclose(file);
    owned = false;
    std::remove(path.c_str());
  }
  bool close(const std::string& path) {
    if (!owned)
      return std::fflush(file) == 0;
    owned = false;
    if (std::fclose(file) != 0) {
      std::fprintf(stderr, "nodevisor trace: %s: write failed: %s\n", path.c_str(),
                   std::strerror(errno));
      return false;
    }
    return true;
  }
};

// The command line of whichever `trace` subcommand runs; empty strings are options not given.
struct trace_options {
  std::string file;
  std::string actor;               // why ACTOR
  std::string at;                  // tree, export --dot: --at TIME
  std::string actor_prefix;        // tail --actor
  std::vector<std::string> events; // tail --event, one kind each
  bool no_follow = false;          // tail
  std::string chrome, dot;         // export: OUT
};

int summary(const trace_options& o) {
  trace_summary sum;
  read_stats stats;
  if (!read_all(
          o.file, [&](const trace_record& r) { add_to_summary(sum, r); }, stats))
    return 2;
  finish_summary(sum);
  print_summary(stdout, sum, stats);
  return 0;
}

// TIME for --at: "2.5s" or "1500ms" after the first event, or a plain number: an absolute
// ts_us as the trace writes it.
struct moment {
  int64_t us = 0;
  bool relative = false;
};

std::optional<moment> parse_moment(std::string_view text) {
  auto ends_with = [&](std::string_view suffix) {
    return text.size() > suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
  };
  double scale = 0;
  std::string_view number = text;
  if (ends_with("ms")) {
    scale = 1e3;
    number.remove_suffix(2);
  } else if (ends_with("us")) {
    scale = 1;
    number.remove_suffix(2);
  } else if (ends_with("s")) {
    scale = 1e6;
    number.remove_suffix(1);
  }
  if (scale == 0) {
    int64_t abs = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), abs);
    if (ec != std::errc{} || p != text.data() + text.size() || abs < 0)
      return std::nullopt;
    return moment{abs, false};
  }
  double value = 0;
  auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc{} || p != number.data() + number.size() || value < 0)
    return std::nullopt;
  return moment{static_cast<int64_t>(value * scale + 0.5), true};
}

// --at TIME, checked while the command line parses.
const CLI::Validator moment_check{
    [](std::string& text) {
      return parse_moment(text) ? std::string{}
                                : "'" + text +
                                      "': expected seconds or milliseconds after the first "
                                      "event (2.5s, 1500ms) or an absolute ts_us "
                                      "(1732600000123456)";
    },
    "TIME"};

// The tree of `o.file` at --at (default: the end), for `tree` and `export --dot`. False after
// saying why when the file is unreadable.
bool read_tree(const trace_options& o, actor_tree& t) {
  std::optional<moment> at;
  if (!o.at.empty())
    at = parse_moment(o.at);
  read_stats stats;
  bool first = true;
  int64_t first_ts = 0;
  auto add = [&](const trace_record& r) {
    if (first) {
      first = false;
      first_ts = r.ts_us;
      if (at)
        t.at_us = at->relative ? r.ts_us + at->us : at->us;
    }
    add_to_tree(t, r);
  };
  if (!read_all(o.file, add, stats))
    return false;
  if (at && !first && t.at_us < first_ts)
    std::fprintf(stderr, "nodevisor trace: --at %s is before the first event (ts_us %lld)\n",
                 o.at.c_str(), static_cast<long long>(first_ts));
  finish_tree(t);
  return true;
}

int tree(const trace_options& o) {
  actor_tree t;
  if (!read_tree(o, t))
    return 2;
  print_tree(stdout, t);
  return 0;
}

int why(const trace_options& o) {
  const std::string& name = o.actor;
  const std::string& file = o.file;
  read_stats stats;
  why_result w = explain_failure(file, name, stats);
  report_malformed(stderr, file, stats);
  switch (w.result) {
  case why_result::outcome::chain:
    print_why(stdout, w);
    return 0;
  case why_result::outcome::never_failed:
    std::fprintf(stderr, "nodevisor trace: %s never failed in %s\n", w.actor.c_str(), file.c_str());
    return 1;
  case why_result::outcome::no_match:
    std::fprintf(stderr,
                 "nodevisor trace: no actor in %s matches '%s' (give a path, or its end "
                 "such as a replica id)\n",
                 file.c_str(), name.c_str());
    return 2;
  case why_result::outcome::ambiguous:
    std::fprintf(stderr, "nodevisor trace: '%s' matches several actors; give more of the path:\n",
                 name.c_str());
    for (std::size_t i = 0; i < w.candidates.size() && i < 10; ++i)
      std::fprintf(stderr, "  %s\n", w.candidates[i].c_str());
    if (w.candidates.size() > 10)
      std::fprintf(stderr, "  ... and %zu more\n", w.candidates.size() - 10);
    return 2;
  case why_result::outcome::unreadable:
    std::fprintf(stderr, "nodevisor trace: %s\n", printable(w.error).c_str());
    return 2;
  }
  return 2;
}

// One KIND of --event, checked while the command line parses.
const CLI::Validator kind_check{
    [](std::string& word) {
      trace_kind kind{};
      return from_string(word, kind) ? std::string{}
                                     : "'" + word +
                                           "': expected spawn, exit, state, failure, restart, "
                                           "escalate, probe, wait, route, dropped, send or recv";
    },
    "KIND"};

int tail(const trace_options& o) {
  tail_options opts;
  opts.follow = !o.no_follow;
  opts.actor_prefix = o.actor_prefix;
  for (const auto& word : o.events) {
    trace_kind kind{};
    from_string(word, kind);
    opts.kinds.push_back(kind);
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  read_stats stats;
  std::string error;
  const bool ok = tail_trace(o.file, opts, stop_requested, stdout, stats, error);
  if (!ok)
    std::fprintf(stderr, "nodevisor trace: %s\n", printable(error).c_str());
  report_malformed(stderr, o.file, stats);
  return ok ? 0 : 2;
}

int export_trace(const trace_options& o) {
  const bool chrome = !o.chrome.empty();
  const std::string& file = o.file;
  const std::string& out_path = chrome ? o.chrome : o.dot;
  output out;
  if (chrome) {
    if (!out.open(out_path))
      return 2;
    read_stats stats;
    std::string error;
    const bool ok = export_chrome(file, out.file, stats, error);
    report_malformed(stderr, file, stats);
    if (!ok) {
      std::fprintf(stderr, "nodevisor trace: %s\n", printable(error).c_str());
      out.discard(out_path);
      return 2;
    }
    return out.close(out_path) ? 0 : 2;
  }
  // Read before creating OUT, so an unreadable trace leaves no empty picture behind.
  actor_tree t;
  if (!read_tree(o, t))
    return 2;
  if (!out.open(out_path))
    return 2;
  print_dot(out.file, t);
  return out.close(out_path) ? 0 : 2;
}

} // namespace

void add_trace_command(CLI::App& app) {
  auto o = std::make_shared<trace_options>();
  auto* trace = app.add_subcommand("trace", summary_of("trace"));
  trace->require_subcommand(1);
  auto add_file = [o](CLI::App* cmd) {
    cmd->add_option("FILE", o->file, "The trace (JSONL)")->required();
  };
  auto add_at = [o](CLI::App* cmd) {
    return cmd
        ->add_option("--at", o->at,
                     "The tree at TIME: 2.5s or 1500ms after the first event, or an absolute "
                     "ts_us (default: the end)")
        ->check(moment_check);
  };

  auto* sum = trace->add_subcommand(
      "summary", "Per actor: spawns, restarts, failures by kind, time in each state");
  add_file(sum);
  on_parsed(sum, [o] { return summary(*o); });

  auto* tr = trace->add_subcommand("tree", "The supervision tree with each actor's state");
  add_file(tr);
  add_at(tr);
  on_parsed(tr, [o] { return tree(*o); });

  auto* wh = trace->add_subcommand(
      "why", "The cause chain behind an actor's last failure, up to the escalation (exit 1 when "
             "it never failed)");
  wh->add_option("ACTOR", o->actor, "A path, or its unique end (api-rep-1) or start")->required();
  add_file(wh);
  on_parsed(wh, [o] { return why(*o); });

  auto* tl = trace->add_subcommand(
      "tail", "Print the events as they are written, until Ctrl-C (a live trace)");
  add_file(tl);
  tl->add_option("--actor", o->actor_prefix, "Only the actors whose path starts with PREFIX")
      ->type_name("PREFIX");
  tl->add_option("--event", o->events, "Only these kinds of event (repeatable)")
      ->delimiter(',')
      ->check(kind_check)
      ->type_name("KIND[,KIND...]");
  tl->add_flag("--no-follow", o->no_follow, "Stop at the end of the file");
  on_parsed(tl, [o] { return tail(*o); });

  auto* ex = trace->add_subcommand(
      "export", "Write the trace for other tools: Chrome/Perfetto JSON, or a Graphviz tree");
  add_file(ex);
  auto* format = ex->add_option_group("output");
  auto* chrome = format
                     ->add_option("--chrome", o->chrome,
                                  "Chrome/Perfetto JSON to OUT (- for stdout): open it in "
                                  "ui.perfetto.dev or chrome://tracing")
                     ->type_name("OUT");
  format->add_option("--dot", o->dot, "The supervision tree in Graphviz to OUT (- for stdout)")
      ->type_name("OUT");
  format->require_option(1);
  // The Chrome export holds the whole run.
  add_at(ex)->excludes(chrome);
  on_parsed(ex, [o] { return export_trace(*o); });
}

} // namespace nv
