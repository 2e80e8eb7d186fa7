// Written by hand rather than through nlohmann::json: building a json object per event cost about
// 1.5 µs against about 0.1 µs here, and every line is formatted on the thread of the actor that
// emits it. Only AgentError goes through nlohmann, whose to_json is its one JSON form.
#include "trace/trace_line.hpp"

#include <charconv>
#include <cstring>
#include <variant>

#include <nlohmann/json.hpp>

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
// piece, which was most of a line's cost when each key and value was its own append.
class line_out {
public:
  explicit line_out(std::string& out) : out_(out) {}
  ~line_out() { flush(); }
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
  void bytes(std::string_view s) { bytes(s.data(), s.size()); }
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

// Every key but "seq" follows another, so each starts with the comma.
template <std::size_t N>
void put_key(line_out& out, const char (&key)[N]) {
  out.literal(",\"");
  out.literal(key);
  out.literal("\":");
}

template <std::size_t N>
void put_string(line_out& out, const char (&key)[N], std::string_view value) {
  put_key(out, key);
  out.quoted(value);
}

template <std::size_t N, class Int>
void put_int(line_out& out, const char (&key)[N], Int value) {
  put_key(out, key);
  out.integer(value);
}

template <std::size_t N>
void put_bool(line_out& out, const char (&key)[N], bool value) {
  put_key(out, key);
  if (value)
    out.literal("true");
  else
    out.literal("false");
}

void put_error(line_out& out, const AgentError& err) {
  put_key(out, "error");
  out.bytes(nlohmann::json(err).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void put_fields(line_out& out, const spawn_event& e) {
  put_string(out, "parent", e.parent);
}

void put_fields(line_out& out, const exit_event& e) {
  put_string(out, "reason", to_string(e.reason));
  if (e.error)
    put_error(out, *e.error);
}

void put_fields(line_out& out, const state_event& e) {
  put_string(out, "from", to_string(e.from));
  put_string(out, "to", to_string(e.to));
  if (e.pid)
    put_int(out, "pid", *e.pid);
}

void put_fields(line_out& out, const failure_event& e) {
  put_error(out, e.error);
  put_int(out, "attempt", e.attempt);
}

void put_fields(line_out& out, const restart_event& e) {
  put_string(out, "child", e.child);
  put_string(out, "strategy", e.strategy);
  put_int(out, "delay_ms", e.delay_ms);
}

void put_fields(line_out& out, const escalate_event& e) {
  put_string(out, "to", e.to);
  put_string(out, "origin", e.origin);
  put_error(out, e.error);
}

void put_fields(line_out& out, const probe_event& e) {
  put_bool(out, "ok", e.ok);
  put_int(out, "latency_us", e.latency_us);
  put_string(out, "reason", e.reason);
}

void put_fields(line_out& out, const wait_event& e) {
  put_string(out, "dependency", e.dependency);
  put_string(out, "condition", e.condition);
  put_string(out, "outcome", to_string(e.outcome));
}

void put_fields(line_out& out, const route_event& e) {
  put_string(out, "service", e.service);
  put_string(out, "required_os", e.required_os);
  if (e.peer) {
    put_string(out, "peer", *e.peer);
  } else {
    put_key(out, "peer");
    out.literal("null");
  }
}

void put_fields(line_out& out, const dropped_event& e) {
  put_int(out, "count", e.count);
}

void put_fields(line_out& out, const send_event& e) {
  put_string(out, "to", e.to);
  put_string(out, "msg", e.msg);
  put_string(out, "summary", e.summary);
}

void put_fields(line_out& out, const recv_event& e) {
  put_string(out, "from", e.from);
  put_string(out, "msg", e.msg);
  put_string(out, "summary", e.summary);
}

} // namespace

void append_trace_head(std::string& text, uint64_t seq, int64_t ts_us, std::string_view node) {
  line_out out(text);
  out.literal("{\"seq\":");
  out.integer(seq);
  put_int(out, "ts_us", ts_us);
  put_string(out, "node", node);
}

void append_trace_body(std::string& text, const trace_event& ev) {
  line_out out(text);
  put_string(out, "actor", ev.actor);
  put_string(out, "event", to_string(kind(ev)));
  if (ev.cause != 0)
    put_int(out, "cause", ev.cause);
  std::visit([&out](const auto& data) { put_fields(out, data); }, ev.data);
  out.literal("}\n");
}

void append_trace_line(std::string& out, uint64_t seq, int64_t ts_us, std::string_view node,
                       const trace_event& ev) {
  append_trace_head(out, seq, ts_us, node);
  append_trace_body(out, ev);
}

} // namespace nv
