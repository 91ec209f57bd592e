"""Untrusted XML made safe to hand to feedparser: one decoding, and no entity declarations.

Entity declarations are how XML attacks work: billion laughs and quadratic blowup expand a small
document into gigabytes, and external entities (``SYSTEM "file:///etc/passwd"``) read local files
or make requests. No real feed needs them, so any document that declares an entity is refused
before a parser sees it.

The check must look at the same characters the parser will see. A document can declare a
multi-byte encoding (UTF-16, EBCDIC, UTF-7) in which ``<!ENTITY`` is not the ASCII bytes, so this
module decodes the document once, checks the text, and hands the parser UTF-8 with an encoding
declaration that says so; the parser can then never decode it differently from what was checked.
"""

import codecs
import re

_ENTITY_DECLARATION = re.compile(r"<!\s*ENTITY", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*?\?>", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(
    rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._:-]{1,40})[\"']"
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# "<?" (or "<" and a letter) in encodings that cannot be read as ASCII, when there is no BOM.
_SIGNATURES = (
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
    (b"\x4c\x6f\xa7\x94", "cp037"),  # "<?xm" in EBCDIC
)
UTF8_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'


class UnsafeXml(ValueError):
    """The document declares entities; it is refused without being parsed."""


def decode_document(body: bytes, *, charset: str | None = None) -> str:
    """The document's text: BOM, then byte signature, then HTTP charset, then XML declaration.

    Undecodable bytes become U+FFFD rather than failing: an ill-formed feed should still yield
    what can be recovered.
    """
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    for signature, encoding in _SIGNATURES:
        if body.startswith(signature):
            return body.decode(encoding, errors="replace")
    declared = _DECLARED_ENCODING.match(body)
    for candidate in (charset, declared.group(1).decode("ascii") if declared else None):
        if candidate and _known(candidate):
            return body.decode(candidate, errors="replace")
    return body.decode("utf-8", errors="replace")


def prepare_untrusted_xml(body: bytes, *, charset: str | None = None) -> bytes:
    """UTF-8 bytes safe to parse, or ``UnsafeXml`` if the document declares any entity."""
    text = decode_document(body, charset=charset)
    if _ENTITY_DECLARATION.search(text):
        raise UnsafeXml("document declares XML entities (<!ENTITY); refused before parsing")
    text = _XML_DECLARATION.sub("", text, count=1)
    return (UTF8_DECLARATION + text).encode("utf-8")


def _known(encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True
