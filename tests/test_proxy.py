"""SANDAN_PROXY: every Bot API call goes through an HTTP or SOCKS5 proxy, on both libraries."""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from bot.emulator import FakeBotAPI


@dataclass
class Proxy:
    """A small local proxy that counts what went through it."""

    kind: str
    port: int = 0
    seen: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return the proxy's URL for SANDAN_PROXY."""
        return f"{self.kind}://127.0.0.1:{self.port}"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(Exception):
        writer.close()


async def socks5(proxy: Proxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one SOCKS5 CONNECT (no authentication), then relay bytes both ways."""
    _version, methods = await reader.readexactly(2)
    await reader.readexactly(methods)
    writer.write(b"\x05\x00")
    _, command, _, kind = await reader.readexactly(4)
    if kind == 1:
        host = ".".join(str(b) for b in await reader.readexactly(4))
    else:
        host = (await reader.readexactly((await reader.readexactly(1))[0])).decode()
    (port,) = struct.unpack("!H", await reader.readexactly(2))
    assert command == 1
    proxy.seen.append(f"{host}:{port}")
    upstream_reader, upstream_writer = await asyncio.open_connection(host, port)
    writer.write(b"\x05\x00\x00\x01" + bytes(4) + struct.pack("!H", 0))
    await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))


async def http_proxy(
    proxy: Proxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve an HTTP proxy's requests: CONNECT tunnels, and plain requests by absolute URL."""
    async with aiohttp.ClientSession() as session:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ")
            if method == "CONNECT":
                proxy.seen.append(target)
                host, port = target.rsplit(":", 1)
                upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
                return
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            body = await reader.readexactly(int(headers.get("Content-Length", "0")))
            proxy.seen.append(target)
            sent = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
            sent.pop("Proxy-Connection", None)
            async with session.request(method, target, headers=sent, data=body) as answer:
                payload = await answer.read()
                writer.write(
                    f"HTTP/1.1 {answer.status} {answer.reason}\r\n"
                    f"Content-Type: {answer.headers.get('Content-Type', 'application/json')}\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()


@pytest.fixture
def served() -> Iterator[tuple[asyncio.AbstractEventLoop, FakeBotAPI]]:
    """Run the fake Bot API (and the proxies) on a loop in a thread, as a real server would."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    api = FakeBotAPI()
    asyncio.run_coroutine_threadsafe(api.start(), loop).result(5)
    try:
        yield loop, api
    finally:
        asyncio.run_coroutine_threadsafe(api.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def start_proxy(loop: asyncio.AbstractEventLoop, kind: str) -> Proxy:
    """Start a proxy of the kind on a free port, on the server loop."""
    proxy = Proxy(kind)
    serve = socks5 if kind == "socks5" else http_proxy

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await serve(proxy, reader, writer)

    async def start() -> int:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        return int(server.sockets[0].getsockname()[1])

    proxy.port = asyncio.run_coroutine_threadsafe(start(), loop).result(5)
    return proxy


@pytest.mark.parametrize("library", ["aiogram", "ptb"])
@pytest.mark.parametrize("kind", ["http", "socks5"])
def test_bot_api_calls_go_through_the_proxy(
    served: tuple[asyncio.AbstractEventLoop, FakeBotAPI],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    library: str,
    kind: str,
) -> None:
    """`sandan webhook info` reaches the Bot API through the proxy, whichever library."""
    loop, api = served
    proxy = start_proxy(loop, kind)
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "BOT_TOKEN": api.token,
        "API_BASE": api.base_url,
        "TELEGRAM_LIBRARY": library,
        "PROXY": proxy.url,
    }.items():
        monkeypatch.setenv(f"SANDAN_{name}", value)
    assert main(["webhook", "info"]) == 0, capsys.readouterr().err
    assert "url: (none: the bot polls)" in capsys.readouterr().out
    assert proxy.seen, "nothing went through the proxy"
    # A request by its absolute URL, or a tunnel to the Bot API's host and port.
    where = api.base_url.removeprefix("http://")
    assert all(seen.startswith(api.base_url) or seen == where for seen in proxy.seen)


@pytest.mark.parametrize("library", ["aiogram", "ptb"])
def test_an_unreachable_proxy_is_reported_as_such(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    library: str,
) -> None:
    """Nothing listens where the proxy should be: 'could not reach', and no password shown."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANDAN_BOT_TOKEN", "123456:TEST-TOKEN")
    monkeypatch.setenv("SANDAN_API_BASE", "http://127.0.0.1:9")
    monkeypatch.setenv("SANDAN_TELEGRAM_LIBRARY", library)
    monkeypatch.setenv("SANDAN_PROXY", "socks5://user:s3cret-pass@127.0.0.1:9")
    assert main(["webhook", "info"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("could not reach http://127.0.0.1:9")
    assert "s3cret-pass" not in err and "Traceback" not in err


def test_a_proxy_that_is_not_a_url_is_one_clear_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A wrong proxy setting: one line naming it and an example; the value is not echoed."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SANDAN_PROXY", "ftp://user:pw@proxy")
    assert main(["audit"]) == 2
    err = capsys.readouterr().err
    assert "SANDAN_PROXY" in err and "socks5://127.0.0.1:1080" in err and "pw@" not in err
