// A short digest of a text (64-bit FNV-1a, 16 hex digits) for what is compared, kept or handed
// to the keeper many times over (a replica's fingerprint) in place of the text itself. Stable
// across builds and versions, unlike std::hash: a daemon started after an upgrade compares its
// digests with those the old one left with the keeper and in the restart memory.
#pragma once

#include <string>
#include <string_view>

namespace nv {

std::string text_digest(std::string_view text);

} // namespace nv
