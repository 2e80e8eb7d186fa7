#include "spec/duration.hpp"

#include <cmath>
#include <cstdint>

namespace nv::spec {

namespace {

struct unit {
  std::string_view name;
  int64_t ns;
};

constexpr int64_t second = 1'000'000'000;

// humantime's unit names, without months and years, whose length is a convention.
constexpr unit units[] = {
    {"ns", 1},
    {"nsec", 1},
    {"nanos", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000}, // µs
    {"usec", 1'000},
    {"micros", 1'000},
    {"ms", 1'000'000},
    {"msec", 1'000'000},
    {"millis", 1'000'000},
    {"s", second},
    {"sec", second},
    {"secs", second},
    {"second", second},
    {"seconds", second},
    {"m", 60 * second},
    {"min", 60 * second},
    {"mins", 60 * second},
    {"minute", 60 * second},
    {"minutes", 60 * second},
    {"h", 3'600 * second},
    {"hr", 3'600 * second},
    {"hrs", 3'600 * second},
    {"hour", 3'600 * second},
    {"hours", 3'600 * second},
    {"d", 86'400 * second},
    {"day", 86'400 * second},
    {"days", 86'400 * second},
    {"w", 604'800 * second},
    {"week", 604'800 * second},
    {"weeks", 604'800 * second},
};

std::optional<int64_t> unit_ns(std::string_view name) {
  for (const auto& u : units)
    if (u.name == name)
      return u.ns;
  return std::nullopt;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_space(char c) {
  return c == ' ' || c == '\t';
}

} // namespace

std::optional<duration> parse_duration(std::string_view text) {
  while (!text.empty() && is_space(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && is_space(text.back()))
    text.remove_suffix(1);
  if (text == "0")
    return duration{0};
  if (text.empty())
    return std::nullopt;

  int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    // One component: digits, an optional fraction, then a unit.
    int64_t whole = 0;
    std::size_t digits = 0;
    for (; i < text.size() && is_digit(text[i]); ++i, ++digits)
      if (__builtin_mul_overflow(whole, 10, &whole) ||
          __builtin_add_overflow(whole, text[i] - '0', &whole))
        return std::nullopt;
    long double fraction = 0;
    if (i < text.size() && text[i] == '.') {
      long double scale = 0.1L;
      for (++i; i < text.size() && is_digit(text[i]); ++i, ++digits, scale /= 10)
        fraction += (text[i] - '0') * scale;
    }
    if (digits == 0)
      return std::nullopt;
    std::size_t unit_start = i;
    while (i < text.size() && !is_digit(text[i]) && !is_space(text[i]) && text[i] != '.')
      ++i;
    auto ns = unit_ns(text.substr(unit_start, i - unit_start));
    if (!ns)
      return std::nullopt;
    int64_t part = 0;
    if (__builtin_mul_overflow(whole, *ns, &part))
      return std::nullopt;
    // Rounded, not truncated, so that "0.1s" is exactly 100ms despite binary fractions.
    auto fractional = static_cast<int64_t>(std::llround(fraction * static_cast<long double>(*ns)));
    if (__builtin_add_overflow(part, fractional, &part) ||
        __builtin_add_overflow(total, part, &total))
      return std::nullopt;
    while (i < text.size() && is_space(text[i]))
      ++i;
  }
  return duration{total};
}

} // namespace nv::spec
