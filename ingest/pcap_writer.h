#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace ldh {

/// The largest UDP payload one IPv4 datagram carries (65535 - 20 - 8 bytes).
inline constexpr std::size_t kMaxUdpPayloadBytes = 65507;

/// Addresses of the UDP/IPv4 frames append_udp_frame builds; IPv4 addresses in host order.
struct UdpFrameAddresses {
  std::array<std::uint8_t, 6> source_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
  std::array<std::uint8_t, 6> destination_mac = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
  std::uint32_t source_ip = 0x0a000001;       // 10.0.0.1
  std::uint32_t destination_ip = 0x0a000002;  // 10.0.0.2
  std::uint16_t source_port = 40000;
  std::uint16_t destination_port = 9000;
};

/// Appends an Ethernet II frame carrying one unfragmented UDP/IPv4 datagram with `payload` to
/// `out`, with both checksums filled in, so any capture tool reads it as valid. `payload` must
/// not exceed kMaxUdpPayloadBytes.
void append_udp_frame(const UdpFrameAddresses& addresses, std::span<const std::byte> payload,
                      std::string& out);

/// Appends the header of a classic libpcap file (microsecond timestamps, Ethernet link type,
/// what tcpdump, scapy and DPDK's net_pcap read) to `out`.
void append_pcap_header(std::string& out);

/// Appends one packet record holding `frame`, stamped `time_ns` since the epoch, to `out`.
void append_pcap_record(std::span<const std::byte> frame, std::int64_t time_ns, std::string& out);

}  // namespace ldh
