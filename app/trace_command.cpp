#include "app/trace_command.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// The command line after the subcommand: options with a value, flags, and the rest in order.
struct args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;
  std::vector<std::string> flags;

  const std::string* option(std::string_view name) const {
    const std::string* found = nullptr;
    for (const auto& [k, v] : options)
      if (k == name)
        found = &v;
    return found;
  }
  bool flag(std::string_view name) const {
    for (const auto& f : flags)
      if (f == name)
        return true;
    return false;
  }
};

int usage_error(const char* fmt, const std::string& what) {
  std::fprintf(stderr, "nodevisor trace: ");
  std::fprintf(stderr, fmt, what.c_str());
  std::fprintf(stderr, "\nusage:\n%s", trace_usage());
  return 2;
}

// Splits argv into positionals, `--name VALUE` for the names in `with_value`, and flags for the
// names in `without`; anything else starting with "--" is an error.
std::optional<args> parse(int argc, char** argv, std::initializer_list<std::string_view> with_value,
                          std::initializer_list<std::string_view> without) {
  args out;
  for (int i = 0; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a.size() < 2 || a.substr(0, 2) != "--") {
      out.positional.emplace_back(a);
      continue;
    }
    if (std::find(with_value.begin(), with_value.end(), a) != with_value.end()) {
      if (i + 1 == argc) {
        usage_error("%s needs a value", std::string{a});
        return std::nullopt;
      }
      out.options.emplace_back(std::string{a}, argv[++i]);
    } else if (std::find(without.begin(), without.end(), a) != without.end()) {
      out.flags.emplace_back(a);
    } else {
      usage_error("unknown option '%s'", std::string{a});
      return std::nullopt;
    }
  }
  return out;
}

bool want_positionals(const args& a, std::size_t n, const char* what) {
  if (a.positional.size() == n)
    return true;
  usage_error("expected %s", what);
  return false;
}

