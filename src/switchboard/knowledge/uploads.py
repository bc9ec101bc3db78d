"""A document request, as JSON or as a `multipart/form-data` upload of one `.txt` or `.md` file.

Both become the same `DocumentCreate`, validated the same way (a bad field is a 422 naming it). A file must be
UTF-8 text (a byte-order mark is dropped) without NUL characters; its name gives the default title (without
the extension) and format (`.md`/`.markdown`: Markdown). The `file` part may also be a plain form field holding
the text (a form without a file), then titled `Untitled` unless `title` says otherwise. The body's size is
bounded before it is read, by the request guard (SWITCHBOARD_MAX_BODY_BYTES); the document's, by the service.
"""

from __future__ import annotations

import json
from pathlib import PurePath
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from switchboard.kit.errors import BadRequest, ValidationFailed, not_json
from switchboard.knowledge.schemas import SOURCE_URL_PATTERN, TAG_PATTERN, TITLE_PATTERN, DocumentCreate
from switchboard.models.knowledge import DocumentFormat

EXTENSIONS = {".txt": DocumentFormat.TEXT, ".md": DocumentFormat.MARKDOWN, ".markdown": DocumentFormat.MARKDOWN}
FORM_FIELDS = ("title", "format", "source_url", "tags", "shared")
MAX_FORM_FIELDS = 32

_TAG = TAG_PATTERN.strip("^$")
# Empty fields are as good as absent (HTML forms send them); the patterns allow them.
UPLOAD_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["file"],
    "additionalProperties": False,
    "properties": {
        "file": {
            "type": "string",
            "contentMediaType": "text/markdown",
            "pattern": r"\S",
            "description": "The text: a .txt or .md file (UTF-8; `curl -F file=@notes.md`), or the text itself.",
        },
        "title": {
            "type": "string",
            "maxLength": 300,
            "pattern": f"^({TITLE_PATTERN.strip('^$')})?$",
            "description": "Default: the file's name without its extension (or `Untitled`).",
        },
        "format": {"type": "string", "enum": ["text", "markdown"], "description": "Default: from the extension."},
        "source_url": {"type": "string", "maxLength": 2048, "pattern": f"^({SOURCE_URL_PATTERN.strip('^$')})?$"},
        "tags": {
            "type": "string",
            "pattern": rf"^\s*({_TAG}\s*(,\s*{_TAG}\s*){{0,19}})?$",
            "description": "Comma-separated tags (up to 20).",
        },
        "shared": {"type": "boolean", "description": "Visible to every user (admins only)."},
    },
}


async def read_document_request(request: Request) -> DocumentCreate:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        return await _from_form(request)
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise not_json("unreadable") from None
    return _validated(data)


def _validated(data: Any) -> DocumentCreate:
    try:
        return DocumentCreate.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from None


async def _from_form(request: Request) -> DocumentCreate:
    try:
        # Fields beyond ours are ignored, up to a bound (each is buffered while the form is read).
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    except HTTPException as exc:  # a malformed form, or too many parts
        raise BadRequest(f"The form could not be read: {exc.detail}") from None
    upload = form.get("file")
    if isinstance(upload, UploadFile):
        name = upload.filename or ""
        extension = PurePath(name).suffix.lower()
        if name and extension not in EXTENSIONS:
            raise _invalid("file", f"{name!r} is not a .txt or .md file")
        text = _text_of(await upload.read())
    elif isinstance(upload, str):  # the text as a plain form field
        name, extension, text = "", "", _text_of(upload.encode())
    else:
        raise _invalid("file", "a .txt or .md file (or the text) is required in the form field `file`")
    fields: dict[str, Any] = {}
    for key in FORM_FIELDS:
        value = form.get(key)
        if isinstance(value, UploadFile):
            raise _invalid(key, "must be a form field, not a file")
        if value is not None and value != "":
            fields[key] = value
    data: dict[str, Any] = {
        "title": fields.get("title") or PurePath(name).stem or name or "Untitled",
        "text": text,
        "format": fields.get("format", EXTENSIONS.get(extension, DocumentFormat.TEXT)),
    }
    if "source_url" in fields:
        data["source_url"] = fields["source_url"]
    if "tags" in fields:
        data["tags"] = [tag.strip() for tag in str(fields["tags"]).split(",") if tag.strip()]
    if "shared" in fields:
        shared = str(fields["shared"]).strip().lower()
        if shared not in {"true", "false"}:
            raise _invalid("shared", "must be true or false")
        data["shared"] = shared == "true"
    return _validated(data)


def _text_of(content: bytes) -> str:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _invalid("file", "is not UTF-8 text") from None
    if "\x00" in text:
        raise _invalid("file", "contains a NUL character (\\u0000), which cannot be stored")
    return text


def _invalid(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", details=[{"field": field, "message": message}])
