"""Content-Encoding decoders that never produce more than they are allowed to.

httpx decompresses a whole network chunk at once, so one 64 KiB chunk of a gzip bomb can inflate to
tens of megabytes before a caller counting decoded bytes gets a chance to stop. These decoders take
a budget with every chunk (zlib's ``max_length``), so memory stays bounded by the body cap itself.
"""

import zlib
from typing import Protocol


class UnsupportedEncoding(ValueError):
    """The server used a Content-Encoding we did not offer and cannot decode safely."""


class BodyDecoder(Protocol):
    def decode(self, data: bytes, limit: int) -> bytes:
        """Decoded bytes of ``data``, at most ``limit`` of them; exactly ``limit`` means "more"."""
        ...

    def finished(self) -> bool:
        """Whether the encoded stream ended properly (a truncated gzip stream did not)."""
        ...


class _Identity:
    def decode(self, data: bytes, limit: int) -> bytes:
        return data[:limit]

    def finished(self) -> bool:
        return True


class _Zlib:
    """gzip (``wbits=31``) or deflate; deflate is zlib-wrapped by the RFC but raw in the wild."""

    def __init__(self, *, gzip: bool) -> None:
        self._gzip = gzip
        self._raw_fallback = not gzip
        self._started = False
        self._stream = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)

    def decode(self, data: bytes, limit: int) -> bytes:
        out = bytearray()
        pending = data
        while pending and len(out) < limit:
            if self._stream.eof:
                # gzip allows several members back to back; anything else after the end is junk.
                if not self._gzip or not self._stream.unused_data.startswith(b"\x1f\x8b"):
                    break
                pending = self._stream.unused_data
                self._stream = zlib.decompressobj(zlib.MAX_WBITS | 16)
            try:
                out += self._stream.decompress(pending, limit - len(out))
            except zlib.error:
                if not self._raw_fallback or self._started:
                    raise
                self._raw_fallback = False
                self._stream = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._started = True
            pending = self._stream.unconsumed_tail or (
                self._stream.unused_data if self._stream.eof else b""
            )
        return bytes(out)

    def finished(self) -> bool:
        return self._stream.eof


def decoder_for(content_encoding: str | None) -> BodyDecoder:
    """The decoder for a Content-Encoding header; only what our Accept-Encoding offers."""
    codings = [
        coding.strip().lower()
        for coding in (content_encoding or "").split(",")
        if coding.strip() and coding.strip().lower() != "identity"
    ]
    if not codings:
        return _Identity()
    if len(codings) == 1 and codings[0] in ("gzip", "x-gzip"):
        return _Zlib(gzip=True)
    if len(codings) == 1 and codings[0] == "deflate":
        return _Zlib(gzip=False)
    raise UnsupportedEncoding(f"unsupported Content-Encoding {content_encoding!r}")
