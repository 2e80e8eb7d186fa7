#include "trace/trace_reader.hpp"

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace nv {

namespace {

using nlohmann::json;

// One top-level field of a line. Lines are flat objects with one nested object ("error"), so
// the fields are read by a small scanner for the writer's own format (no DOM, no allocation
// for most values); anything it does not expect goes through nlohmann, which also words the
// errors. Both fill the same list, read by one set of accessors below.
struct value {
  enum class type : uint8_t { string, unsigned_int, signed_int, boolean, null, object, other };
  type t = type::other;
  std::string_view text; // a string without escapes, or an object's raw text
  std::string decoded;   // a string that had escapes
  uint64_t u = 0;
  int64_t i = 0;
  bool b = false;
  const json* dom = nullptr; // an object read by nlohmann

  std::string str() const { return decoded.empty() ? std::string{text} : decoded; }
};

struct field_list {
  std::vector<std::pair<std::string_view, value>> fields;

  const value* find(std::string_view key) const {
    for (const auto& [k, v] : fields)
      if (k == key)
        return &v;
    return nullptr;
  }
};

// A field that is missing or has the wrong type; the message is what the reader reports.
struct bad_field {
  std::string what;
};

const value& field(const field_list& j, const char* key) {
  const value* v = j.find(key);
  if (!v)
    throw bad_field{std::string{"missing \""} + key + "\""};
  return *v;
}

[[noreturn]] void wrong_type(const char* key, const char* expected) {
  throw bad_field{std::string{"\""} + key + "\" must be " + expected};
}

uint64_t get_u64(const field_list& j, const char* key) {
  const value& v = field(j, key);
  if (v.t != value::type::unsigned_int)
    wrong_type(key, "an unsigned integer");
  return v.u;
}

int64_t get_i64(const field_list& j, const char* key) {
  const value& v = field(j, key);
  if (v.t == value::type::unsigned_int && v.u <= static_cast<uint64_t>(INT64_MAX))
    return static_cast<int64_t>(v.u);
  if (v.t != value::type::signed_int)
    wrong_type(key, "an integer");
  return v.i;
}

std::string get_string(const field_list& j, const char* key) {
  const value& v = field(j, key);
  if (v.t != value::type::string)
    wrong_type(key, "a string");
  return v.str();
}

bool get_bool(const field_list& j, const char* key) {
  const value& v = field(j, key);
  if (v.t != value::type::boolean)
    wrong_type(key, "true or false");
  return v.b;
}

template <class Enum>
Enum get_word(const field_list& j, const char* key, const char* expected) {
  Enum out{};
  if (!from_string(get_string(j, key), out))
    wrong_type(key, expected);
  return out;
}

AgentError get_error(const field_list& j) {
  const value& v = field(j, "error");
  if (v.t != value::type::object)
    wrong_type("error", "an AgentError object");
  try {
    return v.dom ? v.dom->get<AgentError>() : json::parse(v.text).get<AgentError>();
  } catch (const json::exception& e) {
    throw bad_field{std::string{"\"error\" is not an AgentError: "} + e.what()};
  }
}

// The scanner: true when `text` is one flat object in the subset the writer produces
// (integers, strings, booleans, null, nested objects kept as raw text). False sends the line
// to nlohmann, which accepts all of JSON and explains what is wrong.
class scanner {
public:
  explicit scanner(std::string_view text) : s_(text) {}

  bool object(field_list& out) {
    skip_ws();
    if (!eat('{'))
      return false;
    skip_ws();
    if (eat('}'))
      return at_end();
    for (;;) {
      skip_ws();
      std::string_view key;
      if (!plain_string(key))
        return false;
      skip_ws();
      if (!eat(':'))
        return false;
      skip_ws();
      value v;
      if (!parse_value(v))
        return false;
      out.fields.emplace_back(key, std::move(v));
      skip_ws();
      if (eat('}'))
        return at_end();
      if (!eat(','))
        return false;
    }
  }

private:
  bool parse_value(value& v) {
    if (pos_ >= s_.size())
      return false;
    const char c = s_[pos_];
    if (c == '"') {
      v.t = value::type::string;
      return string(v);
    }
    if (c == '{') {
      v.t = value::type::object;
      return raw_object(v.text);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
      return number(v);
    if (literal("true")) {
      v.t = value::type::boolean;
      v.b = true;
      return true;
    }
    if (literal("false")) {
      v.t = value::type::boolean;
      return true;
    }
    if (literal("null")) {
      v.t = value::type::null;
      return true;
    }
    return false;
  }

  bool number(value& v) {
    const char* begin = s_.data() + pos_;
    const char* end = s_.data() + s_.size();
    std::from_chars_result res{};
    if (*begin == '-') {
      v.t = value::type::signed_int;
      res = std::from_chars(begin, end, v.i);
    } else {
      v.t = value::type::unsigned_int;
      res = std::from_chars(begin, end, v.u);
    }
    if (res.ec != std::errc{})
      return false;
    if (res.ptr < end && (*res.ptr == '.' || *res.ptr == 'e' || *res.ptr == 'E'))
      return false; // a float: not written by the writer; nlohmann decides
    pos_ = static_cast<std::size_t>(res.ptr - s_.data());
    return true;
  }

  // A key: no escapes.
  bool plain_string(std::string_view& out) {
    if (!eat('"'))
      return false;
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      if (s_[pos_] == '\\' || static_cast<unsigned char>(s_[pos_]) < 0x20)
        return false;
      ++pos_;
    }
    if (pos_ >= s_.size())
      return false;
    out = s_.substr(start, pos_ - start);
    ++pos_;
    return true;
  }

  bool string(value& v) {
    ++pos_; // the quote
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != '"' && s_[pos_] != '\\') {
      if (static_cast<unsigned char>(s_[pos_]) < 0x20)
        return false;
      ++pos_;
    }
    if (pos_ >= s_.size())
      return false;
    if (s_[pos_] == '"') {
      v.text = s_.substr(start, pos_ - start);
      ++pos_;
      return true;
    }
    // Escapes (reasons carry process output): decode, or leave \u escapes to nlohmann.
    v.decoded.assign(s_.substr(start, pos_ - start));
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"')
        return true;
      if (static_cast<unsigned char>(c) < 0x20)
        return false;
      if (c != '\\') {
        v.decoded += c;
        continue;
      }
      if (pos_ >= s_.size())
        return false;
      switch (s_[pos_++]) {
      case '"':
        v.decoded += '"';
        break;
      case '\\':
        v.decoded += '\\';
        break;
      case '/':
        v.decoded += '/';
        break;
      case 'b':
        v.decoded += '\b';
        break;
      case 'f':
        v.decoded += '\f';
        break;
      case 'n':
        v.decoded += '\n';
        break;
      case 'r':
        v.decoded += '\r';
        break;
      case 't':
        v.decoded += '\t';
        break;
      default:
        return false;
      }
    }
    return false;
  }

  // The extent of a nested object, strings respected; nlohmann parses it when it is needed.
  bool raw_object(std::string_view& out) {
    const std::size_t start = pos_;
    int depth = 0;
    bool in_string = false;
    for (; pos_ < s_.size(); ++pos_) {
      const char c = s_[pos_];
      if (in_string) {
        if (c == '\\')
          ++pos_;
        else if (c == '"')
          in_string = false;
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (--depth == 0) {
          ++pos_;
          out = s_.substr(start, pos_ - start);
          return true;
        }
      }
    }
    return false;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word)
      return false;
    pos_ += word.size();
    return true;
  }
  bool eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\r' || s_[pos_] == '\n'))
      ++pos_;
  }
  bool at_end() {
    skip_ws();
    return pos_ == s_.size();
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

// nlohmann's DOM as the same field list; `dom` must outlive it.
bool from_dom(const json& dom, field_list& out, std::string& error) {
  if (!dom.is_object()) {
    error = "expected a JSON object";
    return false;
  }
  for (const auto& [k, j] : dom.items()) {
    value v;
    if (j.is_string()) {
      v.t = value::type::string;
      v.text = j.get_ref<const std::string&>();
    } else if (j.is_number_unsigned()) {
      v.t = value::type::unsigned_int;
      v.u = j.get<uint64_t>();
    } else if (j.is_number_integer()) {
      v.t = value::type::signed_int;
      v.i = j.get<int64_t>();
    } else if (j.is_boolean()) {
      v.t = value::type::boolean;
      v.b = j.get<bool>();
    } else if (j.is_null()) {
      v.t = value::type::null;
    } else if (j.is_object()) {
      v.t = value::type::object;
      v.dom = &j;
    }
    out.fields.emplace_back(k, std::move(v));
  }
  return true;
}

trace_data parse_data(trace_kind kind, const field_list& j) {
  switch (kind) {
  case trace_kind::spawn:
    return spawn_event{get_string(j, "parent")};
  case trace_kind::exit: {
    exit_event e;
    e.reason = get_word<exit_event::reason_kind>(j, "reason", "normal, shutdown or failure");
    if (j.find("error"))
      e.error = get_error(j);
    if (j.find("code"))
      e.code = static_cast<int32_t>(get_i64(j, "code"));
    if (j.find("signal"))
      e.signal = get_string(j, "signal");
    if (j.find("oom_killed"))
      e.oom_killed = get_bool(j, "oom_killed");
    return e;
  }
  case trace_kind::state: {
    state_event e;
    constexpr const char* states = "a lifecycle state (pending, running, healthy, ...)";
    e.from = get_word<lifecycle>(j, "from", states);
    e.to = get_word<lifecycle>(j, "to", states);
    if (j.find("pid"))
      e.pid = static_cast<int32_t>(get_i64(j, "pid"));
    return e;
  }
  case trace_kind::failure:
    return failure_event{get_error(j), static_cast<uint32_t>(get_u64(j, "attempt"))};
  case trace_kind::restart:
    return restart_event{get_string(j, "child"), get_string(j, "strategy"), get_u64(j, "delay_ms")};
  case trace_kind::escalate:
    return escalate_event{get_string(j, "to"), get_string(j, "origin"), get_error(j)};
  case trace_kind::probe:
    return probe_event{get_bool(j, "ok"), get_u64(j, "latency_us"), get_string(j, "reason")};
  case trace_kind::wait:
    return wait_event{
        get_string(j, "dependency"), get_string(j, "condition"),
        get_word<wait_event::outcome_kind>(
            j, "outcome", "satisfied, timeout_fail, timeout_warn or timeout_continue")};
  case trace_kind::route: {
    route_event e{get_string(j, "service"), get_string(j, "required_os"), std::nullopt};
    if (field(j, "peer").t != value::type::null)
      e.peer = get_string(j, "peer");
    return e;
  }
  case trace_kind::dropped:
    return dropped_event{get_u64(j, "count")};
  case trace_kind::send:
    return send_event{get_string(j, "to"), get_string(j, "msg"), get_string(j, "summary")};
  case trace_kind::recv:
    return recv_event{get_string(j, "from"), get_string(j, "msg"), get_string(j, "summary")};
  }
  throw bad_field{"unknown event kind"};
}

template <class Enum>
bool lookup(std::string_view word, Enum& out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i)
    if (to_string(static_cast<Enum>(i)) == word) {
      out = static_cast<Enum>(i);
      return true;
    }
  return false;
}

} // namespace

