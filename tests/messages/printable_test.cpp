#include <gtest/gtest.h>

#include "messages/printable.hpp"

namespace nv {
namespace {

TEST(Printable, PlainTextAndUtf8PassUnchanged) {
  EXPECT_EQ(printable("GET /health 200\tok"), "GET /health 200\tok");
  EXPECT_EQ(printable("café — 日本 🚀"), "café — 日本 🚀");
}

TEST(Printable, TerminalControlsAreEscaped) {
  // Retitle the window, clear the screen, move the cursor: all shown, none acted on.
  EXPECT_EQ(printable("\x1b]0;pwned\x07"), "\\x1b]0;pwned\\x07");
  EXPECT_EQ(printable("\x1b[2J\x1b[H"), "\\x1b[2J\\x1b[H");
  EXPECT_EQ(printable("a\rb\nc\bd\x7f"), "a\\x0db\\x0ac\\x08d\\x7f");
}

TEST(Printable, C1ControlsAndInvalidBytesAreEscaped) {
  EXPECT_EQ(printable("\xc2\x9b"
                      "31m"),
            "\\u009b31m"); // CSI as U+009B
  EXPECT_EQ(printable("\x9b"
                      "2J"),
            "\\x9b2J");                                    // a raw 8-bit CSI is not UTF-8
  EXPECT_EQ(printable("\xc0\xaf"), "\\xc0\\xaf");          // overlong '/'
  EXPECT_EQ(printable("\xed\xa0\x80"), "\\xed\\xa0\\x80"); // a surrogate
  EXPECT_EQ(printable("\xe6\x97"), "\\xe6\\x97");          // cut off
}

TEST(Printable, AppendsToWhatIsThere) {
  std::string out = "api-rep-1 | ";
  append_printable(out, "\x1b[31mred");
  EXPECT_EQ(out, "api-rep-1 | \\x1b[31mred");
}

} // namespace
} // namespace nv
