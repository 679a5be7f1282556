#include "ingest/pcap_writer.h"

#include "pipeline/error.h"

namespace ldh {

namespace {

constexpr std::uint32_t kPcapMagic = 0xa1b2c3d4;  // microsecond timestamps
constexpr std::uint32_t kSnapshotLength = 262144;
constexpr std::uint32_t kLinkTypeEthernet = 1;
constexpr std::uint16_t kEtherTypeIpv4 = 0x0800;
constexpr std::uint8_t kProtocolUdp = 17;
constexpr std::uint8_t kTimeToLive = 64;
constexpr std::size_t kIpv4HeaderBytes = 20;
constexpr std::size_t kUdpHeaderBytes = 8;

void put_big16(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value >> 8));
  out.push_back(static_cast<char>(value & 0xff));
}

void put_big32(std::string& out, std::uint32_t value) {
  put_big16(out, static_cast<std::uint16_t>(value >> 16));
  put_big16(out, static_cast<std::uint16_t>(value & 0xffff));
}

void put_little32(std::string& out, std::uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void put_little16(std::string& out, std::uint16_t value) {
  out.push_back(static_cast<char>(value & 0xff));
  out.push_back(static_cast<char>(value >> 8));
}

/// Adds big-endian 16-bit words of `bytes` (an odd last byte padded with zero) to `sum`.
std::uint32_t add_words(std::uint32_t sum, const unsigned char* bytes, std::size_t size) {
  for (std::size_t i = 0; i + 1 < size; i += 2) {
    sum += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  if (size % 2 == 1) {
    sum += static_cast<std::uint32_t>(bytes[size - 1] << 8);
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return sum;
}

std::uint16_t fold_checksum(std::uint32_t sum) {
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum & 0xffff);
}

}  // namespace

void append_udp_frame(const UdpFrameAddresses& addresses, std::span<const std::byte> payload,
                      std::string& out) {
  LDH_EXPECTS(payload.size() <= kMaxUdpPayloadBytes, "a UDP payload over 65507 bytes");
  const auto udp_length = static_cast<std::uint16_t>(kUdpHeaderBytes + payload.size());
  const auto total_length = static_cast<std::uint16_t>(kIpv4HeaderBytes + udp_length);
  out.append(reinterpret_cast<const char*>(addresses.destination_mac.data()), 6);
  out.append(reinterpret_cast<const char*>(addresses.source_mac.data()), 6);
  put_big16(out, kEtherTypeIpv4);

  const std::size_t ip_at = out.size();
  out.push_back(0x45);  // version 4, 5 words of header
  out.push_back(0);     // DSCP and ECN
  put_big16(out, total_length);
  put_big16(out, 0);       // identification
  put_big16(out, 0x4000);  // don't fragment, offset 0
  out.push_back(static_cast<char>(kTimeToLive));
  out.push_back(static_cast<char>(kProtocolUdp));
  put_big16(out, 0);  // checksum, filled below
  put_big32(out, addresses.source_ip);
  put_big32(out, addresses.destination_ip);
  const std::uint16_t ip_checksum = fold_checksum(
      add_words(0, reinterpret_cast<const unsigned char*>(out.data() + ip_at), kIpv4HeaderBytes));
  out[ip_at + 10] = static_cast<char>(ip_checksum >> 8);
  out[ip_at + 11] = static_cast<char>(ip_checksum & 0xff);

  const std::size_t udp_at = out.size();
  put_big16(out, addresses.source_port);
  put_big16(out, addresses.destination_port);
  put_big16(out, udp_length);
  put_big16(out, 0);  // checksum, filled below
  out.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  // The UDP checksum covers a pseudo header (addresses, protocol, length), the header and data.
  std::uint32_t sum = 0;
  sum = add_words(sum, reinterpret_cast<const unsigned char*>(out.data() + ip_at + 12), 8);
  sum += kProtocolUdp;
  sum += udp_length;
  sum = add_words(sum, reinterpret_cast<const unsigned char*>(out.data() + udp_at), udp_length);
  std::uint16_t udp_checksum = fold_checksum(sum);
  if (udp_checksum == 0) udp_checksum = 0xffff;  // 0 would mean "no checksum"
  out[udp_at + 6] = static_cast<char>(udp_checksum >> 8);
  out[udp_at + 7] = static_cast<char>(udp_checksum & 0xff);
}

void append_pcap_header(std::string& out) {
  put_little32(out, kPcapMagic);
  put_little16(out, 2);  // version 2.4
  put_little16(out, 4);
  put_little32(out, 0);  // time zone offset
  put_little32(out, 0);  // timestamp accuracy
  put_little32(out, kSnapshotLength);
  put_little32(out, kLinkTypeEthernet);
}

void append_pcap_record(std::span<const std::byte> frame, std::int64_t time_ns, std::string& out) {
  LDH_EXPECTS(time_ns >= 0, "pcap timestamps start at the epoch");
  const auto microseconds = static_cast<std::uint64_t>(time_ns) / 1000;
  put_little32(out, static_cast<std::uint32_t>(microseconds / 1'000'000));
  put_little32(out, static_cast<std::uint32_t>(microseconds % 1'000'000));
  put_little32(out, static_cast<std::uint32_t>(frame.size()));  // bytes captured
  put_little32(out, static_cast<std::uint32_t>(frame.size()));  // bytes on the wire
  out.append(reinterpret_cast<const char*>(frame.data()), frame.size());
}

}  // namespace ldh
