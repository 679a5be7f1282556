#include "pipeline/config_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include <yaml-cpp/eventhandler.h>

#include "pipeline/config.h"

namespace ldh {

namespace {

constexpr std::size_t kDescribedTextLength = 40;

/// Notes where each document of a stream starts. yaml-cpp 0.7 reads a stray token between
/// documents (the ',' of "{a: 1},") as endless empty documents at one place, allocating without
/// bound (jbeder/yaml-cpp#1040); a start that does not move reveals it.
class DocumentStarts final : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> marks;

  void OnDocumentStart(const YAML::Mark& mark) override { marks.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

std::string format_number(double value) {
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof(buffer), value);
  return std::string(buffer, result.ptr);
}

std::string integer_expectation(std::int64_t minimum, std::int64_t maximum) {
  if (maximum == std::numeric_limits<std::int64_t>::max()) {
    return "an integer >= " + std::to_string(minimum);
  }
  return "an integer from " + std::to_string(minimum) + " to " + std::to_string(maximum);
}

std::string number_expectation(double minimum, double maximum) {
  if (maximum == std::numeric_limits<double>::max()) {
    return "a number >= " + format_number(minimum);
  }
  return "a number from " + format_number(minimum) + " to " + format_number(maximum);
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::string ConfigNode::child_path(std::string_view key) const {
  if (path.empty()) return std::string(key);
  return path + "." + std::string(key);
}

ConfigReader::ConfigReader(std::string file, std::string text)
    : file_(std::move(file)), text_(std::move(text)) {
  // yaml-cpp skips a byte-order mark without counting it in columns; so does the line table.
  if (text_.starts_with("\xEF\xBB\xBF")) text_.erase(0, 3);
  line_starts_.push_back(0);
  for (std::size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n') line_starts_.push_back(i + 1);
  }
}

std::optional<ConfigNode> ConfigReader::parse() {
  DocumentStarts starts;
  ConfigNode root;
  try {
    std::istringstream stream(text_);
    YAML::Parser parser(stream);
    // Two documents are already one too many; a third start shows whether the parser is stuck.
    while (starts.marks.size() < 3 && parser.HandleNextDocument(starts)) {
      const std::size_t count = starts.marks.size();
      if (count >= 2 && starts.marks[count - 1].pos == starts.marks[count - 2].pos) {
        const YAML::Mark& mark = starts.marks.back();
        const auto at = std::min(static_cast<std::size_t>(mark.pos), text_.size());
        report(location(mark), "YAML syntax error: unexpected '" + text_.substr(at, 1) + "'");
        return std::nullopt;
      }
    }
    root.node = YAML::Load(text_);
  } catch (const YAML::Exception& error) {
    report(location(error.mark), "YAML syntax error: " + error.msg);
    return std::nullopt;
  }
  if (starts.marks.size() > 1) {
    report(location(starts.marks[1]), "expected one YAML document; a second one starts here");
  }
  root.where = location(root.node);
  if (root.where.line == 0) root.where = {file_, 1, 1};
  return root;
}

SourceLocation ConfigReader::location(const YAML::Mark& mark) const {
  if (mark.line < 0 || mark.column < 0) return {file_, 0, 0};
  return {file_, mark.line + 1, mark.column + 1};
}

SourceLocation ConfigReader::location(const YAML::Node& node) const {
  return location(node.Mark());
}

SourceLocation ConfigReader::text_location(const YAML::Node& node) const {
  const YAML::Mark mark = node.Mark();
  if (mark.line < 0 || mark.column < 0 ||
      static_cast<std::size_t>(mark.line) >= line_starts_.size()) {
    return location(node);
  }
  std::size_t at =
      line_starts_[static_cast<std::size_t>(mark.line)] + static_cast<std::size_t>(mark.column);
  const std::size_t size = text_.size();
  // Anchors (&name) and tags (!tag) come before the text itself.
  while (at < size && (text_[at] == '&' || text_[at] == '!')) {
    while (at < size && !is_blank(text_[at]) && text_[at] != '\n') ++at;
    while (at < size && is_blank(text_[at])) ++at;
  }
  if (at < size && (text_[at] == '"' || text_[at] == '\'')) {
    ++at;
  } else if (at < size && (text_[at] == '|' || text_[at] == '>')) {
    // A block scalar's text starts on the first non-blank line after its header.
    while (true) {
      at = text_.find('\n', at);
      if (at == std::string::npos) return location(node);
      ++at;
      while (at < size && is_blank(text_[at])) ++at;
      if (at < size && text_[at] != '\n' && text_[at] != '\r') break;
    }
  }
  if (at >= size) return location(node);
  const auto line =
      std::upper_bound(line_starts_.begin(), line_starts_.end(), at) - line_starts_.begin() - 1;
  return {file_, static_cast<int>(line) + 1,
          static_cast<int>(at - line_starts_[static_cast<std::size_t>(line)]) + 1};
}

void ConfigReader::report(SourceLocation where, std::string message) {
  diagnostics_.push_back({std::move(where), std::move(message)});
}

void ConfigReader::report(const ConfigNode& value, std::string_view message) {
  if (value.path.empty()) {
    report(value.where, std::string(message));
  } else {
    report(value.where, value.path + ": " + std::string(message));
  }
}

std::string ConfigReader::describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return "nothing";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Scalar:
      break;
  }
  std::string text = node.Scalar();
  const std::size_t cut = std::min(text.find('\n'), kDescribedTextLength);
  if (cut < text.size()) text = text.substr(0, cut) + "...";
  return (is_plain(node) ? "'" : "the string '") + text + "'";
}

bool ConfigReader::is_plain(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  return tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
         tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null";
}

bool ConfigReader::expect_map(const ConfigNode& value, std::string_view expected) {
  if (value.node.IsMap()) return true;
  report(value, "expected " + std::string(expected) + ", got " + describe(value.node));
  return false;
}

bool ConfigReader::expect_list(const ConfigNode& value, std::string_view expected) {
  if (value.node.IsSequence()) return true;
  report(value, "expected " + std::string(expected) + ", got " + describe(value.node));
  return false;
}

std::vector<ConfigNode> ConfigReader::items(const ConfigNode& list, std::string_view expected) {
  std::vector<ConfigNode> result;
  if (!expect_list(list, expected)) return result;
  std::size_t index = 0;
  for (const auto& item : list.node) {
    ConfigNode child{item, list.path + "[" + std::to_string(index++) + "]", location(item)};
    if (child.where.line == 0) child.where = list.where;
    result.push_back(std::move(child));
  }
  return result;
}

std::optional<std::string> ConfigReader::text(const ConfigNode& value, std::string_view expected) {
  if (value.node.IsScalar()) return value.node.Scalar();
  report(value, "expected " + std::string(expected) + ", got " + describe(value.node));
  return std::nullopt;
}

std::optional<std::int64_t> ConfigReader::integer(const ConfigNode& value, std::int64_t minimum,
                                                  std::int64_t maximum) {
  const std::string expected = integer_expectation(minimum, maximum);
  if (value.node.IsScalar() && is_plain(value.node)) {
    const std::string& text = value.node.Scalar();
    std::int64_t result = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), result);
    if (error == std::errc() && end == text.data() + text.size() && result >= minimum &&
        result <= maximum) {
      return result;
    }
  }
  report(value, "expected " + expected + ", got " + describe(value.node));
  return std::nullopt;
}

