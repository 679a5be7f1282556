#include "host/compression.h"

#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "pipeline/error.h"

namespace ldh {

namespace {

constexpr std::size_t kOutputSlice = 64u << 10;
// Compressed bytes gather in memory up to this before they are written to the file.
constexpr std::size_t kWriteThreshold = 1u << 20;

/// gzip members through zlib's deflate with the gzip wrapper.
class GzipCompressor final : public StreamCompressor {
 public:
  GzipCompressor() {
    // 15 window bits + 16 asks for the gzip header and trailer instead of zlib's.
    const int status =
        deflateInit2(&stream_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    if (status == Z_MEM_ERROR) throw std::bad_alloc();
    LDH_EXPECTS(status == Z_OK, "deflateInit2 failed");
  }
  ~GzipCompressor() override { deflateEnd(&stream_); }
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;

  void append(std::string_view input, std::string& out) override { run(input, Z_NO_FLUSH, out); }
  void sync(std::string& out) override { run({}, Z_SYNC_FLUSH, out); }
  void end(std::string& out) override {
    run({}, Z_FINISH, out);
    deflateReset(&stream_);
  }

 private:
  void run(std::string_view input, int mode, std::string& out) {
    stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
    stream_.avail_in = static_cast<uInt>(input.size());
    while (true) {
      const std::size_t before = out.size();
      out.resize(before + kOutputSlice);
      stream_.next_out = reinterpret_cast<Bytef*>(out.data() + before);
      stream_.avail_out = static_cast<uInt>(kOutputSlice);
      const int status = deflate(&stream_, mode);
      LDH_EXPECTS(status == Z_OK || status == Z_STREAM_END || status == Z_BUF_ERROR,
                  "deflate failed");
      const bool slice_full = stream_.avail_out == 0;
      out.resize(before + kOutputSlice - stream_.avail_out);
      if (mode == Z_FINISH ? status == Z_STREAM_END : (!slice_full && stream_.avail_in == 0)) {
        return;
      }
    }
  }

  z_stream stream_{};
};

/// zstd frames (with checksums) through a streaming compression context.
class ZstdCompressor final : public StreamCompressor {
 public:
  ZstdCompressor() : context_(ZSTD_createCCtx()) {
    if (context_ == nullptr) throw std::bad_alloc();
    ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, ZSTD_CLEVEL_DEFAULT);
    ZSTD_CCtx_setParameter(context_, ZSTD_c_checksumFlag, 1);
  }
  ~ZstdCompressor() override { ZSTD_freeCCtx(context_); }
  ZstdCompressor(const ZstdCompressor&) = delete;
  ZstdCompressor& operator=(const ZstdCompressor&) = delete;

  void append(std::string_view input, std::string& out) override {
    run(input, ZSTD_e_continue, out);
  }
  void sync(std::string& out) override { run({}, ZSTD_e_flush, out); }
  void end(std::string& out) override { run({}, ZSTD_e_end, out); }

 private:
  void run(std::string_view input, ZSTD_EndDirective mode, std::string& out) {
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    while (true) {
      const std::size_t before = out.size();
      out.resize(before + kOutputSlice);
      ZSTD_outBuffer slice{out.data() + before, kOutputSlice, 0};
      const std::size_t left = ZSTD_compressStream2(context_, &slice, &in, mode);
      LDH_EXPECTS(!ZSTD_isError(left), "ZSTD_compressStream2 failed");
      out.resize(before + slice.pos);
      // continue: done once the input is taken; flush and end: once nothing is left inside.
      if (mode == ZSTD_e_continue ? in.pos == in.size : left == 0) return;
    }
  }

  ZSTD_CCtx* context_;
};

}  // namespace

std::unique_ptr<StreamCompressor> make_stream_compressor(Compression compression) {
  switch (compression) {
    case Compression::gzip:
      return std::make_unique<GzipCompressor>();
    case Compression::zstd:
      return std::make_unique<ZstdCompressor>();
    case Compression::none:
      break;
  }
  throw LogicError("no compressor for Compression::none");
}

std::string_view compression_name(Compression compression) {
  switch (compression) {
    case Compression::gzip:
      return "gzip";
    case Compression::zstd:
      return "zstd";
    case Compression::none:
      break;
  }
  return "none";
}

CompressedFileSink::CompressedFileSink(std::string path, Compression compression)
    : path_(std::move(path)),
      compression_(compression),
      compressor_(make_stream_compressor(compression)) {
  std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  std::error_code ignored;
  if (!parent.empty()) std::filesystem::create_directories(parent, ignored);
  file_ = std::fopen(path_.c_str(), "wb");
  if (file_ == nullptr) {
    throw UserError("cannot open " + path_ + " for writing: " + std::strerror(errno));
  }
}

CompressedFileSink::~CompressedFileSink() {
  // A destructor cannot report a failed write; finish() is where the executor learns of one.
  if (open_stream_) compressor_->end(pending_);
  if (!pending_.empty()) std::fwrite(pending_.data(), 1, pending_.size(), file_);
  std::fclose(file_);
}

void CompressedFileSink::write(std::string_view text) {
  if (text.empty()) return;
  compressor_->append(text, pending_);
  open_stream_ = true;
  unsynced_ = true;
  bytes_in_.fetch_add(text.size(), std::memory_order_relaxed);
  if (pending_.size() >= kWriteThreshold) write_out();
}

void CompressedFileSink::flush() {
  if (unsynced_) {
    compressor_->sync(pending_);
    unsynced_ = false;
  }
  write_out();
  if (std::fflush(file_) != 0) throw UserError("writing " + path_ + ": " + std::strerror(errno));
}

void CompressedFileSink::finish() {
  if (open_stream_) {
    compressor_->end(pending_);
    open_stream_ = false;
    unsynced_ = false;
  }
  write_out();
  if (std::fflush(file_) != 0) throw UserError("writing " + path_ + ": " + std::strerror(errno));
}

std::string CompressedFileSink::describe() const {
  return path_ + " (" + std::string(compression_name(compression_)) + ")";
}

void CompressedFileSink::statistics(std::vector<SinkCounter>& out) const {
  out.push_back({"bytes_in", bytes_in_.load(std::memory_order_relaxed)});
  out.push_back({"bytes_out", bytes_out_.load(std::memory_order_relaxed)});
}

void CompressedFileSink::write_out() {
  if (pending_.empty()) return;
  if (std::fwrite(pending_.data(), 1, pending_.size(), file_) != pending_.size()) {
    throw UserError("writing " + path_ + ": " + std::strerror(errno));
  }
  bytes_out_.fetch_add(pending_.size(), std::memory_order_relaxed);
  pending_.clear();
}

}  // namespace ldh
