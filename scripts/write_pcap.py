#!/usr/bin/python3
"""Writes or sends UDP datagrams of ldh binary frames, built from docs/formats.md alone.

An independent peer for the dpdk source tests (tests/dpdk_source_test.cpp):

  write_pcap.py pcap FILE [--port P] [--packets N] [--events K]
      writes a pcap (with scapy) of N datagrams of K sensor records each to UDP port P, mixed
      with frames the source must set aside (ARP, IPv6, TCP, UDP to another port, fragments,
      broken IPv4 and UDP headers) and payloads the decoders must dead-letter;
  write_pcap.py send HOST --port P [--packets N] [--events K] [--flows F]
      sends the N good datagrams with ordinary UDP sockets, from F source ports.

Both print what they wrote as key=value lines: packets, events, the sums of sensor ids and
timestamps of the good records, and the counts the source and decoders must report.
"""

import argparse
import socket
import struct
import sys
import time

SCHEMA_ID = 0x6C9F0A22
RECORD_SIZE = 48
LOCATIONS = ["lab-1", "roof", "Zürich", "cellar-2"]
KINDS = ["temp", "outdoor", "indoor"]


def sensor_record(ms, sensor_id, location, kind, temperature, humidity, pressure):
    # '<' = little-endian, no padding; '12s' and '8s' zero-pad.
    return struct.pack("<qi12s8sdff", ms, sensor_id, location.encode("utf-8"),
                       kind.encode("utf-8"), temperature, humidity, pressure)


def frame(records, schema_id=SCHEMA_ID, record_size=RECORD_SIZE, count=None):
    header = struct.pack("<4sHHIIII", b"LDHF", 1, 24, schema_id,
                         len(records) if count is None else count, record_size, 0)
    return header + b"".join(records)


class Events:
    """Makes good sensor records and keeps the totals the receiver must reproduce."""

    def __init__(self):
        self.count = 0
        self.sensor_id_sum = 0
        self.timestamp_sum = 0

    def record(self):
        i = self.count
        ms = 1795000000000 + i * 250
        sensor_id = i % 97
        self.count += 1
        self.sensor_id_sum += sensor_id
        self.timestamp_sum += ms * 1000000  # stored in nanoseconds
        return sensor_record(ms, sensor_id, LOCATIONS[i % len(LOCATIONS)], KINDS[i % len(KINDS)],
                             15.0 + (i % 200) / 8.0, 40.25, 1013.5)

    def payload(self, records):
        return frame([self.record() for _ in range(records)])

    def totals(self):
        # The receiver sums in unsigned 64-bit arithmetic.
        return {"events": self.count, "sensor_id_sum": self.sensor_id_sum,
                "timestamp_sum": self.timestamp_sum % (1 << 64)}


def print_counts(counts):
    for key, value in counts.items():
        print(f"{key}={value}")


