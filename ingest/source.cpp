#include "ingest/source.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "ingest/decoder.h"
#include "ingest/dpdk_source.h"
#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "ingest/kafka_source.h"
#include "ingest/udp_source.h"
#include "ingest/websocket_source.h"
#include "pipeline/error.h"

namespace ldh {

namespace {

using Clock = std::chrono::steady_clock;

/// How much a stream source reads at a time; it reads past a record that does not fit, up to
/// the record cap plus one read.
constexpr std::size_t kReadBytes = 4u << 20;

/// Sleeps so that `records` records take at least records / rate seconds since `start`.
void pace(double rate, std::uint64_t records, Clock::time_point start) {
  if (rate <= 0) return;
  auto due = start + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(static_cast<double>(records) / rate));
  std::this_thread::sleep_until(due);
}

/// Cuts a byte stream, read block by block, into chunks of whole records using the format's
/// framing; a record cut by a block boundary moves to the next block.
class StreamSource : public Source {
 public:
  StreamSource(std::string name, Format format, const Schema& schema, std::uint32_t index,
               const SourceOptions& options, double rate)
      : name_(std::move(name)),
        format_(format),
        framer_(make_decoder(format, schema)),
        index_(index),
        options_(options),
        rate_(rate) {
    if (rate_ > 0) {
      // Small chunks keep a paced replay smooth (about 100 chunks a second).
      options_.chunk_records = std::max<std::size_t>(1, static_cast<std::size_t>(rate_ / 100));
    }
  }

  bool next(RawChunk& chunk) override {
    if (started_ == Clock::time_point{}) started_ = Clock::now();
    while (true) {
      if (options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed)) return false;
      if (block_ && position_ < block_->size()) {
        std::span<const std::byte> rest(
            reinterpret_cast<const std::byte*>(block_->data()) + position_,
            block_->size() - position_);
        FrameInfo info;
        std::size_t length = framer_->frame(rest, options_.chunk_records, end_of_stream_, &info);
        if (info.framing_lost) {
          // Nothing after a broken length prefix can be framed: this chunk is the last one,
          // and decode() dead-letters it saying the rest of the stream is skipped.
          end_of_stream_ = true;
          length = rest.size();
        }
        if (length > 0) {
          chunk.source_index = index_;
          chunk.stream_offset = block_offset_ + position_;
          chunk.block = block_;
          chunk.bytes = rest.first(length);
          chunk.records = info.records;
          position_ += length;
          records_paced_ += info.records;
          pace(rate_, records_paced_, started_);
          return true;
        }
      }
      if (end_of_stream_) return false;
      read_block();
    }
  }

  Format format() const override { return format_; }
  const std::string& name() const override { return name_; }
  std::uint64_t bytes_read() const override { return bytes_read_; }

 protected:
  /// Appends up to `capacity` bytes to `out`; returns how many (0 at the end).
  virtual std::size_t read_more(std::string& out, std::size_t capacity) = 0;
  bool stopping() const {
    return options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed);
  }

 private:
  void read_block() {
    auto next_block = std::make_shared<std::string>();
    std::size_t leftover = block_ ? block_->size() - position_ : 0;
    // Grow past a record that does not fit, up to the record cap plus one block.
    std::size_t capacity = std::max<std::size_t>(kReadBytes, leftover * 2);
    capacity = std::min(capacity, kMaxRecordBytes + kReadBytes);
    next_block->reserve(capacity);
    if (leftover > 0) next_block->append(block_->data() + position_, leftover);
    block_offset_ += position_;
    LDH_EXPECTS(leftover < capacity, "framing made no progress on a full block");
    // One read is enough to make progress: on a pipe, waiting for a full block would hold
    // events back (and delay Ctrl-C) until the writer sends megabytes.
    std::size_t got = read_more(*next_block, capacity - next_block->size());
    if (got == 0) end_of_stream_ = true;
    bytes_read_ += got;
    block_ = std::move(next_block);
    position_ = 0;
  }

  std::string name_;
  Format format_;
  std::unique_ptr<Decoder> framer_;
  std::uint32_t index_;
  SourceOptions options_;
  double rate_;
  std::shared_ptr<const std::string> block_;
  std::size_t position_ = 0;
  std::uint64_t block_offset_ = 0;
  bool end_of_stream_ = false;
  std::uint64_t bytes_read_ = 0;
  std::uint64_t records_paced_ = 0;
  Clock::time_point started_{};
};

class FileSource final : public StreamSource {
 public:
  FileSource(const SourceConfig& config, std::uint32_t index, const Schema& schema,
             const SourceOptions& options)
      : StreamSource(config.name, config.format, schema, index, options, config.file.rate),
        path_(config.file.path) {
    descriptor_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (descriptor_ < 0) {
      throw UserError("source '" + config.name + "': cannot open " + path_ + ": " +
                      std::strerror(errno));
    }
  }
  ~FileSource() override { ::close(descriptor_); }

 protected:
  std::size_t read_more(std::string& out, std::size_t capacity) override {
    std::size_t old_size = out.size();
    out.resize(old_size + capacity);
    while (true) {
      // Wait in short slices, so a quiet pipe or FIFO still notices a stop request (a signal
      // may be delivered to another thread and never interrupt this read).
      pollfd ready{descriptor_, POLLIN, 0};
      int polled = ::poll(&ready, 1, 100);
      if (stopping()) {
        out.resize(old_size);
        return 0;
      }
      if (polled == 0 || (polled < 0 && errno == EINTR)) continue;
      ssize_t got = ::read(descriptor_, out.data() + old_size, capacity);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) {
        out.resize(old_size);
        throw UserError("reading " + path_ + ": " + std::strerror(errno));
      }
      out.resize(old_size + static_cast<std::size_t>(got));
      return static_cast<std::size_t>(got);
    }
  }

 private:
  std::string path_;
  int descriptor_ = -1;
};

