// Typed reads from the document tree, each reporting what it expected at the field's path.
// The schema (spec_reader.cpp) is written with these, so every field of every format gets the
// same checks and the same messages.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "messages/agent_error.hpp"
#include "spec/document.hpp"
#include "spec/problem.hpp"

namespace nv::spec {

// The ASCII letters and digits of names (services, steps, nodes), whatever the locale.
inline bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Where the problems of one file collect. Past `max_reported` of a severity, further ones are
// only counted, so hostile input cannot make the report (or the work to word it) explode.
struct reader {
  static constexpr std::size_t max_reported = 200;

  std::string file;
  std::vector<problem> problems;
  std::size_t errors = 0;
  std::size_t warnings = 0;
  // When set, every key that a read_fields table knows is recorded here, as a field path,
  // whether or not the document has it: the schema as the reader itself holds it, so the docs
  // test can check that docs/spec.md names every field the loader accepts.
  struct known_fields {
    std::vector<std::string> acted_on;     // "services.api.health.interval"
    std::vector<std::string> not_acted_on; // ZLayer's fields, accepted with a warning
  };
  known_fields* schema = nullptr;

  void error(const node& at, std::string path, std::string message);
  void warning(const node& at, std::string path, std::string message);
  void add(problem p);
  bool full(severity level) const;
  // Appends "N more errors not shown" (an error, so the spec stays rejected) and the like.
  void finish();
};

std::string child_path(const std::string& path, std::string_view key); // "a.b", or "b" at the top
std::string item_path(const std::string& path, std::size_t index);     // "a[3]"

// How a value shows in "got ..." messages: strings quoted, other scalars as written, and
// "a list" or "a mapping".
std::string describe(const node& n);

// Scalars of any kind read as strings (YAML's `port: 80` and `port: "80"` are both text).
std::optional<std::string> read_string(reader& r, const node& n, const std::string& path);
std::optional<bool> read_bool(reader& r, const node& n, const std::string& path);
std::optional<int64_t> read_int(reader& r, const node& n, const std::string& path, int64_t min,
                                int64_t max);
std::optional<double> read_number(reader& r, const node& n, const std::string& path);
// A humantime string; with `seconds_allowed`, also a plain integer count of seconds.
std::optional<duration> read_duration(reader& r, const node& n, const std::string& path,
                                      bool seconds_allowed = false);
std::optional<std::vector<std::string>> read_string_list(reader& r, const node& n,
                                                         const std::string& path);
// One of `words`, spelt exactly; returns its index.
std::optional<std::size_t> read_word(reader& r, const node& n, const std::string& path,
                                     std::span<const std::string_view> words);

template <class E>
struct word {
  std::string_view text;
  E value;
};

template <class E>
std::optional<E> read_enum(reader& r, const node& n, const std::string& path,
                           std::initializer_list<word<E>> words) {
  std::vector<std::string_view> texts;
  for (const auto& w : words)
    texts.push_back(w.text);
  auto index = read_word(r, n, path, texts);
  if (!index)
    return std::nullopt;
  return std::data(words)[*index].value;
}

// Stores a value that was read, and leaves the default when it was not.
template <class T, class U>
void set(T& target, std::optional<U> value) {
  if (value)
    target = static_cast<T>(std::move(*value));
}

struct field {
  std::string_view key;
  std::function<void(const node& value, const std::string& path)> read;
  bool required = false;
};

// Reads a mapping with a fixed set of keys: each present field's reader runs, in file order.
// Keys in `not_acted_on` (ZLayer fields nodevisor accepts but ignores) get one warning each;
// other keys are errors that suggest the nearest known key; duplicate keys are errors; missing
// required fields are errors. A null value counts as an empty mapping. False when `n` is not a
// mapping at all.
bool read_fields(reader& r, const node& n, const std::string& path,
                 std::initializer_list<field> fields,
                 std::span<const std::string_view> not_acted_on = {});

// A mapping whose keys are names (services, environment variables), in file order; duplicate
// names are errors and are skipped.
void read_entries(reader& r, const node& n, const std::string& path,
                  const std::function<void(const std::string& key, const node& value,
                                           const std::string& path)>& read);

// A list; null counts as empty.
void read_items(reader& r, const node& n, const std::string& path,
                const std::function<void(const node& item, const std::string& path)>& read);

// The value of `key` in mapping `n`, if there is one.
const node* find(const node& n, std::string_view key);

} // namespace nv::spec