bool from_string(std::string_view word, trace_kind& out) {
  return lookup(word, out, std::variant_size_v<trace_data>);
}

bool from_string(std::string_view word, exit_event::reason_kind& out) {
  return lookup(word, out, 3);
}

bool from_string(std::string_view word, wait_event::outcome_kind& out) {
  return lookup(word, out, 4);
}

bool parse_trace_line(std::string_view text, trace_record& out, std::string& error) {
  field_list j;
  j.fields.reserve(12);
  json dom; // only for lines the scanner leaves to nlohmann
  if (!scanner{text}.object(j)) {
    j.fields.clear();
    try {
      dom = json::parse(text);
    } catch (const json::parse_error& e) {
      error = e.what(); // says where and what was expected
      return false;
    }
    if (!from_dom(dom, j, error))
      return false;
  }
  try {
    out.seq = get_u64(j, "seq");
    out.ts_us = get_i64(j, "ts_us");
    out.node = get_string(j, "node");
    out.ev.actor = get_string(j, "actor");
    out.ev.cause = j.find("cause") ? get_u64(j, "cause") : 0;
    const auto kind = get_word<trace_kind>(
        j, "event",
        "one of spawn, exit, state, failure, restart, escalate, probe, wait, route, dropped, "
        "send, recv");
    out.ev.data = parse_data(kind, j);
  } catch (const bad_field& e) {
    error = e.what;
    return false;
  }
  return true;
}