std::optional<double> ConfigReader::as_number(const YAML::Node& node) {
  if (!node.IsScalar() || !is_plain(node)) return std::nullopt;
  const std::string& text = node.Scalar();
  double result = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), result);
  if (error != std::errc() || end != text.data() + text.size() || !std::isfinite(result)) {
    return std::nullopt;
  }
  return result;
}

std::optional<bool> ConfigReader::as_boolean(const YAML::Node& node) {
  if (!node.IsScalar() || !is_plain(node)) return std::nullopt;
  const std::string& text = node.Scalar();
  if (text == "true" || text == "True" || text == "TRUE") return true;
  if (text == "false" || text == "False" || text == "FALSE") return false;
  return std::nullopt;
}

std::optional<double> ConfigReader::number(const ConfigNode& value, double minimum,
                                           double maximum) {
  auto result = as_number(value.node);
  if (result && *result >= minimum && *result <= maximum) return result;
  report(value,
         "expected " + number_expectation(minimum, maximum) + ", got " + describe(value.node));
  return std::nullopt;
}

std::optional<bool> ConfigReader::boolean(const ConfigNode& value) {
  auto result = as_boolean(value.node);
  if (result) return result;
  report(value, "expected true or false, got " + describe(value.node));
  return std::nullopt;
}

