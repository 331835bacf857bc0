"""Which MARC serialisation a file is in, told from its first bytes, and opening it.

Formats: ``iso2709`` (binary MARC: ``.mrc``, ``.iso``, ``.dat``, ``.marc``), ``marcxml``
(one record or a collection, with or without the MARC 21 slim namespace), ``json``
(MARC-in-JSON: one object, an array of objects, or one object per line) and ``mrk``
(MarcEdit / LC MARCMaker mnemonic text). Any of them may be gzip-compressed; the stream is
decompressed on the fly, never into memory.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import sys
import zlib
from pathlib import Path
from typing import BinaryIO

from marc.errors import UnknownFormat, UnusableInput
from marc.iso2709 import LEADER_START

FORMATS = ("iso2709", "marcxml", "json", "mrk")
_ALIASES = {
    "iso2709": "iso2709",
    "iso": "iso2709",
    "mrc": "iso2709",
    "marc": "iso2709",
    "marc21": "iso2709",
    "usmarc": "iso2709",
    "dat": "iso2709",
    "binary": "iso2709",
    "marcxml": "marcxml",
    "xml": "marcxml",
    "json": "json",
    "marc-in-json": "json",
    "marcjson": "json",
    "mij": "json",
    "ndjson": "json",
    "mrk": "mrk",
    "marcedit": "mrk",
    "mnemonic": "mrk",
    "marcmaker": "mrk",
}
_SNIFF = 4096
_MRK_LINE = re.compile(rb"=(LDR|[0-9A-Za-z]{3})  ")


def canonical_format(name: str) -> str:
    """The canonical name of a user-given format (``"xml"`` → ``"marcxml"``).

    ``"auto"`` stays ``"auto"``; raises :class:`UnknownFormat` for anything else unknown.
    """
    key = name.strip().lower()
    if key in ("", "auto"):
        return "auto"
    if key in _ALIASES:
        return _ALIASES[key]
    raise UnknownFormat(f"unknown format {name!r}; use one of: auto, {', '.join(FORMATS)}")


def sniff(head: bytes) -> str | None:
    """The format of data starting with ``head`` (already decompressed), or None."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n\x00")
    if not text:
        return None
    first = text[:1]
    if first == b"<":
        return "marcxml"
    if first in (b"[", b"{"):
        return "json"
    if _MRK_LINE.match(text):
        return "mrk"
    if LEADER_START.match(text) or b"\x1d" in text or b"\x1e" in text:
        return "iso2709"
    return None


class _Prefixed(io.RawIOBase):
    """A raw stream that replays already-read bytes before the rest of another stream.

    A read of the rest that fails (a gzip stream that ends early or fails its CRC check, an
    I/O error) raises :class:`UnusableInput` naming ``name`` and how far the content was
    read, so that a reader part-way through a file stops with a sentence, not a traceback.
    """

    def __init__(self, head: bytes, rest: BinaryIO, name: str = "<stream>") -> None:
        self._head = head
        self._rest = rest
        self._name = name
        self._served = 0
        self._read = getattr(rest, "read1", rest.read)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            self._served += n
            return n
        try:
            # read1: one read underneath. GzipFile.read(n) gathers several and drops them all
            # when the last fails, as the end of a stream with a bad CRC does.
            data = self._read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:
            raise UnusableInput(
                f"{self._name} is damaged after {self._served:,} bytes of its content ({exc}): "
                "the records before that point were read, none after it"
            ) from exc
        n = len(data)
        buffer[:n] = data
        self._served += n
        return n

    def close(self) -> None:
        try:
            self._rest.close()
        finally:
            super().close()


class _Stream(io.BufferedReader):
    """The buffered stream readers get: a ``read`` that stops part-way (a damaged gzip
    stream, an I/O error) returns the bytes it has first, and raises on the next call.

    ``BufferedReader.read(n)`` gathers several raw reads and drops what it gathered when one
    fails: the records just before the damage would be lost although they arrived whole.
    """

    _failure: UnusableInput | None = None

    def read(self, size: int | None = -1) -> bytes:
        if self._failure is not None:
            raise self._failure
        if size is None or size < 0:
            size = sys.maxsize
        parts: list[bytes] = []
        wanted = size
        while wanted > 0:
            try:
                data = self.read1(min(wanted, 1 << 20))
            except UnusableInput as exc:
                if not parts:
                    raise
                self._failure = exc
                break
            if not data:
                break
            parts.append(data)
            wanted -= len(data)
        return b"".join(parts)


class MarcInput:
    """An opened MARC input: a buffered, decompressed binary stream and its format.

    Use as a context manager; closing it closes the file it opened (a file object passed
    in by the caller is closed too, as the stream wraps it).
    """

    def __init__(self, stream: io.BufferedReader, fmt: str, name: str, compressed: bool):
        self.stream = stream
        self.format = fmt
        self.name = name
        self.compressed = compressed

    def close(self) -> None:
        """Close the stream and the file under it."""
        self.stream.close()

    def __enter__(self) -> MarcInput:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_input(source: str | os.PathLike[str] | BinaryIO, fmt: str = "auto") -> MarcInput:
    """Open ``source`` (a path or a binary file object) for reading MARC.

    Gzip is recognised by its magic bytes. ``fmt`` is a format name or ``"auto"`` to sniff
    the content. Raises :class:`UnusableInput` when the file cannot be opened, is empty,
    is a broken gzip stream, or (with ``"auto"``) is in no MARC format.
    """
    fmt = canonical_format(fmt)
    if isinstance(source, (str, os.PathLike)):
        name = str(source)
        try:
            raw: BinaryIO = open(Path(source), "rb")  # noqa: SIM115 (closed by MarcInput)
        except OSError as exc:
            raise UnusableInput(f"cannot open {name}: {exc.strerror or exc}") from exc
    else:
        raw = source
        name = getattr(source, "name", "<stream>")
    try:
        magic = raw.read(2)
        compressed = magic == b"\x1f\x8b"
        base: BinaryIO = io.BufferedReader(_Prefixed(magic, raw, name))  # type: ignore[assignment]
        if compressed:
            base = gzip.GzipFile(fileobj=base, mode="rb")  # type: ignore[assignment]
        head = base.read(_SNIFF)
        stream = _Stream(_Prefixed(head, base, name), buffer_size=1 << 16)  # type: ignore[arg-type]
    except UnusableInput:
        raw.close()
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raw.close()
        raise UnusableInput(f"{name}: not a readable file or gzip stream ({exc})") from exc
    if not head.strip(b" \t\r\n\x00"):
        stream.close()
        raise UnusableInput(f"{name} is empty")
    if fmt == "auto":
        detected = sniff(head)
        if detected is None:
            stream.close()
            raise UnusableInput(
                f"{name} is not in a MARC format this system reads "
                f"(ISO 2709, MARCXML, MARC-in-JSON, MarcEdit .mrk)"
            )
        fmt = detected
    return MarcInput(stream, fmt, name, compressed)
