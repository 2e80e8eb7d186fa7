#include "messages/printable.hpp"

#include <cstdint>

namespace nv {

namespace {

constexpr char hex[] = "0123456789abcdef";

void escape_byte(std::string& out, unsigned char b) {
  out += "\\x";
  out += hex[b >> 4];
  out += hex[b & 0xf];
}

// The length of the valid UTF-8 sequence starting at text[i] (1..4), or 0 when it is not one:
// overlong forms, surrogates and code points above U+10FFFF are not valid.
std::size_t utf8_length(std::string_view text, std::size_t i, uint32_t& cp) {
  auto b = static_cast<unsigned char>(text[i]);
  std::size_t n;
  uint32_t min;
  if (b >= 0xc2 && b <= 0xdf) {
    n = 2, min = 0x80, cp = b & 0x1f;
  } else if (b >= 0xe0 && b <= 0xef) {
    n = 3, min = 0x800, cp = b & 0x0f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    n = 4, min = 0x10000, cp = b & 0x07;
  } else {
    return 0;
  }
  if (i + n > text.size())
    return 0;
  for (std::size_t k = 1; k < n; ++k) {
    auto c = static_cast<unsigned char>(text[i + k]);
    if ((c & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

} // namespace

void append_printable(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      if ((b < 0x20 && b != '\t') || b == 0x7f)
        escape_byte(out, b);
      else
        out += static_cast<char>(b);
      ++i;
      continue;
    }
    uint32_t cp = 0;
    auto n = utf8_length(text, i, cp);
    if (n == 0) {
      escape_byte(out, b);
      ++i;
      continue;
    }
    if (cp <= 0x9f) { // a C1 control: some terminals act on it as ESC [ and the like
      out += "\\u00";
      out += hex[cp >> 4];
      out += hex[cp & 0xf];
    } else {
      out.append(text.substr(i, n));
    }
    i += n;
  }
}

std::string printable(std::string_view text) {
  std::string out;
  append_printable(out, text);
  return out;
}

} // namespace nv
