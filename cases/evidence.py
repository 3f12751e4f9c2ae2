"""Checks on evidence uploads: size, and type by content, not only by the file name."""

from __future__ import annotations

import codecs
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

# extension → (content type, leading bytes any one of which the file must start with)
_SIGNATURES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".gif": ("image/gif", (b"GIF87a", b"GIF89a")),
    ".webp": ("image/webp", (b"RIFF",)),
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)),
    ".mp4": ("video/mp4", ()),
    ".txt": ("text/plain", ()),
    ".csv": ("text/csv", ()),
}
ALLOWED_EXTENSIONS = sorted(_SIGNATURES)
# At most this many files in one finding, on the screens and through the API alike.
MAX_FILES_PER_FINDING = 20


def _looks_like_utf8_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        # Incremental, so a multi-byte character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return True


def check_evidence_file(upload: UploadedFile) -> str:
    """Return the content type to store, or raise ValidationError({'files': …})."""
    name = upload.name or ""
    ext = PurePath(name).suffix.lower()
    limit = settings.HUOYAN_EVIDENCE_MAX_BYTES
    if upload.size > limit:
        raise ValidationError(
            {"files": _("%(name)s is larger than %(limit)d MB.") % {"name": name, "limit": limit // 2**20}}
        )
    if ext not in _SIGNATURES:
        raise ValidationError(
            {"files": _("%(name)s: file type not allowed. Allowed: %(allowed)s.")
             % {"name": name, "allowed": ", ".join(ALLOWED_EXTENSIONS)}}
        )
    content_type, magics = _SIGNATURES[ext]
    head = upload.read(2048)
    upload.seek(0)
    if magics and not any(head.startswith(m) for m in magics):
        raise ValidationError({"files": _("%(name)s: the content is not a %(ext)s file.") % {"name": name, "ext": ext}})
    if ext == ".mp4" and head[4:8] != b"ftyp":
        raise ValidationError({"files": _("%(name)s: the content is not a %(ext)s file.") % {"name": name, "ext": ext}})
    if ext in (".txt", ".csv") and not _looks_like_utf8_text(head):
        raise ValidationError({"files": _("%(name)s: text files must be UTF-8.") % {"name": name}})
    return content_type
