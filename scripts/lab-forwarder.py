"""A TCP relay for the two-proxy lab: each argument LISTEN_PORT=HOST:PORT accepts connections on
LISTEN_PORT and relays each one, both ways, to HOST:PORT (the proxies' floating address). It runs in
a container on the lab network (scripts/lab.sh), so 127.0.0.1:8080 on the laptop reaches whichever
proxy holds the address; a connection the holder drops is closed on the laptop's side too, as a
browser would see it.

  python3 lab-forwarder.py 8080=10.213.48.200:80 8443=10.213.48.200:443
"""

import asyncio
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


def relay_to(host, port):
    async def relay(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=5)
        except (OSError, asyncio.TimeoutError):
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, upstream_writer), pipe(upstream_reader, client_writer))
    return relay


async def main(pairs):
    servers = []
    for pair in pairs:
        listen, _, target = pair.partition("=")
        host, _, port = target.rpartition(":")
        servers.append(await asyncio.start_server(relay_to(host, int(port)), "0.0.0.0", int(listen)))
        print(f"lab-forwarder: :{listen} -> {host}:{port}", flush=True)
    await asyncio.gather(*(server.serve_forever() for server in servers))


if __name__ == "__main__":
    if len(sys.argv) < 2 or any("=" not in pair for pair in sys.argv[1:]):
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1:]))