// Reads `file` into an analysis; prints skipped lines on stderr. False (after saying why) when
// the file cannot be read.
bool read_all(const std::string& file, const record_callback& fn, read_stats& stats) {
  std::string error;
  const bool ok = read_trace_file(file, fn, stats, error);
  if (!ok)
    std::fprintf(stderr, "nodevisor trace: %s\n", error.c_str());
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

int summary(int argc, char** argv) {
  auto a = parse(argc, argv, {}, {});
  if (!a || !want_positionals(*a, 1, "FILE"))
    return 2;
  trace_summary sum;
  read_stats stats;
  if (!read_all(
          a->positional[0], [&](const trace_record& r) { add_to_summary(sum, r); }, stats))
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

// The tree of `file` at --at (default: the end), for `tree` and `export --dot`. False after
// saying why when --at is malformed or the file unreadable.
bool read_tree(const args& a, const std::string& file, actor_tree& t) {
  std::optional<moment> at;
  const std::string* at_text = a.option("--at");
  if (at_text) {
    at = parse_moment(*at_text);
    if (!at) {
      usage_error("--at '%s': expected seconds or milliseconds after the first event (2.5s, "
                  "1500ms) or an absolute ts_us (1732600000123456)",
                  *at_text);
      return false;
    }
  }
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
  if (!read_all(file, add, stats))
    return false;
  if (at && !first && t.at_us < first_ts)
    std::fprintf(stderr, "nodevisor trace: --at %s is before the first event (ts_us %lld)\n",
                 at_text->c_str(), static_cast<long long>(first_ts));
  finish_tree(t);
  return true;
}

int tree(int argc, char** argv) {
  auto a = parse(argc, argv, {"--at"}, {});
  if (!a || !want_positionals(*a, 1, "FILE"))
    return 2;
  actor_tree t;
  if (!read_tree(*a, a->positional[0], t))
    return 2;
  print_tree(stdout, t);
  return 0;
}

int why(int argc, char** argv) {
  auto a = parse(argc, argv, {}, {});
  if (!a || !want_positionals(*a, 2, "ACTOR FILE"))
    return 2;
  const std::string& name = a->positional[0];
  const std::string& file = a->positional[1];
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
    std::fprintf(stderr, "nodevisor trace: %s\n", w.error.c_str());
    return 2;
  }
  return 2;
}

int tail(int argc, char** argv) {
  auto a = parse(argc, argv, {"--actor", "--event"}, {"--no-follow"});
  if (!a || !want_positionals(*a, 1, "FILE"))
    return 2;
  tail_options opts;
  opts.follow = !a->flag("--no-follow");
  if (const auto* prefix = a->option("--actor"))
    opts.actor_prefix = *prefix;
  for (const auto& [k, v] : a->options) {
    if (k != "--event")
      continue;
    std::string_view list = v;
    while (!list.empty()) {
      const auto comma = list.find(',');
      const std::string word{list.substr(0, comma)};
      trace_kind kd{};
      if (!from_string(word, kd))
        return usage_error("--event '%s': expected spawn, exit, state, failure, restart, "
                           "escalate, probe, wait, route, dropped, send or recv",
                           word);
      opts.kinds.push_back(kd);
      list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    }
  }
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  read_stats stats;
  std::string error;
  const bool ok = tail_trace(a->positional[0], opts, stop_requested, stdout, stats, error);
  if (!ok)
    std::fprintf(stderr, "nodevisor trace: %s\n", error.c_str());
  report_malformed(stderr, a->positional[0], stats);
  return ok ? 0 : 2;
}

int export_trace(int argc, char** argv) {
  auto a = parse(argc, argv, {"--chrome", "--dot", "--at"}, {});
  if (!a)
    return 2;
  const std::string* chrome = a->option("--chrome");
  const std::string* dot = a->option("--dot");
  if ((chrome != nullptr) == (dot != nullptr))
    return usage_error("%s", "export needs exactly one of --chrome OUT or --dot OUT");
  if (chrome && a->option("--at"))
    return usage_error("%s", "--at applies to --dot only: the Chrome export holds the whole run");
  if (!want_positionals(*a, 1, "FILE"))
    return 2;
  const std::string& file = a->positional[0];
  const std::string& out_path = chrome ? *chrome : *dot;
  output out;
  if (chrome) {
    if (!out.open(out_path))
      return 2;
    read_stats stats;
    std::string error;
    const bool ok = export_chrome(file, out.file, stats, error);
    report_malformed(stderr, file, stats);
    if (!ok) {
      std::fprintf(stderr, "nodevisor trace: %s\n", error.c_str());
      out.discard(out_path);
      return 2;
    }
    return out.close(out_path) ? 0 : 2;
  }
  // Read before creating OUT, so an unreadable trace leaves no empty picture behind.
  actor_tree t;
  if (!read_tree(*a, file, t))
    return 2;
  if (!out.open(out_path))
    return 2;
  print_dot(out.file, t);
  return out.close(out_path) ? 0 : 2;
}

} // namespace

const char* trace_usage() {
  return "       nodevisor trace summary FILE\n"
         "       nodevisor trace tree FILE [--at TIME]      TIME: 2.5s or 1500ms after the "
         "first event, or an absolute ts_us\n"
         "       nodevisor trace why ACTOR FILE             ACTOR: a path, or its unique end "
         "(api-rep-1) or start\n"
         "       nodevisor trace tail FILE [--actor PREFIX] [--event KIND[,KIND...]] "
         "[--no-follow]\n"
         "       nodevisor trace export --chrome OUT FILE   Chrome/Perfetto JSON (OUT - for "
         "stdout)\n"
         "       nodevisor trace export --dot OUT FILE [--at TIME]  Graphviz supervision tree\n";
}

int trace_command(int argc, char** argv) {
  if (argc < 1) {
    std::fprintf(stderr, "usage:\n%s", trace_usage());
    return 2;
  }
  const std::string_view sub = argv[0];
  if (sub == "summary")
    return summary(argc - 1, argv + 1);
  if (sub == "tree")
    return tree(argc - 1, argv + 1);
  if (sub == "why")
    return why(argc - 1, argv + 1);
  if (sub == "tail")
    return tail(argc - 1, argv + 1);
  if (sub == "export")
    return export_trace(argc - 1, argv + 1);
  return usage_error("unknown subcommand '%s'", std::string{sub});
}

} // namespace nv
