#include "pipeline/string_dictionary.h"

#include <mutex>

#include "pipeline/error.h"

namespace ldh {

std::int32_t StringDictionary::intern(std::string_view text) {
  {
    std::shared_lock lock(mutex_);
    auto found = ids_.find(text);
    if (found != ids_.end()) return found->second;
  }
  std::unique_lock lock(mutex_);
  auto found = ids_.find(text);
  if (found != ids_.end()) return found->second;
  LDH_EXPECTS(strings_.size() < 0x7fffffff, "string dictionary is full");
  auto id = static_cast<std::int32_t>(strings_.size());
  strings_.emplace_back(text);
  ids_.emplace(strings_.back(), id);
  return id;
}

std::int32_t StringDictionary::find(std::string_view text) const {
  std::shared_lock lock(mutex_);
  auto found = ids_.find(text);
  return found == ids_.end() ? -1 : found->second;
}

std::string_view StringDictionary::lookup(std::int32_t id) const {
  std::shared_lock lock(mutex_);
  LDH_EXPECTS(id >= 0 && static_cast<std::size_t>(id) < strings_.size(), "unknown string id");
  return strings_[static_cast<std::size_t>(id)];
}

std::size_t StringDictionary::size() const {
  std::shared_lock lock(mutex_);
  return strings_.size();
}

}  // namespace ldh
