#!/usr/bin/env python3
"""
bench/delayproxy.py PORT_FILE TARGET_HOST TARGET_PORT DELAY_MS: a TCP proxy
on 127.0.0.1 that makes a server DELAY_MS farther away, for
bench/latency.sh.

It listens on a port the system picks, writes that port to PORT_FILE once
it accepts connections, and forwards every connection to TARGET_HOST:
TARGET_PORT. What the client sends reaches the server DELAY_MS after the
proxy received it (every piece keeps its place in the stream); what the
server sends goes back at once. So every request is answered DELAY_MS
later than without the proxy, however large its answer, as the local
remote's test delay (CLONEDRIVE_TEST_READ_DELAY_MS: each remote read
sleeps, then reads at full speed) does for a directory. The bandwidth is
not limited: it is a far server on a fat link, not TCP's window over a
long round trip.

Runs until killed (SIGTERM or SIGINT: it closes its connections and
exits 0). Standard library only.
"""

import asyncio
import os
import signal
import sys
import time

CHUNK = 1 << 18


async def pipe_delayed(reader, writer, delay):
    """Client to server: each piece is written DELAY after it arrived."""
    queue = asyncio.Queue()

    async def feed():
        while True:
            data = await reader.read(CHUNK)
            await queue.put((time.monotonic() + delay, data))
            if not data:
                return

    feeder = asyncio.ensure_future(feed())
    try:
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()
    finally:
        feeder.cancel()


async def pipe_now(reader, writer):
    """Server to client: at once."""
    while True:
        data = await reader.read(CHUNK)
        if not data:
            if writer.can_write_eof():
                writer.write_eof()
            return
        writer.write(data)
        await writer.drain()


async def handle(creader, cwriter, host, port, delay):
    try:
        sreader, swriter = await asyncio.open_connection(host, port)
    except OSError:
        cwriter.close()
        return
    up = asyncio.ensure_future(pipe_delayed(creader, swriter, delay))
    down = asyncio.ensure_future(pipe_now(sreader, cwriter))
    try:
        # until both directions end, or one fails (a reset)
        await asyncio.wait({up, down}, return_when=asyncio.FIRST_EXCEPTION)
    except asyncio.CancelledError:
        pass
    finally:
        for t in (up, down):
            if t.done() and not t.cancelled():
                t.exception()
            else:
                t.cancel()
        for w in (swriter, cwriter):
            w.close()


async def main(port_file, host, port, delay):
    loop = asyncio.get_running_loop()
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, host, port, delay), "127.0.0.1", 0,
        limit=CHUNK * 4, backlog=512)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set_result, None)
    tmp = port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.sockets[0].getsockname()[1])
    os.rename(tmp, port_file)
    await stop
    server.close()


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__)
        sys.exit(2)
    try:
        asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]),
                         int(sys.argv[4]) / 1000.0))
    except ValueError:
        sys.stderr.write("delayproxy: bad port or delay\n")
        sys.exit(2)