def write_pcap(arguments):
    from scapy.all import ARP, IP, TCP, UDP, IPv6, Dot1Q, Ether, Raw, wrpcap

    events = Events()
    ether = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
    ip = IP(src="10.0.0.1", dst="10.0.0.2")

    def udp(payload, port=arguments.port, sport=40000):
        return ether / ip / UDP(sport=sport, dport=port) / Raw(payload)

    packets = []
    counts = {"not_udp_ipv4": 0, "other_udp_port": 0, "fragments": 0, "malformed_frames": 0,
              "dead_malformed": 0, "dead_truncated": 0, "dead_schema_mismatch": 0,
              "dead_not_a_number": 0, "partial_payloads": 0}
    for n in range(arguments.packets):
        packets.append(udp(events.payload(arguments.events), sport=40000 + n % 8))
        if n % 50 == 0:
            # One or two VLAN tags in front of IPv4: taken like any other datagram.
            packets.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                           Dot1Q(vlan=7) / ip / UDP(sport=40000, dport=arguments.port) /
                           Raw(events.payload(arguments.events)))
            packets.append(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x88a8) /
                           Dot1Q(vlan=3) / Dot1Q(vlan=7) / ip /
                           UDP(sport=40000, dport=arguments.port) / Raw(events.payload(1)))
        if n % 100 == 0:
            # Frames the source sets aside without decoding.
            packets.append(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.0.0.2"))
            packets.append(ether / IPv6() / UDP(dport=arguments.port) / Raw(b"v6"))
            packets.append(ether / ip / TCP(dport=arguments.port) / Raw(b"tcp"))
            counts["not_udp_ipv4"] += 3
            packets.append(udp(frame([sensor_record(1, 1, "x", "y", 1.0, 1.0, 1.0)]),
                               port=arguments.port + 1))
            counts["other_udp_port"] += 1
            packets.append(ether / IP(src="10.0.0.1", dst="10.0.0.2", flags="MF", id=n) /
                           UDP(dport=arguments.port) / Raw(b"first fragment"))
            packets.append(ether / IP(src="10.0.0.1", dst="10.0.0.2", frag=100, id=n, proto=17) /
                           Raw(b"a later fragment"))
            counts["fragments"] += 2
            # Broken headers: a total length past the frame, an IHL below 5, UDP lengths below
            # 8 and past the datagram.
            packets.append(ether / IP(src="10.0.0.1", dst="10.0.0.2", len=1400) /
                           UDP(dport=arguments.port) / Raw(b"short"))
            packets.append(ether / IP(src="10.0.0.1", dst="10.0.0.2", ihl=4) /
                           UDP(dport=arguments.port) / Raw(b"bad ihl"))
            packets.append(ether / ip / UDP(dport=arguments.port, len=6) / Raw(b"bad udp len"))
            packets.append(ether / ip / UDP(dport=arguments.port, len=900) / Raw(b"too long"))
            counts["malformed_frames"] += 4
            # Payloads the decoders dead-letter: garbage, a frame cut short (only once a whole
            # frame came before it in the datagram), another schema, a NaN temperature.
            packets.append(udp(b"not a frame at all"))
            counts["dead_malformed"] += 1
            counts["partial_payloads"] += 1
            good = events.payload(2)
            cut = frame([sensor_record(2, 2, "x", "y", 1.0, 1.0, 1.0)] * 2, count=3)
            packets.append(udp(good + cut))
            counts["dead_truncated"] += 1
            counts["partial_payloads"] += 1
            packets.append(udp(frame([sensor_record(3, 3, "x", "y", 1.0, 1.0, 1.0)],
                                     schema_id=0x12345678)))
            counts["dead_schema_mismatch"] += 1
            nan = sensor_record(4, 4, "x", "y", float("nan"), 1.0, 1.0)
            packets.append(udp(frame([events.record(), nan, events.record()])))
            counts["dead_not_a_number"] += 1
    wrpcap(arguments.file, packets)
    print_counts({"packets": len(packets), **events.totals(), **counts})


def send(arguments):
    events = Events()
    sockets = []
    for _ in range(arguments.flows):
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.bind(("0.0.0.0", 0))
        sockets.append(sender)
    for n in range(arguments.packets):
        sockets[n % len(sockets)].sendto(events.payload(arguments.events),
                                        (arguments.host, arguments.port))
        if arguments.pause_every and (n + 1) % arguments.pause_every == 0:
            time.sleep(0.001)
    print_counts({"packets": arguments.packets, **events.totals()})


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    pcap = commands.add_parser("pcap", help="write a pcap file with scapy")
    pcap.add_argument("file")
    send_command = commands.add_parser("send", help="send datagrams with UDP sockets")
    send_command.add_argument("host")
    send_command.add_argument("--flows", type=int, default=4)
    send_command.add_argument("--pause-every", type=int, default=50,
                              help="sleep 1 ms after this many datagrams (0: never)")
    for command in (pcap, send_command):
        command.add_argument("--port", type=int, default=9000)
        command.add_argument("--packets", type=int, default=1000)
        command.add_argument("--events", type=int, default=10, help="records per datagram")
    arguments = parser.parse_args()
    if arguments.command == "pcap":
        write_pcap(arguments)
    else:
        send(arguments)
    return 0


if __name__ == "__main__":
    sys.exit(main())
