#pragma once

#include <cstdint>
#include <deque>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ldh {

/// Maps strings to dense int32 ids, shared by every string column of a pipeline so ids compare
/// across fields. Ids depend on arrival order, so anything user-visible prints or sorts the
/// strings themselves, never the ids. Thread-safe; ids are never reused or moved.
class StringDictionary {
 public:
  /// Returns the id of `text`, adding it when new.
  std::int32_t intern(std::string_view text);
  /// Returns the id of `text`, or -1 when it was never interned.
  std::int32_t find(std::string_view text) const;
  /// Returns the string behind an id; the view stays valid for the dictionary's lifetime.
  std::string_view lookup(std::int32_t id) const;
  std::size_t size() const;

 private:
  mutable std::shared_mutex mutex_;
  std::deque<std::string> strings_;
  std::unordered_map<std::string_view, std::int32_t> ids_;
};

}  // namespace ldh