line_reader::line_reader(int fd, uint64_t offset, uint64_t first_line)
    : fd_(fd), offset_(offset), number_(first_line), buf_(std::size_t{1} << 16) {}

line_reader::status line_reader::next(line& out) {
  if (line_done_) {
    // The previous line may still be viewed through carry_ until this call.
    line_done_ = false;
    carry_.clear();
    discarding_ = false;
    line_bytes_ = 0;
  }
  for (;;) {
    if (pos_ == len_) {
      ssize_t n;
      do {
        n = ::read(fd_, buf_.data(), buf_.size());
      } while (n < 0 && errno == EINTR);
      if (n < 0)
        return status::error;
      if (n == 0)
        return status::end;
      pos_ = 0;
      len_ = static_cast<std::size_t>(n);
    }
    const char* begin = buf_.data() + pos_;
    const auto* nl = static_cast<const char*>(std::memchr(begin, '\n', len_ - pos_));
    const std::size_t avail = nl ? static_cast<std::size_t>(nl - begin) : len_ - pos_;
    line_bytes_ += avail;
    if (!discarding_ && line_bytes_ > max_trace_line) {
      discarding_ = true;
      std::string{}.swap(carry_); // give the memory back
    }
    if (!nl) {
      if (!discarding_)
        carry_.append(begin, avail);
      pos_ = len_;
      continue;
    }
    pos_ += avail + 1;
    out.number = number_++;
    out.offset = offset_;
    out.too_long = discarding_;
    offset_ += line_bytes_ + 1;
    line_done_ = true;
    if (discarding_) {
      out.text = {};
    } else if (carry_.empty()) {
      out.text = {begin, avail}; // the common case: the whole line is in this chunk
    } else {
      carry_.append(begin, avail);
      out.text = carry_;
    }
    return status::line;
  }
}

