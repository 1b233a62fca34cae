"""Files the cabinet hands to the viewer: a Drive file read with the app's token, a file 1C:ZUP printed.

A Drive file (a local regulation, a certificate attached to a request) is read with ``disk.file.get`` and
fetched from its ``DOWNLOAD_URL``, which carries its own access token (Bitrix24 REST docs:
api-reference/disk/file/disk-file-get.md); the URL must point at the portal the client talks to.
"""
from __future__ import annotations

import io
import mimetypes
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import requests
from flask import Response, send_file

from b24app.bitrix import B24Client

MAX_BYTES = 25 * 1024 * 1024  # a scanned act of many pages; anything bigger is not a document to read on a phone
TIMEOUT = (5, 60)


class FileUnavailable(Exception):
    """The file cannot be given; the message is Russian, for the page, with the HTTP status to answer."""

    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class File:
    name: str
    mime: str
    content: bytes


def drive_file(client: B24Client, file_id: int) -> File:
    """A Drive file's name and content, read with the client's token."""
    found = client.call("disk.file.get", {"id": file_id}).result or {}
    url, name = str(found.get("DOWNLOAD_URL") or ""), str(found.get("NAME") or f"file-{file_id}")
    if not url or urlsplit(url).netloc != urlsplit(client.endpoint).netloc:
        raise FileUnavailable("Файл на Диске Битрикс24 недоступен приложению.")
    try:
        answer = requests.get(url, timeout=TIMEOUT, stream=True)
        answer.raise_for_status()
        content = answer.raw.read(MAX_BYTES + 1, decode_content=True)
    except requests.RequestException:
        raise FileUnavailable("Битрикс24 сейчас не отдал файл, попробуйте позже.", status=503) from None
    if len(content) > MAX_BYTES:
        raise FileUnavailable("Файл слишком большой, чтобы открыть его в кабинете: откройте его на Диске.")
    return File(name, mimetypes.guess_type(name)[0] or "application/octet-stream", content)


def send(file: File) -> Response:
    """The file as an attachment with its own (Cyrillic) name."""
    response = send_file(io.BytesIO(file.content), mimetype=file.mime or "application/octet-stream",
                         as_attachment=True, download_name=file.name)
    response.headers["X-File-Name"] = quote(file.name)  # read by the page: fetch() does not parse the disposition
    return response
