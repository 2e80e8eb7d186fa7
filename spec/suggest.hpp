// "did you mean ...?" for misspelt keys and names.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace nv::spec {

// The candidate closest to `word` by edit distance (insertions, deletions, substitutions and
// swaps of neighbours, ignoring case), when it is close enough to be a plausible misspelling:
// at most a third of the longer word's length, and at least 1. Ties go to the earlier one.
// None for words over 64 characters or more than 1000 candidates.
std::optional<std::string_view> nearest(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

} // namespace nv::spec
