"""A WebSocket feed for ldh's WebSocket source tests, on Debian's python3-websockets.

Sends `--events` JSON records numbered by a `seq` field, `--per-message` records per text
message (or, with `--binary FILE`, the binary messages stored in FILE as 4-byte little-endian
lengths and payloads). With `--drop-after K --gap G`, it closes the first connection after K
records, then lets G records go by while no client is connected (they are lost, and the client
must count them from the gap in `seq`), and sends the rest to the next connection. Prints
"PORT <n>" once listening, then "SENT <n> LOST <g>" when everything went out.
"""

import argparse
import asyncio
import ssl
import struct
import sys

import websockets


def parse_arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--subprotocol", default="v1")
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--per-message", type=int, default=1)
    parser.add_argument("--drop-after", type=int, default=0)
    parser.add_argument("--gap", type=int, default=0)
    parser.add_argument("--ping-interval", type=float, default=None)
    parser.add_argument("--binary", default=None)
    parser.add_argument("--certificate", default=None)
    parser.add_argument("--key", default=None)
    return parser.parse_args()


def record(seq):
    return ('{"seq": %d, "time": %d, "sensor_id": %d, "temperature": %.1f}'
            % (seq, 1_800_000_000_000 + seq, seq % 7, 20 + seq % 10))


class Feed:
    def __init__(self, arguments):
        self.arguments = arguments
        self.next_seq = 0
        self.lost = 0
        self.connections = 0
        self.done = asyncio.Event()

    async def send_json(self, websocket, stop_at):
        per_message = self.arguments.per_message
        while self.next_seq < stop_at:
            count = min(per_message, stop_at - self.next_seq)
            lines = [record(self.next_seq + i) for i in range(count)]
            await websocket.send("\n".join(lines) + "\n")
            self.next_seq += count

    async def handler(self, websocket, path=None):
        self.connections += 1
        arguments = self.arguments
        if arguments.binary:
            with open(arguments.binary, "rb") as stream:
                data = stream.read()
            position = 0
            while position < len(data):
                (length,) = struct.unpack_from("<I", data, position)
                await websocket.send(data[position + 4:position + 4 + length])
                position += 4 + length
            self.done.set()
            await websocket.wait_closed()
            return
        if self.connections == 1 and arguments.drop_after > 0:
            await self.send_json(websocket, min(arguments.drop_after, arguments.events))
            await websocket.close()
            # Records produced while nobody listens are lost.
            gap = min(arguments.gap, arguments.events - self.next_seq)
            self.next_seq += gap
            self.lost += gap
            return
        await self.send_json(websocket, arguments.events)
        self.done.set()
        await websocket.wait_closed()


async def main():
    arguments = parse_arguments()
    feed = Feed(arguments)
    context = None
    if arguments.certificate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(arguments.certificate, arguments.key)
    async with websockets.serve(feed.handler, "127.0.0.1", arguments.port,
                                subprotocols=[arguments.subprotocol],
                                ping_interval=arguments.ping_interval,
                                ssl=context, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        print("PORT %d" % port, flush=True)
        await feed.done.wait()
        print("SENT %d LOST %d" % (feed.next_seq - feed.lost, feed.lost), flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
