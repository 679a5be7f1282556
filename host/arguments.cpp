#include "host/arguments.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "pipeline/config.h"
#include "pipeline/error.h"

namespace ldh {

Arguments::Arguments(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) items_.emplace_back(argv[i]);
}

bool Arguments::flag(std::string_view name) {
  auto found = std::find(items_.begin(), items_.end(), name);
  if (found == items_.end()) return false;
  items_.erase(found);
  return true;
}

std::optional<std::string> Arguments::value(std::string_view name, std::string_view alias) {
  for (std::size_t i = 0; i < items_.size(); ++i) {
    auto at = items_.begin() + static_cast<std::ptrdiff_t>(i);
    if (items_[i] == name || (!alias.empty() && items_[i] == alias)) {
      if (i + 1 >= items_.size()) throw UserError(std::string(name) + " needs a value");
      std::string result = items_[i + 1];
      items_.erase(at, at + 2);
      return result;
    }
    if (items_[i].starts_with(std::string(name) + "=")) {
      std::string result = items_[i].substr(name.size() + 1);
      items_.erase(at);
      return result;
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> Arguments::count(std::string_view name, std::uint64_t minimum,
                                              std::uint64_t maximum) {
  auto text = value(name);
  if (!text) return std::nullopt;
  std::uint64_t number = 0;
  auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), number);
  if (error != std::errc() || end != text->data() + text->size() || number < minimum ||
      number > maximum) {
    throw UserError(std::string(name) + ": expected a whole number from " +
                    std::to_string(minimum) + " to " + std::to_string(maximum) + ", got '" + *text +
                    "'");
  }
  return number;
}

std::optional<std::int64_t> Arguments::duration(std::string_view name, std::int64_t minimum) {
  auto text = value(name);
  if (!text) return std::nullopt;
  auto nanoseconds = parse_duration_ns(*text);
  if (!nanoseconds || *nanoseconds < minimum) {
    throw UserError(std::string(name) + ": expected a duration like 500ms, 10s or 1m" +
                    (minimum > 0 ? " (more than 0)" : "") + ", got '" + *text + "'");
  }
  return nanoseconds;
}

std::vector<std::string> Arguments::positionals() {
  for (const auto& item : items_) {
    if (item.size() > 1 && item[0] == '-') throw UserError("unknown option " + item);
  }
  return items_;
}

double parse_real(const std::string& text, std::string_view option) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw UserError(std::string(option) + ": expected a number, got '" + text + "'");
  }
  return value;
}

Backend parse_backend(const std::string& text) {
  if (text == "auto") return Backend::automatic;
  if (text == "cpu") return Backend::cpu;
  if (text == "gpu") return Backend::gpu;
  throw UserError("--backend: expected auto, cpu or gpu, got '" + text + "'");
}

unsigned default_threads() {
  return std::max(1u, std::thread::hardware_concurrency());
}

}  // namespace ldh

namespace ldh {

void read_pipeline_options(Arguments& arguments, RunOptions& options) {
  if (auto threads = arguments.count("--threads", 1, 1024)) {
    options.threads = static_cast<unsigned>(*threads);
  }
  if (auto batch = arguments.count("--batch-size", 1, 1u << 26)) options.batch_size = *batch;
  if (arguments.flag("--fold-windows")) options.fold_windows = true;
  if (arguments.flag("--idle-decoders")) options.idle_decoders = true;
}

}  // namespace ldh
