// Text that came from a workload (its output, an error it caused) made safe to show on an
// operator's terminal: a container must not be able to move the cursor, retitle or clear the
// screen, or hide text from the person reading it.
#pragma once

#include <string>
#include <string_view>

namespace nv {

// `text` with every control character written as a visible escape: C0 controls other than tab
// (`\n` included, so one line stays one line), DEL and the C1 controls (U+0080..U+009F) as
// `\xNN` (C1 as their code point, `\u0085`), and every byte that is not part of valid UTF-8 as
// `\xNN`. Printable UTF-8 passes unchanged.
std::string printable(std::string_view text);

// Appends printable(text) to `out`, for callers that reuse a buffer.
void append_printable(std::string& out, std::string_view text);

} // namespace nv
