"""Upload bodies: bytes, a binary file-like object, or an iterator of bytes, streamed in chunks; sent
again on a retry only when that is possible (bytes, or a file that can seek back)."""

from __future__ import annotations

from typing import Any, AsyncIterator, Callable, Iterator, Optional, Tuple

from ._base import CHUNK_SIZE


def _file_chunks(f: Any, chunk_size: int) -> Iterator[bytes]:
    while True:
        chunk = f.read(chunk_size)
        if not chunk:
            return
        if isinstance(chunk, str):
            raise TypeError("upload needs a binary file (opened with 'rb')")
        yield chunk


def sync_body(data: Any, chunk_size: int = CHUNK_SIZE) -> Tuple[Callable[[], Any], bool, Optional[int]]:
    """(a factory of the content for one attempt, whether it can be sent again, its length if known)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        return (lambda: raw), True, len(raw)
    if isinstance(data, str):
        raise TypeError("upload takes bytes, a binary file or an iterator of bytes: encode text first")
    if hasattr(data, "read"):
        start: Optional[int] = None
        try:
            if data.seekable():
                start = data.tell()
        except (AttributeError, OSError):
            start = None
        length: Optional[int] = None
        if start is not None:
            end = data.seek(0, 2)
            data.seek(start)
            length = end - start

        def from_file() -> Iterator[bytes]:
            if start is not None:
                data.seek(start)
            return _file_chunks(data, chunk_size)

        return from_file, start is not None, length
    if hasattr(data, "__iter__"):
        used = [False]

        def once() -> Iterator[bytes]:
            if used[0]:
                raise RuntimeError("an iterator body cannot be sent twice")
            used[0] = True
            return (bytes(c) for c in data)

        return once, False, None
    raise TypeError(f"cannot upload {type(data).__name__}: give bytes, a binary file or an iterator of bytes")


def async_body(data: Any, chunk_size: int = CHUNK_SIZE) -> Tuple[Callable[[], Any], bool, Optional[int]]:
    """As ``sync_body``, for httpx.AsyncClient: also takes an async iterator of bytes; a sync iterator or
    file is read in chunks from an async generator."""
    if hasattr(data, "__aiter__"):
        used = [False]

        def once_async() -> AsyncIterator[bytes]:
            if used[0]:
                raise RuntimeError("an async iterator body cannot be sent twice")
            used[0] = True

            async def gen() -> AsyncIterator[bytes]:
                async for c in data:
                    yield bytes(c)

            return gen()

        return once_async, False, None
    make, replayable, length = sync_body(data, chunk_size)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return make, replayable, length

    def wrapped() -> AsyncIterator[bytes]:
        it = make()

        async def gen() -> AsyncIterator[bytes]:
            for c in it:
                yield c

        return gen()

    return wrapped, replayable, length
