#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "pipeline/did_you_mean.h"
#include "pipeline/error.h"

namespace ldh {

/// One value of a configuration document with its dotted key path, so every message can name
/// the key it is about.
struct ConfigNode {
  YAML::Node node;
  /// E.g. "processing.pipeline[0].config.rules[1].operator"; empty for the document itself.
  std::string path;
  /// The value's position; the key's position when the value is empty.
  SourceLocation where;

  /// Returns the path of the child `key` of this map.
  std::string child_path(std::string_view key) const;
};

/// Reads typed values out of a YAML document and collects every problem as a ConfigDiagnostic,
/// so one pass can report all mistakes of a file. Readers return nullopt after reporting.
class ConfigReader {
 public:
  /// Prepares to read `text`, which came from `file` (used in every location).
  ConfigReader(std::string file, std::string text);

  /// Parses the text as one YAML document (JSON included). Reports syntax errors and extra
  /// documents; returns nullopt when nothing could be parsed. An empty text gives a null node.
  std::optional<ConfigNode> parse();

  /// Returns the 1-based position of `node` (line 0 when yaml-cpp knows none).
  SourceLocation location(const YAML::Node& node) const;
  SourceLocation location(const YAML::Mark& mark) const;
  /// Returns where the text of a scalar starts: inside its quotes, past any anchor or tag, on
  /// the first content line of a block scalar. Expression compilers add offsets to this.
  SourceLocation text_location(const YAML::Node& node) const;

  /// Records a problem at `where`.
  void report(SourceLocation where, std::string message);
  /// Records a problem with `value`, prefixing the message with its key path.
  void report(const ConfigNode& value, std::string_view message);

  const std::vector<ConfigDiagnostic>& diagnostics() const { return diagnostics_; }
  const std::string& file() const { return file_; }

  /// Describes a value for "got ..." phrases: a map, a list, nothing, 'x' or the string 'x'.
  static std::string describe(const YAML::Node& node);
  /// Tells whether a scalar was written plainly (no quotes, no string tag), so that it may be
  /// read as a number, a boolean or null.
  static bool is_plain(const YAML::Node& node);
  /// Returns a plain scalar's value as a finite number, or nullopt.
  static std::optional<double> as_number(const YAML::Node& node);
  /// Returns a plain scalar's value as true or false, or nullopt.
  static std::optional<bool> as_boolean(const YAML::Node& node);

  bool expect_map(const ConfigNode& value, std::string_view expected = "a map");
  bool expect_list(const ConfigNode& value, std::string_view expected = "a list");
  /// Returns the items of a list with paths like "sources[2]"; reports when not a list.
  std::vector<ConfigNode> items(const ConfigNode& list, std::string_view expected = "a list");

  /// Reads any scalar as text.
  std::optional<std::string> text(const ConfigNode& value, std::string_view expected = "text");
  /// Reads a plain integer within [minimum, maximum].
  std::optional<std::int64_t> integer(
      const ConfigNode& value, std::int64_t minimum,
      std::int64_t maximum = std::numeric_limits<std::int64_t>::max());
  /// Reads a plain finite number within [minimum, maximum].
  std::optional<double> number(const ConfigNode& value, double minimum,
                               double maximum = std::numeric_limits<double>::max());
  /// Reads a plain true or false.
  std::optional<bool> boolean(const ConfigNode& value);
  /// Reads a duration such as 500ms or 10s, in nanoseconds, at least `minimum_ns`.
  std::optional<std::int64_t> duration(const ConfigNode& value, std::int64_t minimum_ns = 0);

  /// Reads one of `names` (a `what`, e.g. "operator"), suggesting the closest on a miss.
  template <typename Value>
  std::optional<Value> choice(const ConfigNode& value, std::string_view what,
                              const std::vector<std::pair<std::string, Value>>& names) {
    auto word = text(value, "a " + std::string(what));
    if (!word) return std::nullopt;
    std::vector<std::string> candidates;
    for (const auto& [name, result] : names) {
      if (name == *word) return result;
      candidates.push_back(name);
    }
    report(value, "unknown " + std::string(what) + " '" + *word + "'" +
                      did_you_mean(*word, candidates) +
                      "; expected one of: " + join_names(candidates));
    return std::nullopt;
  }

 private:
  std::string file_;
  std::string text_;
  std::vector<std::size_t> line_starts_;
  std::vector<ConfigDiagnostic> diagnostics_;
};

/// Reads the keys of one map, remembering which were asked for, so that finish() can report
/// every key nobody asked about (with a did-you-mean) and duplicates: no key is ever ignored.
class MapReader {
 public:
  /// Reports when `map` is not a map; then every lookup finds nothing.
  MapReader(ConfigReader& reader, const ConfigNode& map, std::string_view expected = "a map");

  bool is_map() const { return is_map_; }
  const ConfigNode& map() const { return map_; }

  /// Returns the value of `key` when present.
  std::optional<ConfigNode> optional(std::string_view key);
  /// Returns the value of `key`, reporting "missing required key" when absent; `expected`
  /// says what it should hold.
  std::optional<ConfigNode> required(std::string_view key, std::string_view expected);
  /// Reports that `key` is missing; for keys whose need depends on other keys.
  void report_missing(std::string_view key, std::string_view expected);
  /// Declares `key` a known feature this build lacks; reports `message` when present.
  void not_supported(std::string_view key, std::string_view message);

  /// Reports keys nobody asked for and duplicate keys.
  void finish();
  /// Reports only duplicate keys, for maps whose other keys do not matter any more (an
  /// unsupported source type already reported, say).
  void finish_ignoring_unknown();

 private:
  struct Entry {
    std::string key;
    YAML::Node key_node;
    YAML::Node value;
    bool asked = false;
  };
  void report_duplicates();

  ConfigReader& reader_;
  ConfigNode map_;
  bool is_map_ = false;
  std::vector<Entry> entries_;
  std::vector<std::string> known_;
  std::vector<std::string> unsupported_;
};

}  // namespace ldh
