#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace ldh {

/// The layout of a binary frame header (docs/formats.md, "Binary frames"). All fields are
/// little-endian; records start `header_size` bytes after the magic.
inline constexpr char kFrameMagic[4] = {'L', 'D', 'H', 'F'};
inline constexpr std::uint16_t kFrameVersion = 1;
inline constexpr std::size_t kFrameHeaderBytes = 24;

struct FrameHeader {
  std::uint16_t version = kFrameVersion;
  std::uint16_t header_size = kFrameHeaderBytes;
  std::uint32_t schema_id = 0;
  std::uint32_t record_count = 0;
  std::uint32_t record_size = 0;
  std::uint32_t reserved = 0;

  /// Returns the bytes of the whole frame (header and records).
  std::uint64_t frame_size() const {
    return header_size + static_cast<std::uint64_t>(record_count) * record_size;
  }
};

/// Classifies the bytes at the start of a span, the one step that frame() and decode() share so
/// both cut a stream at the same places.
enum class FrameStep : std::uint8_t {
  frame,       // a frame with a sane header; `size` is the whole frame (maybe not all present)
  garbage,     // bytes that are not a frame; `size` runs to the next magic (or the end)
  short_tail,  // fewer bytes than a magic or header: a truncated frame or garbage at the end
};

struct FrameScan {
  FrameStep step = FrameStep::garbage;
  std::uint64_t size = 0;
  /// garbage only: whether a magic follows (otherwise the garbage may continue past the end).
  bool magic_follows = false;
  FrameHeader header;
};

inline std::uint16_t load_le16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}
inline std::uint32_t load_le32(const unsigned char* p) {
  std::uint32_t value;
  std::memcpy(&value, p, 4);
  return value;  // ldh only builds for little-endian hosts
}

inline bool starts_with_magic(const unsigned char* p, std::size_t size) {
  return size >= 4 && std::memcmp(p, kFrameMagic, 4) == 0;
}

/// Returns whether `size` bytes at `p` could be the start of a magic cut by the end.
inline bool is_magic_prefix(const unsigned char* p, std::size_t size) {
  return size < 4 && std::memcmp(p, kFrameMagic, size) == 0;
}

/// Returns the offset of the next magic in [from, size), or size when there is none.
inline std::size_t find_magic(const unsigned char* p, std::size_t size, std::size_t from) {
  while (from + 4 <= size) {
    const void* hit = std::memchr(p + from, kFrameMagic[0], size - from - 3);
    if (hit == nullptr) return size;
    std::size_t at = static_cast<std::size_t>(static_cast<const unsigned char*>(hit) - p);
    if (std::memcmp(p + at, kFrameMagic, 4) == 0) return at;
    from = at + 1;
  }
  return size;
}

/// Looks at the bytes of `data` and says what starts there; `max_frame_bytes` bounds a frame.
inline FrameScan scan_frame(std::span<const std::byte> data, std::uint64_t max_frame_bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t size = data.size();
  FrameScan scan;
  if (size < 4 || (starts_with_magic(p, size) && size < kFrameHeaderBytes)) {
    if (size < 4 && !is_magic_prefix(p, size)) {
      scan.step = FrameStep::garbage;
      scan.size = size;
      return scan;
    }
    scan.step = FrameStep::short_tail;
    scan.size = size;
    return scan;
  }
  if (starts_with_magic(p, size)) {
    FrameHeader& header = scan.header;
    header.version = load_le16(p + 4);
    header.header_size = load_le16(p + 6);
    header.schema_id = load_le32(p + 8);
    header.record_count = load_le32(p + 12);
    header.record_size = load_le32(p + 16);
    header.reserved = load_le32(p + 20);
    if (header.version == kFrameVersion && header.header_size >= kFrameHeaderBytes &&
        header.reserved == 0 && header.frame_size() <= max_frame_bytes) {
      scan.step = FrameStep::frame;
      scan.size = header.frame_size();
      return scan;
    }
  }
  std::size_t next = find_magic(p, size, 1);
  scan.step = FrameStep::garbage;
  scan.magic_follows = next < size;
  scan.size = next;
  return scan;
}

/// Appends a frame header to `out`.
inline void append_frame_header(std::string& out, const FrameHeader& header) {
  auto put16 = [&](std::uint16_t value) {
    out.push_back(static_cast<char>(value & 0xff));
    out.push_back(static_cast<char>(value >> 8));
  };
  auto put32 = [&](std::uint32_t value) {
    for (int shift = 0; shift < 32; shift += 8)
      out.push_back(static_cast<char>((value >> shift) & 0xff));
  };
  out.append(kFrameMagic, 4);
  put16(header.version);
  put16(header.header_size);
  put32(header.schema_id);
  put32(header.record_count);
  put32(header.record_size);
  put32(header.reserved);
}

}  // namespace ldh