/// Hands out chunks of bytes already in memory as views, without copying them: the source of
/// benchmarks and tests, where a copy per chunk on the source's one thread would cap a run.
class MemorySource final : public Source {
 public:
  MemorySource(std::string name, Format format, const Schema& schema,
               std::shared_ptr<const std::string> bytes, std::uint32_t index,
               const SourceOptions& options)
      : name_(std::move(name)),
        format_(format),
        framer_(make_decoder(format, schema)),
        bytes_(std::move(bytes)),
        index_(index),
        options_(options) {}

  bool next(RawChunk& chunk) override {
    if (options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed)) return false;
    if (position_ >= bytes_->size()) return false;
    const std::span<const std::byte> rest(
        reinterpret_cast<const std::byte*>(bytes_->data()) + position_, bytes_->size() - position_);
    // The framer sees at most what a stream source reading the same bytes holds at once, so a
    // record over the cap is cut where a file's would be.
    const std::span<const std::byte> window =
        rest.first(std::min(rest.size(), kMaxRecordBytes + kReadBytes));
    FrameInfo info;
    std::size_t length =
        framer_->frame(window, options_.chunk_records, window.size() == rest.size(), &info);
    if (length == 0) length = framer_->frame(window, options_.chunk_records, true, &info);
    // After a broken length prefix nothing can be framed: the rest is the last chunk, and
    // decode() dead-letters it saying so.
    if (info.framing_lost) length = rest.size();
    if (length == 0) length = window.size();
    chunk.source_index = index_;
    chunk.stream_offset = position_;
    chunk.block = bytes_;
    chunk.bytes = rest.first(length);
    chunk.records = info.records;
    position_ += length;
    return true;
  }

  Format format() const override { return format_; }
  const std::string& name() const override { return name_; }
  std::uint64_t bytes_read() const override { return position_; }

 private:
  std::string name_;
  Format format_;
  std::unique_ptr<Decoder> framer_;
  std::shared_ptr<const std::string> bytes_;
  std::uint32_t index_;
  SourceOptions options_;
  std::size_t position_ = 0;
};

/// Encodes generated sensor readings chunk by chunk (binary frames never span chunks).
class GeneratorSource final : public Source {
 public:
  GeneratorSource(const SourceConfig& config, std::uint32_t index, const Schema& schema,
                  const SourceOptions& options)
      : name_(config.name),
        format_(config.format),
        generator_(config.generator, schema),
        encoder_(make_encoder(config.format, schema, config.generator.frame_records)),
        index_(index),
        options_(options),
        rate_(config.generator.rate) {
    if (rate_ > 0) {
      options_.chunk_records = std::max<std::size_t>(1, static_cast<std::size_t>(rate_ / 100));
    }
  }

  bool next(RawChunk& chunk) override {
    if (started_ == Clock::time_point{}) started_ = Clock::now();
    if (options_.stop != nullptr && options_.stop->load(std::memory_order_relaxed)) return false;
    auto block = std::make_shared<std::string>();
    std::uint64_t made = generator_.generate(*encoder_, options_.chunk_records, *block);
    encoder_->flush(*block);
    if (made == 0) return false;
    chunk.source_index = index_;
    chunk.stream_offset = offset_;
    chunk.bytes = std::span<const std::byte>(reinterpret_cast<const std::byte*>(block->data()),
                                             block->size());
    chunk.records = made;
    offset_ += block->size();
    chunk.block = std::move(block);
    pace(rate_, generator_.produced(), started_);
    return true;
  }

  Format format() const override { return format_; }
  const std::string& name() const override { return name_; }
  std::uint64_t bytes_read() const override { return offset_; }

 private:
  std::string name_;
  Format format_;
  SensorGenerator generator_;
  std::unique_ptr<Encoder> encoder_;
  std::uint32_t index_;
  SourceOptions options_;
  double rate_;
  std::uint64_t offset_ = 0;
  Clock::time_point started_{};
};

}  // namespace

std::unique_ptr<Source> make_source(const SourceConfig& config, std::uint32_t index,
                                    const Schema& schema, const SourceOptions& options) {
  switch (config.type) {
    case SourceType::file:
      return std::make_unique<FileSource>(config, index, schema, options);
    case SourceType::generator:
      return std::make_unique<GeneratorSource>(config, index, schema, options);
    case SourceType::udp:
      return std::make_unique<UdpSource>(config, index, schema, options);
    case SourceType::kafka:
      return std::make_unique<KafkaSource>(config, index, schema, options);
    case SourceType::websocket:
      return std::make_unique<WebSocketSource>(config, index, schema, options);
    case SourceType::dpdk:
#ifdef LDH_HAVE_DPDK
      return std::make_unique<DpdkSource>(
          config, index, schema, options,
          options.memory != nullptr ? *options.memory : page_aligned_memory());
#else
      throw ConfigError(config.where,
                        "source type 'dpdk': this build has no DPDK (install "
                        "libdpdk-dev and configure with -DLDH_DPDK=ON)");
#endif
  }
  throw LogicError("unknown source type");
}

std::unique_ptr<Source> make_memory_source(std::string name, Format format, const Schema& schema,
                                           std::shared_ptr<const std::string> bytes,
                                           std::uint32_t index, const SourceOptions& options) {
  return std::make_unique<MemorySource>(std::move(name), format, schema, std::move(bytes), index,
                                        options);
}

}  // namespace ldh
