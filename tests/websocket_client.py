"""A WebSocket client for ldh's WebSocket destination tests, on Debian's python3-websockets.

Connects to `--url` (with `--token` as a bearer token), prints "READY <local port>" once the
upgrade succeeded (or "REFUSED <HTTP status>" when it was refused), then reads until the server
closes the connection. Each message holds result lines separated by newlines, each with an
integer "seq"; a {"dropped": n} message tells of n messages lost. At the end it prints
"DONE lines=<n> messages=<m> told=<dropped told> notices=<k> gaps=<seq numbers missing>
disorder=<seq going back> last=<last seq> longest=<bytes> close=<close code>".

Misbehaviours: `--pause-after K --pause S` stops reading for S seconds after K messages (a slow
client); `--stop-after K` leaves after K messages, with `--abort` by cutting the TCP connection;
`--send-bytes B` sends one message of B bytes first.
"""

import argparse
import asyncio
import json
import sys

import websockets


def parse_arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", default=None)
    parser.add_argument("--pause-after", type=int, default=0)
    parser.add_argument("--pause", type=float, default=0)
    parser.add_argument("--stop-after", type=int, default=0)
    parser.add_argument("--abort", action="store_true")
    parser.add_argument("--send-bytes", type=int, default=0)
    return parser.parse_args()


def say(text):
    print(text, flush=True)


class Tally:
    def __init__(self):
        self.lines = 0
        self.messages = 0
        self.told = 0
        self.notices = 0
        self.gaps = 0
        self.disorder = 0
        self.longest = 0
        self.next_seq = None

    def take(self, message):
        self.messages += 1
        self.longest = max(self.longest, len(message))
        for line in message.split("\n"):
            record = json.loads(line)
            if set(record) == {"dropped"}:
                self.told += record["dropped"]
                self.notices += 1
                continue
            self.lines += 1
            seq = record.get("seq")
            if seq is None:
                continue
            if self.next_seq is not None and seq > self.next_seq:
                self.gaps += seq - self.next_seq
            if self.next_seq is not None and seq < self.next_seq:
                self.disorder += 1
            self.next_seq = seq + 1

    def summary(self, close_code):
        last = self.next_seq - 1 if self.next_seq is not None else -1
        return ("DONE lines=%d messages=%d told=%d notices=%d gaps=%d disorder=%d last=%d "
                "longest=%d close=%s" % (self.lines, self.messages, self.told, self.notices,
                                         self.gaps, self.disorder, last, self.longest,
                                         close_code))


async def run(arguments):
    headers = {}
    if arguments.token is not None:
        headers["Authorization"] = "Bearer " + arguments.token
    try:
        websocket = await websockets.connect(arguments.url, extra_headers=headers, max_size=None,
                                             max_queue=1, open_timeout=10)
    except websockets.exceptions.InvalidStatusCode as refused:
        say("REFUSED %d" % refused.status_code)
        return
    say("READY %d" % websocket.transport.get_extra_info("sockname")[1])
    tally = Tally()
    if arguments.send_bytes > 0:
        await websocket.send("x" * arguments.send_bytes)
    try:
        while True:
            message = await websocket.recv()
            tally.take(message)
            if arguments.stop_after and tally.messages >= arguments.stop_after:
                if arguments.abort:
                    websocket.transport.abort()
                else:
                    # The server's close frame comes after the messages still on their way:
                    # take them while closing.
                    closing = asyncio.ensure_future(websocket.close())
                    try:
                        while True:
                            await websocket.recv()
                    except websockets.exceptions.ConnectionClosed:
                        pass
                    await closing
                say(tally.summary("left"))
                return
            if arguments.pause_after and tally.messages == arguments.pause_after:
                await asyncio.sleep(arguments.pause)
    except websockets.exceptions.ConnectionClosed:
        pass
    say(tally.summary(websocket.close_code))


def main():
    asyncio.run(run(parse_arguments()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
