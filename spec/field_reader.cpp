#include "spec/field_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "spec/duration.hpp"
#include "spec/suggest.hpp"

namespace nv::spec {

namespace {

constexpr std::string_view not_acted_on_message =
    "ZLayer field that nodevisor does not act on; ignored";

std::string one_of(std::span<const std::string_view> words) {
  std::string out;
  for (auto w : words)
    out += (out.empty() ? "" : "|") + std::string{w};
  return out;
}

// YAML 1.2 core integers ("-12", "0x1f", "0o17") and JSON's.
std::optional<int64_t> parse_int(std::string_view text) {
  int base = 10;
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  } else if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'o')) {
    base = text[1] == 'x' ? 16 : 8;
    text.remove_prefix(2);
  }
  uint64_t magnitude = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  if (negative) {
    if (magnitude > uint64_t{1} << 63)
      return std::nullopt;
    return static_cast<int64_t>(0 - magnitude);
  }
  if (magnitude > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return std::nullopt;
  return static_cast<int64_t>(magnitude);
}

bool is_scalar(const node& n) {
  return n.type != node::kind::null && n.type != node::kind::list && n.type != node::kind::map;
}

} // namespace

void reader::add(problem p) {
  auto& count = p.level == severity::error ? errors : warnings;
  if (count++ < max_reported)
    problems.push_back(std::move(p));
}

void reader::error(const node& at, std::string path, std::string message) {
  add({file, std::move(path), std::move(message), severity::error, at.line, at.column});
}

void reader::warning(const node& at, std::string path, std::string message) {
  add({file, std::move(path), std::move(message), severity::warning, at.line, at.column});
}

bool reader::full(severity level) const {
  return (level == severity::error ? errors : warnings) >= max_reported;
}

void reader::finish() {
  if (errors > max_reported)
    problems.push_back({file, "", std::to_string(errors - max_reported) + " more errors not shown",
                        severity::error, 0, 0});
  if (warnings > max_reported)
    problems.push_back({file, "",
                        std::to_string(warnings - max_reported) + " more warnings not shown",
                        severity::warning, 0, 0});
}

std::string child_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + '.' + std::string{key};
}

std::string item_path(const std::string& path, std::size_t index) {
  return path + '[' + std::to_string(index) + ']';
}