std::optional<std::int64_t> ConfigReader::duration(const ConfigNode& value,
                                                   std::int64_t minimum_ns) {
  constexpr std::string_view kExpected = "a duration like 500ms, 10s, 1m or 24h";
  if (!value.node.IsScalar()) {
    report(value, "expected " + std::string(kExpected) + ", got " + describe(value.node));
    return std::nullopt;
  }
  auto nanoseconds = parse_duration_ns(value.node.Scalar());
  if (!nanoseconds) {
    report(value, "expected " + std::string(kExpected) + ", got '" + value.node.Scalar() + "'");
    return std::nullopt;
  }
  if (*nanoseconds < minimum_ns) {
    report(value, "expected a duration of at least " + std::to_string(minimum_ns) + "ns, got '" +
                      value.node.Scalar() + "'");
    return std::nullopt;
  }
  return nanoseconds;
}

MapReader::MapReader(ConfigReader& reader, const ConfigNode& map, std::string_view expected)
    : reader_(reader), map_(map) {
  is_map_ = reader_.expect_map(map_, expected);
  if (!is_map_) return;
  for (const auto& pair : map_.node) {
    if (!pair.first.IsScalar()) {
      ConfigNode key{pair.first, map_.path, reader_.location(pair.first)};
      if (key.where.line == 0) key.where = map_.where;
      reader_.report(key, "expected a key name, got " + ConfigReader::describe(pair.first));
      continue;
    }
    entries_.push_back({pair.first.Scalar(), pair.first, pair.second});
  }
}

std::optional<ConfigNode> MapReader::optional(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  Entry* found = nullptr;
  for (auto& entry : entries_) {
    if (entry.key != key) continue;
    entry.asked = true;
    if (found == nullptr) found = &entry;
  }
  if (found == nullptr) return std::nullopt;
  ConfigNode value{found->value, map_.child_path(key), reader_.location(found->value)};
  if (found->value.IsNull() || value.where.line == 0) {
    value.where = reader_.location(found->key_node);
  }
  return value;
}

std::optional<ConfigNode> MapReader::required(std::string_view key, std::string_view expected) {
  auto value = optional(key);
  if (!value) report_missing(key, expected);
  return value;
}

void MapReader::report_missing(std::string_view key, std::string_view expected) {
  if (!is_map_) return;
  reader_.report(map_,
                 "missing required key '" + std::string(key) + "' (" + std::string(expected) + ")");
}

void MapReader::not_supported(std::string_view key, std::string_view message) {
  unsupported_.emplace_back(key);
  for (auto& entry : entries_) {
    if (entry.key != key || entry.asked) continue;
    entry.asked = true;
    reader_.report({entry.value, map_.child_path(key), reader_.location(entry.key_node)}, message);
  }
}

void MapReader::report_duplicates() {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    for (std::size_t j = 0; j < i; ++j) {
      if (entries_[j].key != entries_[i].key) continue;
      const SourceLocation first = reader_.location(entries_[j].key_node);
      reader_.report({entries_[i].value, map_.child_path(entries_[i].key),
                      reader_.location(entries_[i].key_node)},
                     "duplicate key (first given at line " + std::to_string(first.line) +
                         ", column " + std::to_string(first.column) + ")");
      break;
    }
  }
}

void MapReader::finish_ignoring_unknown() {
  report_duplicates();
}

void MapReader::finish() {
  report_duplicates();
  std::vector<std::string> candidates = known_;
  candidates.insert(candidates.end(), unsupported_.begin(), unsupported_.end());
  for (const auto& entry : entries_) {
    if (entry.asked) continue;
    ConfigNode key{entry.value, map_.child_path(entry.key), reader_.location(entry.key_node)};
    if (entry.key == "<<") {
      reader_.report(key, "YAML merge keys are not supported; write the keys out");
      continue;
    }
    reader_.report(key, "unknown key" + did_you_mean(entry.key, candidates) +
                            "; expected one of: " + join_names(known_));
  }
}

}  // namespace ldh
