"""Files: what the bot uploads and fake users send, photo sizes, getFile and downloads."""

from __future__ import annotations

import copy
import mimetypes

from aiohttp import web

from bot.emulator.errors import BotAPIError, bad, error_response
from bot.emulator.records import JSON, Serial, StoredFile, UploadedFile


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG image, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data[:4] == b"GIF8" and len(data) >= 10:
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(data[i + 5 : i + 7], "big")
                width = int.from_bytes(data[i + 7 : i + 9], "big")
                return width, height
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def fake_jpeg(width: int, height: int, salt: int = 0) -> bytes:
    """A tiny JPEG-shaped byte string whose SOF0 header carries the given size."""
    sof = b"\xff\xc0\x00\x11\x08" + height.to_bytes(2, "big") + width.to_bytes(2, "big")
    sof += b"\x03\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return b"\xff\xd8" + sof + b"FAKE" + salt.to_bytes(4, "big") + b"\xff\xd9"


def scaled(width: int, height: int, side: int) -> tuple[int, int]:
    """The size fitting within ``side`` pixels, keeping the aspect ratio (never enlarged)."""
    factor = min(1.0, side / max(width, height, 1))
    return max(1, round(width * factor)), max(1, round(height * factor))


class FileStore:
    """Every file the emulator knows, by file_id and by download path."""

    def __init__(self, serial: Serial, bot_id: int) -> None:
        self.serial = serial
        self.bot_id = bot_id
        self.files: dict[str, StoredFile] = {}
        self.paths: dict[str, StoredFile] = {}
        self.photo_sets: dict[str, list[JSON]] = {}
        self.durations: dict[str, int] = {}  # seconds of the voice, video note and audio clips

    def _new_file_ids(self) -> tuple[str, str]:
        n = self.serial.next()
        return f"AgAD{n:06d}fake{self.bot_id}", f"AQAD{n:06d}"

    def store(
        self,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        """Keep a file under new ids and a download path."""
        file_id, unique_id = self._new_file_ids()
        folder = {"photo": "photos", "document": "documents", "voice": "voice"}.get(
            kind, kind + "s"
        )
        default_ext = {"photo": ".jpg", "voice": ".oga", "sticker": ".webp"}.get(kind, "")
        ext = ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        path = f"{folder}/file_{self.serial.value}{ext or default_ext}"
        stored = StoredFile(
            file_id, unique_id, kind, data, path, file_name, mime_type, width, height
        )
        self.files[file_id] = stored
        self.paths[path] = stored
        return stored

    def photo_size(self, data: bytes, width: int, height: int) -> JSON:
        """Keep one size of a photo and return its PhotoSize object."""
        stored = self.store("photo", data, mime_type="image/jpeg", width=width, height=height)
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(data),
            "width": width,
            "height": height,
        }

    def document_object(self, stored: StoredFile) -> JSON:
        """The Document object of a stored file."""
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    def photo_sizes(self, ref: UploadedFile | str) -> list[JSON]:
        """The PhotoSize set for a photo the bot sends: an upload, a URL or a known file_id."""
        if isinstance(ref, UploadedFile):
            if not ref.data:
                raise bad("file must be non-empty")
            data = ref.data
            width, height = image_size(data) or (800, 600)
        elif ref.startswith(("http://", "https://")):
            width, height = 800, 600
            data = fake_jpeg(width, height, self.serial.value)
        else:
            known = self.photo_sets.get(ref)
            if known is not None:
                return copy.deepcopy(known)
            stored = self.files.get(ref)
            if stored is None:
                raise bad("wrong file identifier/HTTP URL specified")
            if stored.kind != "photo":
                raise bad("type of file mismatch")
            data = stored.data
            width, height = stored.width or 800, stored.height or 600
        small_w, small_h = scaled(width, height, 320)
        big_w, big_h = scaled(width, height, 1280)
        sizes = [self.photo_size(data, small_w, small_h)]
        if (big_w, big_h) != (small_w, small_h):
            sizes.append(self.photo_size(data, big_w, big_h))
        for size in sizes:
            self.photo_sets[size["file_id"]] = sizes
        if isinstance(ref, str) and ref in self.files:
            self.photo_sets[ref] = sizes
        return copy.deepcopy(sizes)

    def document(self, ref: UploadedFile | str) -> StoredFile:
        """The file for a document the bot sends: an upload, a URL or a known file_id."""
        if isinstance(ref, UploadedFile):
            if not ref.data:
                raise bad("file must be non-empty")
            mime = ref.content_type or mimetypes.guess_type(ref.filename)[0]
            return self.store("document", ref.data, file_name=ref.filename, mime_type=mime)
        if ref.startswith(("http://", "https://")):
            file_name = ref.rstrip("/").rsplit("/", 1)[-1] or "file"
            return self.store("document", b"downloaded", file_name=file_name, mime_type=None)
        known = self.files.get(ref)
        if known is None:
            raise bad("wrong file identifier/HTTP URL specified")
        if known.kind != "document":
            raise bad("type of file mismatch")
        return known

    def clip(self, ref: UploadedFile | str, kind: str, duration: float | None) -> JSON:
        """The Voice, VideoNote or Audio object of a clip the bot sends: a file_id or an upload."""
        if isinstance(ref, UploadedFile):
            if not ref.data:
                raise bad("file must be non-empty")
            stored = self.store(kind, ref.data, file_name=ref.filename, mime_type=ref.content_type)
        else:
            known = self.files.get(ref)
            if known is None:
                raise bad("wrong file identifier/HTTP URL specified")
            if known.kind != kind:
                raise bad("type of file mismatch")
            stored = known
        seconds = int(duration) if duration is not None else self.durations.get(stored.file_id, 0)
        clip: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": seconds,
            "file_size": len(stored.data),
        }
        if kind == "video_note":
            clip["length"] = 240
        elif stored.mime_type:
            clip["mime_type"] = stored.mime_type
        return clip

    def get_file(self, file_id: str) -> JSON:
        """The File object getFile answers, with the path to download it."""
        stored = self.files.get(file_id)
        if stored is None:
            raise bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    def download(self, request: web.Request, token: str) -> web.Response:
        """Serve ``/file/bot<token>/<path>`` as Telegram's file server does."""
        if request.match_info["token"] != token:
            return error_response(BotAPIError(401, "Unauthorized"))
        stored = self.paths.get(request.match_info["path"])
        if stored is None:
            return error_response(BotAPIError(404, "Not Found"))
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )
