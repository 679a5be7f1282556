#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ldh {

/// Returns the edit distance between `a` and `b` (insertions, deletions, substitutions and
/// swaps of neighbours, ignoring ASCII case), so misspelt names can be matched to known ones.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// Suggests the candidate closest to a misspelt `word`, so a message can point at the fix:
/// returns " (did you mean 'x'?)", or "" when nothing is close enough. Ties go to the earlier
/// candidate.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// Joins names as "a, b, c" for "expected one of: ..." messages.
std::string join_names(const std::vector<std::string>& names);

}  // namespace ldh