void read_stats::add_malformed(uint64_t number, std::string reason) {
  ++malformed;
  if (first_malformed.size() < max_reported)
    first_malformed.push_back({number, std::move(reason)});
}

bool read_trace_file(const std::string& path, const record_callback& fn, read_stats& stats,
                     std::string& error, const read_options& opts) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = path + ": cannot open: " + std::strerror(errno);
    return false;
  }
  if (opts.offset != 0 && ::lseek(fd, static_cast<off_t>(opts.offset), SEEK_SET) < 0) {
    error = path + ": cannot seek: " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  line_reader reader(fd, opts.offset, opts.first_line);
  trace_record rec;
  std::string why;
  line_reader::line l;
  line_reader::status st;
  while ((st = reader.next(l)) == line_reader::status::line) {
    ++stats.lines;
    if (l.too_long) {
      stats.add_malformed(l.number, "line longer than 1 MiB");
      continue;
    }
    if (!parse_trace_line(l.text, rec, why)) {
      stats.add_malformed(l.number, std::move(why));
      continue;
    }
    rec.line = l.number;
    rec.offset = l.offset;
    ++stats.records;
    fn(rec);
  }
  const int saved = errno;
  ::close(fd);
  if (st == line_reader::status::error) {
    error = path + ": read failed: " + std::strerror(saved);
    return false;
  }
  if (reader.has_partial()) {
    ++stats.lines;
    stats.add_malformed(reader.partial_line_number(),
                        "cut off: no newline at the end of the file (a write that did not finish)");
  }
  return true;
}

void report_malformed(std::FILE* out, const std::string& path, const read_stats& stats) {
  if (stats.malformed == 0)
    return;
  std::fprintf(out, "%s: skipped %llu malformed line%s\n", path.c_str(),
               static_cast<unsigned long long>(stats.malformed), stats.malformed == 1 ? "" : "s");
  for (const auto& bad : stats.first_malformed)
    std::fprintf(out, "%s:%llu: %s\n", path.c_str(), static_cast<unsigned long long>(bad.number),
                 bad.reason.c_str());
  if (stats.malformed > stats.first_malformed.size())
    std::fprintf(out, "%s: ... and %llu more\n", path.c_str(),
                 static_cast<unsigned long long>(stats.malformed - stats.first_malformed.size()));
}

} // namespace nv
