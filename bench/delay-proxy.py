#!/usr/bin/env python3
"""A TCP proxy on 127.0.0.1 that delays every byte by a fixed time each way, for benchmarks of
poof and rclone against a store "far away" (bench/compare.sh --latency-ms N).

    bench/delay-proxy.py LISTEN_PORT TARGET_PORT DELAY_MS

Each connection to LISTEN_PORT is forwarded to 127.0.0.1:TARGET_PORT. What one side sends is
read as it arrives and delivered to the other side DELAY_MS later: the proxy is pipelined (a
chunk read while earlier ones wait is delayed from its own arrival, not queued behind their
delay) and has no bandwidth cap, so a request and its answer cost 2 x DELAY_MS more than
without it, as a round trip to a nearby region does, and large transfers keep their throughput.
A half-close (end of stream) is delayed and forwarded like data. Runs until killed.
"""

import asyncio
import sys
import time

READ_SIZE = 256 * 1024


async def pipe(reader, writer, delay):
    """Copies reader to writer, each chunk written `delay` seconds after it was read."""
    queue = asyncio.Queue()

    async def deliver():
        try:
            while True:
                due, chunk = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if chunk is None:
                    if writer.can_write_eof():
                        writer.write_eof()
                    await writer.drain()
                    return
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            return

    sender = asyncio.ensure_future(deliver())
    try:
        while True:
            chunk = await reader.read(READ_SIZE)
            queue.put_nowait((time.monotonic() + delay, chunk or None))
            if not chunk:
                break
    except (ConnectionError, OSError):
        queue.put_nowait((time.monotonic(), None))
    await sender


async def serve(listen_port, target_port, delay):
    async def handle(client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(
                "127.0.0.1", target_port
            )
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            pipe(client_reader, server_writer, delay),
            pipe(server_reader, client_writer, delay),
        )
        for w in (client_writer, server_writer):
            try:
                w.close()
            except OSError:
                pass

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port, backlog=512)
    async with server:
        await server.serve_forever()


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[3].strip())
    listen_port, target_port, delay_ms = (int(a) for a in sys.argv[1:])
    asyncio.run(serve(listen_port, target_port, delay_ms / 1000.0))


if __name__ == "__main__":
    main()
