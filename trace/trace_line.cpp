// Written by hand rather than through nlohmann::json: building a json object per event cost about
// 1.5 µs against about 0.1 µs here, and every line is formatted on the thread of the actor that
// emits it.
#include "trace/trace_line.hpp"

#include <charconv>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <variant>

#include "messages/agent_error_fields.hpp"

namespace nv {

namespace {

// Length of the well-formed UTF-8 sequence that starts `s` with a byte >= 0x80, or 0 if none
// does (Unicode table 3-7: no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t utf8_length(std::string_view s) {
  const auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char lead = byte(0);
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    len = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    len = 3;
    lo = lead == 0xE0 ? 0xA0 : lo;
    hi = lead == 0xED ? 0x9F : hi;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    len = 4;
    lo = lead == 0xF0 ? 0x90 : lo;
    hi = lead == 0xF4 ? 0x8F : hi;
  } else {
    return 0;
  }
  if (s.size() < len || byte(1) < lo || byte(1) > hi)
    return 0;
  for (std::size_t i = 2; i < len; ++i)
    if (byte(i) < 0x80 || byte(i) > 0xBF)
      return 0;
  return len;
}

bool needs_care(unsigned char c) {
  return c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
}

// Whether any of the 8 bytes in `w` needs care: a control byte, '"', '\\' or a byte >= 0x80.
bool word_needs_care(uint64_t w) {
  constexpr uint64_t ones = 0x0101010101010101;
  constexpr uint64_t highs = 0x8080808080808080;
  const auto has_zero = [](uint64_t v) { return (v - ones) & ~v & highs; };
  const uint64_t below_space = (w - 0x20 * ones) & ~w & highs;
  return ((w & highs) | below_space | has_zero(w ^ ('"' * ones)) | has_zero(w ^ ('\\' * ones))) !=
         0;
}

// Appends through a buffer on the stack: one std::string append per line instead of one per
// piece, which was most of a line's cost when each key and value was its own append. finish()
// appends what is left; it is not left to the destructor, where a failed allocation could not
// reach the caller.
class line_out {
public:
  explicit line_out(std::string& out) : out_(out) {}
  line_out(const line_out&) = delete;
  line_out& operator=(const line_out&) = delete;

  [[gnu::always_inline]] void bytes(const char* s, std::size_t n) {
    if (n > room()) {
      flush();
      if (n > sizeof buf_) {
        out_.append(s, n);
        return;
      }
    }
    std::memcpy(p_, s, n);
    p_ += n;
  }
  [[gnu::always_inline]] void bytes(std::string_view s) { bytes(s.data(), s.size()); }
  template <std::size_t N>
  [[gnu::always_inline]] void literal(const char (&s)[N]) {
    bytes(s, N - 1);
  }
  template <class Int>
  void integer(Int value) {
    if (room() < 24)
      flush();
    p_ = std::to_chars(p_, p_ + room(), value).ptr;
  }
  void quoted(std::string_view s);
  void finish() { flush(); }

private:
  std::size_t room() const { return static_cast<std::size_t>(buf_ + sizeof buf_ - p_); }
  void flush() {
    out_.append(buf_, static_cast<std::size_t>(p_ - buf_));
    p_ = buf_;
  }

  std::string& out_;
  char buf_[1024];
  char* p_ = buf_;
};

void line_out::quoted(std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  literal("\"");
  for (std::size_t i = 0; i < s.size();) {
    // Plain ASCII goes in runs, 8 bytes at a time: paths and reasons are mostly that.
    std::size_t run = i;
    uint64_t word = 0;
    while (run + 8 <= s.size() && (std::memcpy(&word, s.data() + run, 8), !word_needs_care(word)))
      run += 8;
    while (run < s.size() && !needs_care(static_cast<unsigned char>(s[run])))
      ++run;
    bytes(s.data() + i, run - i);
    i = run;
    if (i == s.size())
      break;
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t len = utf8_length(s.substr(i));
      if (len == 0) {
        literal("\xEF\xBF\xBD"); // U+FFFD, one per invalid byte
        ++i;
      } else {
        bytes(s.data() + i, len);
        i += len;
      }
      continue;
    }
    switch (c) {
    case '"':
      literal("\\\"");
      break;
    case '\\':
      literal("\\\\");
      break;
    case '\n':
      literal("\\n");
      break;
    case '\r':
      literal("\\r");
      break;
    case '\t':
      literal("\\t");
      break;
    default:
      const char esc[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF]};
      bytes(esc, sizeof esc);
    }
    ++i;
  }
  literal("\"");
}

// `,"name":` as one literal made at compile time: every key but "seq" follows another, so each
// starts with the comma.
template <std::size_t N>
struct json_key {
  char text[N + 3] = {};
  constexpr json_key(const char (&name)[N]) {
    text[0] = ',';
    text[1] = '"';
    for (std::size_t i = 0; i + 1 < N; ++i)
      text[2 + i] = name[i];
    text[N + 1] = '"';
    text[N + 2] = ':';
  }
};

template <json_key Key>
void put_key(line_out& out) {
  out.bytes(Key.text, sizeof Key.text); // no terminating NUL to leave out
}

template <json_key Key>
void put_string(line_out& out, std::string_view value) {
  put_key<Key>(out);
  out.quoted(value);
}

