"""Attachments: the type comes from the content (magic bytes, and for ODT and
DOCX the zip members that define them), never from the name or the browser."""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from urllib.parse import quote

MAX_BYTES = 10 * 1024 * 1024
KINDS = ("plan", "budget", "support", "signatures", "other")

PDF = "application/pdf"
ODT = "application/vnd.oasis.opendocument.text"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
PNG = "image/png"
JPEG = "image/jpeg"
EXTENSIONS = {PDF: ".pdf", ODT: ".odt", DOCX: ".docx", PNG: ".png", JPEG: ".jpg"}
IMAGES = (PNG, JPEG)


def sniff(content: bytes) -> str | None:
    """The content type of an allowed file, or None."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"PK\x03\x04"):
        return _office(content)
    return None


def _office(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            names = set(z.namelist())
            if "mimetype" in names:
                info = z.getinfo("mimetype")
                if info.file_size <= 100 and z.read("mimetype").strip() == ODT.encode():
                    return ODT
                return None
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
        return None
    return None


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def clean_filename(name: str, content_type: str) -> str:
    """A displayable name: no path, no control characters, at most 200
    characters, ending in the extension of the sniffed type."""
    name = unicodedata.normalize("NFC", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = _UNSAFE.sub("_", name).strip(" .")
    if not name.strip("_"):
        name = "attachment"
    ext = EXTENSIONS[content_type]
    stem = name.rsplit(".", 1)[0] if "." in name else name
    return stem[: 200 - len(ext)] + ext


def content_disposition(filename: str, inline: bool) -> str:
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
