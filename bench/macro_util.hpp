// Helpers shared by the macro benchmarks (tree_scale, escalation_latency, probe_throughput):
// memory readings, order statistics, list arguments and the JSON line writer.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <sys/resource.h>
#include <vector>

namespace nv::bench {

inline long rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
    in.ignore(1 << 16, '\n');
  }
  return 0;
}

inline long peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

inline std::string load_average() {
  std::ifstream in{"/proc/loadavg"};
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

// Nearest-rank percentile of sorted values; `p` in [0, 100].
inline double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty())
    return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

// "median [min–max]" of repetitions, for the human-readable tables.
inline std::string spread(std::vector<double> v, const char* fmt = "%.3g") {
  if (v.empty())
    return "-";
  std::sort(v.begin(), v.end());
  auto one = [fmt](double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, fmt, x);
    return std::string{buf};
  };
  auto med = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  if (v.size() == 1)
    return one(med);
  return one(med) + " [" + one(v.front()) + "-" + one(v.back()) + "]";
}

// "1,10,50" -> {1, 10, 50}; false on anything that is not a comma-separated list of integers.
inline bool parse_longs(const std::string& text, std::vector<long>& out) {
  out.clear();
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto comma = text.find(',', pos);
    auto item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    try {
      std::size_t used = 0;
      out.push_back(std::stol(item, &used));
      if (used != item.size())
        return false;
    } catch (const std::exception&) {
      return false;
    }
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  return !out.empty();
}

// `text` as the inside of a JSON string.
inline std::string json_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

// One measurement as a JSON line: the common fields first, then the bench's own dimensions
// (already formatted as `"key":value` pairs, comma-separated, possibly empty).
inline void json_line(const char* bench, const char* metric, const std::string& dims, int rep,
                      double value, const char* unit) {
  std::printf(
      "{\"bench\":\"%s\",\"metric\":\"%s\",%s%s\"rep\":%d,\"value\":%.9g,\"unit\":\"%s\"}\n", bench,
      metric, dims.c_str(), dims.empty() ? "" : ",", rep, value, unit);
}

} // namespace nv::bench
