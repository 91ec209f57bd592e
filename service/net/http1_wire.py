"""HTTP/1.1 on the wire for the delivery client: one request out, one response head and body in.

httpcore drives h11 through a state machine of events per request; for small POSTs over
kept-alive connections that, with its locks and bookkeeping, was most of the delivery worker's
CPU. A client that sends a finished request and reads one response needs much less: the request
as one block of bytes, the status line and headers split once, and the body framed by
``Content-Length``, chunked coding or the end of the connection (RFC 9112, section 6).

Anything the parser does not understand is a ``ProtocolError``, and the connection it came on is
never reused: a response is only trusted as far as it was understood.
"""

import re
from dataclasses import dataclass

MAX_HEAD_BYTES = 64 * 1024  # status line and headers together
MAX_CHUNK_LINE_BYTES = 4 * 1024
NO_BODY_STATUSES = frozenset({204, 304})
# CR, LF and NUL end a header line early; in a name, so do space, tab and colon.
_BAD_VALUE = re.compile(rb"[\r\n\0]")
_BAD_NAME = re.compile(rb"[\r\n\0 \t:]")


class ProtocolError(Exception):
    """The peer sent something that is not HTTP/1.1 as this client reads it."""


class LocalProtocolError(Exception):
    """The request cannot be written as HTTP/1.1 (a header that would break the framing)."""


@dataclass(frozen=True)
class ResponseHead:
    """A parsed status line and header block, and how the body that follows is framed."""

    status_code: int
    reason: bytes
    http_version: bytes
    headers: list[tuple[bytes, bytes]]
    length: int | None  # bytes of body; None when chunked or until the connection closes
    chunked: bool
    keep_alive: bool  # the connection may carry another request after this body


def encode_request(
    method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[bytes, bool]:
    """The request as it goes on the wire, body included, so it leaves in one write; and whether
    it asked for the connection to close after it.

    A ``Transfer-Encoding`` header (httpx sets one for a streamed body) frames the body as one
    chunk; otherwise the caller's ``Content-Length`` does.
    """
    if _BAD_NAME.search(method) or _BAD_VALUE.search(target) or b" " in target:
        raise LocalProtocolError("the method or the request target is not valid HTTP")
    lines = [b"%s %s HTTP/1.1\r\n" % (method, target)]
    chunked = closes = False
    for name, value in headers:
        if not name or _BAD_NAME.search(name) or _BAD_VALUE.search(value):
            raise LocalProtocolError(f"the header {name!r} would break the request's framing")
        lines.append(b"%s: %s\r\n" % (name, value))
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            chunked = True
        elif lowered == b"connection":
            closes = closes or b"close" in value.lower()
    lines.append(b"\r\n")
    if chunked:
        if body:
            lines.append(b"%x\r\n%s\r\n" % (len(body), body))
        lines.append(b"0\r\n\r\n")
    else:
        lines.append(body)
    return b"".join(lines), closes


def find_head_end(buffer: bytearray) -> int:
    """Where the blank line ending the head starts, or -1 when it has not arrived yet."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0 and len(buffer) > MAX_HEAD_BYTES:
        raise ProtocolError(f"the response head is longer than {MAX_HEAD_BYTES} bytes")
    return end


def parse_head(head: bytes, *, method: bytes) -> ResponseHead:
    """Split the status line and headers (``head`` without its closing blank line)."""
    status_line, *header_lines = head.split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    code, _, reason = rest.partition(b" ")
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
    status_code = int(code)
    headers: list[tuple[bytes, bytes]] = []
    lengths: set[bytes] = set()
    codings: list[bytes] = []
    close = version == b"HTTP/1.0"  # 1.0 closes unless it says otherwise
    for line in header_lines:
        name, colon, value = line.partition(b":")
        if not colon or not name or _BAD_NAME.search(name):
            # Also refuses obsolete line folding (a line starting with a space or a tab).
            raise ProtocolError(f"not a header line: {line[:80]!r}")
        value = value.strip(b" \t")
        headers.append((name, value))
        lowered = name.lower()
        if lowered == b"content-length":
            lengths.update(part.strip(b" \t") for part in value.split(b","))
        elif lowered == b"transfer-encoding":
            codings.extend(part.strip(b" \t").lower() for part in value.split(b","))
        elif lowered == b"connection":
            tokens = {part.strip(b" \t").lower() for part in value.split(b",")}
            if b"close" in tokens:
                close = True
            elif b"keep-alive" in tokens and version == b"HTTP/1.0":
                close = False
    length: int | None
    chunked = False
    if method == b"HEAD" or status_code in NO_BODY_STATUSES or status_code < 200:
        length = 0
    elif codings:
        # Transfer-Encoding wins over Content-Length; a coding other than chunked last means the
        # body runs to the end of the connection.
        chunked = codings[-1] == b"chunked"
        length = None
        close = close or not chunked
    elif lengths:
        if len(lengths) != 1 or not (only := next(iter(lengths))).isdigit():
            raise ProtocolError("the Content-Length is not one whole number")
        length = int(only)
    else:
        length, close = None, True
    return ResponseHead(
        status_code=status_code,
        reason=reason,
        http_version=version,
        headers=headers,
        length=length,
        chunked=chunked,
        keep_alive=not close,
    )


def chunk_size(line: bytes) -> int:
    """The size on a chunk-size line, chunk extensions ignored."""
    size, _, _ = line.partition(b";")
    size = size.strip(b" \t")
    if not size or len(size) > 16 or not all(c in b"0123456789abcdefABCDEF" for c in size):
        raise ProtocolError(f"not a chunk size: {line[:40]!r}")
    return int(size, 16)
