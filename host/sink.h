#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/config.h"

namespace ldh {

/// One named counter of a destination (delivered, retried, ...), for the run summary.
struct SinkCounter {
  std::string name;
  std::uint64_t value = 0;
};

/// Receives result text (JSON lines) in order from the executor's single writer thread.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void write(std::string_view text) = 0;
  /// Makes what was written visible (called after every chunk: must not wait for a peer).
  virtual void flush() = 0;
  /// Delivers or dead-letters everything written, at the end of a run (may wait, bounded).
  virtual void finish() { flush(); }
  virtual std::string describe() const = 0;
  /// Appends the destination's own counters to `out`; thread-safe.
  virtual void statistics(std::vector<SinkCounter>& out) const { static_cast<void>(out); }
  /// Counts the records handed to write() so far, and tells through which of them every record
  /// is delivered or dead-lettered: sources acknowledge (a Kafka source commits) only what every
  /// destination settled. Destinations that write at once settle everything.
  virtual std::uint64_t produced() const { return 0; }
  virtual std::uint64_t settled_through() const { return UINT64_MAX; }
};

/// Writes to a file (creating its folder) or to standard output, through a large buffer.
class FileSink final : public Sink {
 public:
  /// Opens `path` for writing; "-" means standard output. Throws UserError when it cannot.
  explicit FileSink(std::string path);
  ~FileSink() override;
  void write(std::string_view text) override;
  void flush() override;
  std::string describe() const override { return path_ == "-" ? "stdout" : path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<char[]> buffer_;
};

/// Creates the sink a destination describes.
std::unique_ptr<Sink> make_sink(const SinkConfig& config);

}  // namespace ldh
