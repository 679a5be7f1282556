#include "host/sink.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "host/compression.h"
#include "host/delivery.h"
#include "host/elasticsearch_sink.h"
#include "host/kafka_sink.h"
#include "host/websocket_sink.h"
#include "pipeline/error.h"

namespace ldh {

FileSink::FileSink(std::string path) : path_(std::move(path)) {
  if (path_ == "-") {
    file_ = stdout;
  } else {
    std::filesystem::path parent = std::filesystem::path(path_).parent_path();
    std::error_code error;
    if (!parent.empty()) std::filesystem::create_directories(parent, error);
    file_ = std::fopen(path_.c_str(), "wb");
    if (file_ == nullptr) {
      throw UserError("cannot open " + path_ + " for writing: " + std::strerror(errno));
    }
  }
  // glibc ignores the size when it allocates the buffer itself, so give it one; stdout's must
  // outlive the sink, since stdout does.
  constexpr std::size_t kBufferBytes = 1 << 20;
  char* buffer;
  if (file_ == stdout) {
    static char stdout_buffer[kBufferBytes];
    buffer = stdout_buffer;
  } else {
    buffer_ = std::make_unique<char[]>(kBufferBytes);
    buffer = buffer_.get();
  }
  std::setvbuf(file_, buffer, _IOFBF, kBufferBytes);
}

FileSink::~FileSink() {
  if (file_ == nullptr) return;
  if (file_ == stdout) {
    std::fflush(file_);
  } else {
    std::fclose(file_);
  }
}

void FileSink::write(std::string_view text) {
  if (text.empty()) return;
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size()) {
    throw UserError("writing " + describe() + ": " + std::strerror(errno));
  }
}

void FileSink::flush() {
  if (std::fflush(file_) != 0)
    throw UserError("writing " + describe() + ": " + std::strerror(errno));
}

std::unique_ptr<Sink> make_sink(const SinkConfig& config) {
  switch (config.type) {
    case SinkType::stdout_sink:
      return std::make_unique<FileSink>("-");
    case SinkType::jsonl:
      if (config.compression != Compression::none) {
        return std::make_unique<CompressedFileSink>(config.path, config.compression);
      }
      return std::make_unique<FileSink>(config.path);
    case SinkType::websocket:
      return std::make_unique<WebSocketSink>(config.websocket);
    case SinkType::elasticsearch:
      return std::make_unique<DeliverySink>(
          std::make_unique<ElasticsearchTransport>(config.elasticsearch), config.delivery);
    case SinkType::kafka:
      return std::make_unique<DeliverySink>(std::make_unique<KafkaTransport>(config.kafka),
                                            config.delivery);
  }
  throw LogicError("unknown sink type");
}

}  // namespace ldh
