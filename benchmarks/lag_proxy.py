#!/usr/bin/env python3
"""A TCP proxy that delays every byte by a fixed time each way: an API server across a network.

The local control plane answers in well under a millisecond, so it cannot show what running
reads beside each other saves against a cluster in another building or region. This proxy sits
between kubectl and the API server and holds each chunk it receives for ``--delay`` seconds
before passing it on, in both directions; chunks stay in order and are not held behind one
another, so the delay adds latency, not a bandwidth limit. TLS passes through untouched (the
server's certificate names 127.0.0.1, whatever the port).

Usage: python benchmarks/lag_proxy.py --target 127.0.0.1:PORT [--listen 22700] [--delay 0.010]
       then a copy of the kubeconfig with its server's port changed to the ``--listen`` port:
       sed 's/:PORT/:22700/' "$KUBECONFIG" > /tmp/lag-kubeconfig; KUBECONFIG=/tmp/lag-kubeconfig ...
"""

from __future__ import annotations

import argparse
import asyncio


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def send() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.create_task(send())
    try:
        while data := await reader.read(65536):
            queue.put_nowait((loop.time() + delay, data))
    except ConnectionError:
        pass
    queue.put_nowait((0.0, b""))
    await sender


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", required=True, help="HOST:PORT of the API server")
    parser.add_argument("--listen", type=int, default=22700, help="port to listen on, on 127.0.0.1")
    parser.add_argument("--delay", type=float, default=0.010, help="seconds added each way")
    args = parser.parse_args()
    host, _, port = args.target.rpartition(":")

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(
            _pipe(client_reader, server_writer, args.delay),
            _pipe(server_reader, client_writer, args.delay),
            return_exceptions=True,
        )

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", args.listen)
        print(f"127.0.0.1:{args.listen} -> {args.target}, {args.delay * 1000:g} ms each way", flush=True)
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
