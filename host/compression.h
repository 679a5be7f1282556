#pragma once

// Compressed file destinations: `compression: gzip|zstd` on a jsonl destination (or
// `output.compression` for all of them) writes the JSON lines as one gzip or zstd stream that
// `gzip -dc` or `zstd -dc` reads back.

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "host/sink.h"
#include "pipeline/config.h"

namespace ldh {

/// Compresses a stream of bytes into gzip members or zstd frames.
class StreamCompressor {
 public:
  virtual ~StreamCompressor() = default;
  /// Compresses `input` and appends what is ready to `out`.
  virtual void append(std::string_view input, std::string& out) = 0;
  /// Appends everything compressed so far, so that the output up to here decompresses whole.
  virtual void sync(std::string& out) = 0;
  /// Ends the current member or frame; a later append() starts another (both formats
  /// decompress concatenated members as one stream).
  virtual void end(std::string& out) = 0;
};

/// Creates a compressor for `compression` (not Compression::none) at the format's default
/// level (gzip 6, zstd 3).
std::unique_ptr<StreamCompressor> make_stream_compressor(Compression compression);

/// Returns the name the configuration uses for `compression`.
std::string_view compression_name(Compression compression);

/// Writes JSON lines to a file as a gzip or zstd stream. flush() makes everything written so
/// far decompressible (a sync point per chunk costs a little ratio); finish() and the
/// destructor end the stream.
class CompressedFileSink final : public Sink {
 public:
  /// Opens `path` for writing (creating its folder). Throws UserError when it cannot.
  CompressedFileSink(std::string path, Compression compression);
  ~CompressedFileSink() override;
  CompressedFileSink(const CompressedFileSink&) = delete;
  CompressedFileSink& operator=(const CompressedFileSink&) = delete;

  void write(std::string_view text) override;
  void flush() override;
  void finish() override;
  std::string describe() const override;
  /// Counts bytes_in (JSON text) and bytes_out (compressed bytes written).
  void statistics(std::vector<SinkCounter>& out) const override;

 private:
  void write_out();

  std::string path_;
  Compression compression_;
  std::FILE* file_ = nullptr;
  std::unique_ptr<StreamCompressor> compressor_;
  std::string pending_;       // compressed bytes not yet written to the file
  bool open_stream_ = false;  // a member or frame was started and not yet ended
  bool unsynced_ = false;     // input arrived since the last sync point
  std::atomic<std::uint64_t> bytes_in_{0};
  std::atomic<std::uint64_t> bytes_out_{0};
};

}  // namespace ldh