// One of this file's own words (an event kind, a state, a reason): nothing in it to escape.
template <json_key Key>
void put_word(line_out& out, std::string_view word) {
  put_key<Key>(out);
  out.literal("\"");
  out.bytes(word);
  out.literal("\"");
}

template <json_key Key, class Int>
void put_int(line_out& out, Int value) {
  put_key<Key>(out);
  out.integer(value);
}

template <json_key Key>
void put_bool(line_out& out, bool value) {
  put_key<Key>(out);
  if (value)
    out.literal("true");
  else
    out.literal("false");
}

template <class M>
void put_error_field(line_out& out, std::string_view name, const M& value) {
  out.literal(",\"");
  out.bytes(name);
  if constexpr (std::is_same_v<M, duration>) {
    out.literal("_ns\":");
    out.integer(value.count());
  } else if constexpr (std::is_integral_v<M>) {
    out.literal("\":");
    out.integer(value);
  } else {
    out.literal("\":");
    out.quoted(value);
  }
}

// AgentError's JSON form (messages/agent_error.hpp), from the same field table as its to_json,
// written straight into the line: going through nlohmann cost about 1 µs per error, and a
// restart carries two (the failure and the exit).
void put_error(line_out& out, const AgentError& err) {
  put_key<"error">(out);
  out.literal("{\"kind\":\"");
  out.bytes(kind_name(err));
  out.literal("\"");
  std::visit(
      [&out](const auto& alt) {
        std::apply([&](const auto&... f) { (put_error_field(out, f.name, alt.*(f.member)), ...); },
                   fields::table(&alt));
      },
      err);
  out.literal(",\"message\":");
  out.quoted(to_string(err));
  out.literal("}");
}

void put_fields(line_out& out, const spawn_event& e) {
  put_string<"parent">(out, e.parent);
}

void put_fields(line_out& out, const exit_event& e) {
  put_word<"reason">(out, to_string(e.reason));
  if (e.error)
    put_error(out, *e.error);
  if (e.code)
    put_int<"code">(out, *e.code);
  if (!e.signal.empty())
    put_string<"signal">(out, e.signal);
  if (e.oom_killed)
    put_bool<"oom_killed">(out, true);
}

void put_fields(line_out& out, const state_event& e) {
  put_word<"from">(out, to_string(e.from));
  put_word<"to">(out, to_string(e.to));
  if (e.pid)
    put_int<"pid">(out, *e.pid);
}

void put_fields(line_out& out, const failure_event& e) {
  put_error(out, e.error);
  put_int<"attempt">(out, e.attempt);
}

void put_fields(line_out& out, const restart_event& e) {
  put_string<"child">(out, e.child);
  put_string<"strategy">(out, e.strategy);
  put_int<"delay_ms">(out, e.delay_ms);
}

void put_fields(line_out& out, const escalate_event& e) {
  put_string<"to">(out, e.to);
  put_string<"origin">(out, e.origin);
  put_error(out, e.error);
}

void put_fields(line_out& out, const probe_event& e) {
  put_bool<"ok">(out, e.ok);
  put_int<"latency_us">(out, e.latency_us);
  put_string<"reason">(out, e.reason);
}

void put_fields(line_out& out, const wait_event& e) {
  put_string<"dependency">(out, e.dependency);
  put_string<"condition">(out, e.condition);
  put_word<"outcome">(out, to_string(e.outcome));
}

void put_fields(line_out& out, const route_event& e) {
  put_string<"service">(out, e.service);
  put_string<"required_os">(out, e.required_os);
  if (e.peer) {
    put_string<"peer">(out, *e.peer);
  } else {
    put_key<"peer">(out);
    out.literal("null");
  }
}

void put_fields(line_out& out, const dropped_event& e) {
  put_int<"count">(out, e.count);
}

void put_fields(line_out& out, const send_event& e) {
  put_string<"to">(out, e.to);
  put_string<"msg">(out, e.msg);
  put_string<"summary">(out, e.summary);
}

void put_fields(line_out& out, const recv_event& e) {
  put_string<"from">(out, e.from);
  put_string<"msg">(out, e.msg);
  put_string<"summary">(out, e.summary);
}

} // namespace

node_field::node_field(std::string_view node) {
  line_out out(text);
  put_string<"node">(out, node);
  out.finish();
}

void append_trace_head(std::string& text, uint64_t seq, int64_t ts_us, const node_field& node) {
  line_out out(text);
  out.literal("{\"seq\":");
  out.integer(seq);
  put_int<"ts_us">(out, ts_us);
  out.bytes(node.text);
  out.finish();
}

void append_trace_body(std::string& text, const trace_event& ev) {
  line_out out(text);
  put_string<"actor">(out, ev.actor);
  put_word<"event">(out, to_string(kind(ev)));
  if (ev.cause != 0)
    put_int<"cause">(out, ev.cause);
  std::visit([&out](const auto& data) { put_fields(out, data); }, ev.data);
  out.literal("}\n");
  out.finish();
}

void append_trace_line(std::string& out, uint64_t seq, int64_t ts_us, std::string_view node,
                       const trace_event& ev) {
  append_trace_head(out, seq, ts_us, node_field{node});
  append_trace_body(out, ev);
}

} // namespace nv