std::string describe(const node& n) {
  switch (n.type) {
  case node::kind::null:
    return "null";
  case node::kind::list:
    return "a list";
  case node::kind::map:
    return "a mapping";
  case node::kind::string:
    break;
  default:
    return n.text;
  }
  // Quoted and escaped like JSON, and cut short: the point is to recognise the value.
  constexpr std::size_t shown = 40;
  std::string out = "\"";
  for (std::size_t i = 0; i < n.text.size() && i < shown; ++i) {
    auto c = static_cast<unsigned char>(n.text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (n.text.size() > shown ? "...\"" : "\"");
}

std::optional<std::string> read_string(reader& r, const node& n, const std::string& path) {
  if (is_scalar(n))
    return n.text;
  r.error(n, path, "expected a string, got " + describe(n));
  return std::nullopt;
}

std::optional<bool> read_bool(reader& r, const node& n, const std::string& path) {
  if (n.type == node::kind::boolean)
    return n.text == "true" || n.text == "True" || n.text == "TRUE";
  r.error(n, path, "expected true or false, got " + describe(n));
  return std::nullopt;
}

std::optional<int64_t> read_int(reader& r, const node& n, const std::string& path, int64_t min,
                                int64_t max) {
  if (n.type == node::kind::integer)
    if (auto value = parse_int(n.text); value && *value >= min && *value <= max)
      return value;
  r.error(n, path,
          "expected an integer from " + std::to_string(min) + " to " + std::to_string(max) +
              ", got " + describe(n));
  return std::nullopt;
}

std::optional<double> read_number(reader& r, const node& n, const std::string& path) {
  if (n.type == node::kind::integer) {
    if (auto value = parse_int(n.text))
      return static_cast<double>(*value);
  } else if (n.type == node::kind::number) {
    std::string_view text = n.text;
    if (!text.empty() && text.front() == '+')
      text.remove_prefix(1);
    double value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc{} && end == text.data() + text.size() && std::isfinite(value))
      return value;
  }
  r.error(n, path, "expected a number, got " + describe(n));
  return std::nullopt;
}

std::optional<duration> read_duration(reader& r, const node& n, const std::string& path,
                                      bool seconds_allowed) {
  if (n.type == node::kind::string) {
    if (auto d = parse_duration(n.text))
      return d;
  } else if (n.type == node::kind::integer) {
    // Zero needs no unit; other numbers only where ZLayer itself takes seconds.
    constexpr int64_t max_seconds = std::numeric_limits<int64_t>::max() / 1'000'000'000;
    auto seconds = parse_int(n.text);
    if (seconds && *seconds == 0)
      return duration{0};
    if (seconds_allowed && seconds && *seconds > 0 && *seconds <= max_seconds)
      return std::chrono::seconds{*seconds};
  }
  r.error(n, path,
          std::string{"expected a duration such as 10s"} +
              (seconds_allowed ? " or a number of seconds" : "") + ", got " + describe(n));
  return std::nullopt;
}

std::optional<std::vector<std::string>> read_string_list(reader& r, const node& n,
                                                         const std::string& path) {
  std::vector<std::string> out;
  bool ok = true;
  read_items(r, n, path, [&](const node& item, const std::string& p) {
    if (auto s = read_string(r, item, p))
      out.push_back(std::move(*s));
    else
      ok = false;
  });
  if (!ok || (n.type != node::kind::list && n.type != node::kind::null))
    return std::nullopt;
  return out;
}

std::optional<std::size_t> read_word(reader& r, const node& n, const std::string& path,
                                     std::span<const std::string_view> words) {
  if (is_scalar(n))
    for (std::size_t i = 0; i < words.size(); ++i)
      if (words[i] == n.text)
        return i;
  r.error(n, path, "expected one of " + one_of(words) + ", got " + describe(n));
  return std::nullopt;
}

bool read_fields(reader& r, const node& n, const std::string& path,
                 std::initializer_list<field> fields,
                 std::span<const std::string_view> not_acted_on) {
  if (n.type != node::kind::map && n.type != node::kind::null) {
    r.error(n, path, "expected a mapping, got " + describe(n));
    return false;
  }
  if (r.schema) {
    for (const auto& f : fields)
      r.schema->acted_on.push_back(child_path(path, f.key));
    for (auto key : not_acted_on)
      r.schema->not_acted_on.push_back(child_path(path, key));
  }
  std::vector<bool> seen(fields.size());
  std::unordered_set<std::string_view> keys;
  for (std::size_t i = 0; i < n.keys.size(); ++i) {
    const auto& key = n.keys[i];
    const auto& value = n.items[i];
    auto p = child_path(path, key);
    if (!keys.insert(key).second) {
      r.error(value, p, "duplicate key");
      continue;
    }
    auto f = std::find_if(fields.begin(), fields.end(),
                          [&](const field& candidate) { return candidate.key == key; });
    if (f != fields.end()) {
      seen[static_cast<std::size_t>(f - fields.begin())] = true;
      f->read(value, p);
    } else if (std::find(not_acted_on.begin(), not_acted_on.end(), key) != not_acted_on.end()) {
      r.warning(value, p, std::string{not_acted_on_message});
    } else if (!r.full(severity::error)) {
      std::vector<std::string_view> known;
      for (const auto& candidate : fields)
        known.push_back(candidate.key);
      known.insert(known.end(), not_acted_on.begin(), not_acted_on.end());
      auto suggestion = nearest(key, known);
      r.error(value, p,
              suggestion ? "unknown field; did you mean '" + std::string{*suggestion} + "'?"
                         : std::string{"unknown field"});
    } else {
      r.error(value, p, "unknown field");
    }
  }
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (std::data(fields)[i].required && !seen[i])
      r.error(n, child_path(path, std::data(fields)[i].key), "required field is missing");
  return true;
}

void read_entries(reader& r, const node& n, const std::string& path,
                  const std::function<void(const std::string& key, const node& value,
                                           const std::string& path)>& read) {
  if (n.type == node::kind::null)
    return;
  if (n.type != node::kind::map) {
    r.error(n, path, "expected a mapping, got " + describe(n));
    return;
  }
  std::unordered_set<std::string_view> keys;
  for (std::size_t i = 0; i < n.keys.size(); ++i) {
    auto p = child_path(path, n.keys[i]);
    if (!keys.insert(n.keys[i]).second)
      r.error(n.items[i], p, "duplicate key");
    else
      read(n.keys[i], n.items[i], p);
  }
}

void read_items(reader& r, const node& n, const std::string& path,
                const std::function<void(const node& item, const std::string& path)>& read) {
  if (n.type == node::kind::null)
    return;
  if (n.type != node::kind::list) {
    r.error(n, path, "expected a list, got " + describe(n));
    return;
  }
  for (std::size_t i = 0; i < n.items.size(); ++i)
    read(n.items[i], item_path(path, i));
}

const node* find(const node& n, std::string_view key) {
  for (std::size_t i = 0; i < n.keys.size(); ++i)
    if (n.keys[i] == key)
      return &n.items[i];
  return nullptr;
}

} // namespace nv::spec
