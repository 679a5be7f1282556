#include "pipeline/value_sort.h"

#include <algorithm>
#include <span>

#include "pipeline/window_metrics.h"

namespace ldh {
namespace {

class HostValueSorter final : public ValueSorter {
 public:
  void sort_groups(std::vector<double>& values,
                   const std::vector<std::uint32_t>& offsets) override {
    for (std::size_t g = 0; g + 1 < offsets.size(); ++g) {
      const std::span<const double> group(values.data() + offsets[g], offsets[g + 1] - offsets[g]);
      sort_values(group, sorted_);
      std::copy(sorted_.begin(), sorted_.end(), values.begin() + offsets[g]);
    }
  }
  std::string describe() const override { return "host"; }

 private:
  std::vector<double> sorted_;
};

}  // namespace

std::unique_ptr<ValueSorter> make_host_value_sorter() {
  return std::make_unique<HostValueSorter>();
}

}  // namespace ldh
