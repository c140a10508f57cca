"""Downloading a released GANSynth checkpoint: resumable, verified, unpacked atomically.

Nothing half-done ever appears under the model's name. The zip grows in
`<dest>.zip.part` beside the destination, with `<dest>.zip.part.json` recording where
it came from and the server's validator (ETag or Last-Modified), so an interrupted run
(even a SIGKILL) leaves both and the next run resumes with a Range request guarded by
If-Range: a file that changed on the server restarts instead of being spliced. A
`.part` without that record is someone else's file (a browser names its partial
downloads the same way) and is never resumed or deleted.

The download is capped (announced and actual size, `max_bytes`) and checked against
the free space before it starts; redirects are followed only to the same host name and
never from https to http, unless a host is allowed by name. The zip is then checked
(size, optional sha256, every member: archive.py), unpacked into a hidden folder beside
the destination, validated as a model, marked with `.gansynth-live-model.json` (source
URL, sizes, the files written) and only then renamed into place. An existing folder is
replaced only if it carries that marker and holds nothing the marker does not list:
`--force` never deletes a folder this tool did not write. Uses urllib from the
standard library: no extra dependency for a download that runs once per model.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.error import HTTPError, URLError
from urllib.parse import urljoin, urlsplit
from urllib.request import HTTPRedirectHandler, Request, build_opener

from tqdm import tqdm

from .. import __version__
from ..errors import DownloadError, ModelLoadError
from . import archive as zips

CHUNK_BYTES = 1 << 18
TIMEOUT_S = 30.0  # per connect and per read: a stalled server fails instead of hanging
DEFAULT_MAX_BYTES = 2 << 30  # a released zip is several hundred MB; this is a ceiling
MARKER = ".gansynth-live-model.json"  # in a model folder this tool wrote
STAGING_MARKER = ".gansynth-live-staging"  # in an unpack folder, until it is renamed
WRITTEN_BY = "gansynth-live"
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_UNSIZED_RANGE = re.compile(r"^bytes \*/(\d+)$")


class RejectedDownloadError(DownloadError):
    """The downloaded file itself is wrong, so keeping it to resume would not help."""


@dataclass(frozen=True)
class PartRecord:
    """What `<part>.json` says about the bytes in `<part>`: enough to resume safely."""

    url: str  # what was asked for
    source: str  # where the bytes came from, after redirects
    validator: str | None  # strong ETag or Last-Modified, sent back as If-Range
    total: int | None  # the size the server announced


def destination(path: str | Path) -> Path:
    """`path` as an absolute folder name; '/', '.' and the like are refused.

    The part file and the staging folder are named after the destination, beside it,
    so it must have a name and a parent.
    """
    dest = Path(os.path.abspath(Path(path).expanduser()))
    if not dest.name:
        raise DownloadError(f"'{path}' cannot be a model folder: name a folder to create, "
                            "e.g. --dest ~/models/acoustic_only")
    return dest


def part_path(dest: Path) -> Path:
    """Where the zip for `dest` grows until it is complete (kept across runs)."""
    return dest.with_name(dest.name + ".zip.part")


def record_path(part: Path) -> Path:
    """The record beside `part` that makes it ours (see PartRecord)."""
    return part.with_name(part.name + ".json")


def fetch_model(url: str, dest: str | Path, *, sha256: str | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES, redirect_hosts: Iterable[str] = (),
                progress: bool = True) -> Path:
    """Download the zip at `url` and make its model folder appear as `dest`.

    Resumes a `.part` left by an earlier run. A zip that fails a check is deleted
    (downloading the same bytes again cannot fix it); a disk error keeps it, so the
    next run does not start over. An existing `dest` is replaced only at the end, and
    only if check_replaceable allows it (checked before the download and again just
    before the swap, since the download may take an hour).
    """
    dest = destination(dest)
    part = part_path(dest)
    with _disk_errors(dest.parent):
        dest.parent.mkdir(parents=True, exist_ok=True)
    check_replaceable(dest)
    with _disk_errors(dest.parent):
        _remove_stale_staging(dest)
    source = download(url, part, max_bytes=max_bytes, redirect_hosts=redirect_hosts,
                      progress=progress)
    try:
        if sha256:
            _check_sha256(part, sha256, source)
        staging, files = _unpack(part, dest, source, max_bytes)
    except zips.ArchiveError as exc:
        _discard_part(part)
        advice = ", run again to fetch it afresh" if exc.retry else ""
        raise RejectedDownloadError(f"{exc}; the download was deleted{advice}") from None
    except RejectedDownloadError:
        _discard_part(part)
        raise
    try:
        with _disk_errors(dest.parent):
            _write_marker(staging, url=url, source=source, zip_bytes=part.stat().st_size,
                          files=files)
            (staging / STAGING_MARKER).unlink()  # the model marker now says it is ours
        check_replaceable(dest)
        with _disk_errors(dest):
            _install(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _discard_part(part)
    return dest


def check_model_dir(path: Path) -> None:
    """Raise ModelLoadError unless `path` has a readable config and a checkpoint.

    Cheap (no weights are read), so it runs on every fetch before the folder
    becomes visible, and on an existing folder before a fetch is skipped.
    """
    from .checkpoint import find_checkpoint
    from .config import read_config

    find_checkpoint(path)
    read_config(path)


def read_marker(folder: Path) -> dict | None:
    """The marker fetch_model left in `folder`, or None if it has none (or a bogus one)."""
    marker = folder / MARKER
    if folder.is_symlink() or marker.is_symlink() or not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if (not isinstance(data, dict) or data.get("written_by") != WRITTEN_BY
            or not isinstance(data.get("files"), dict)):
        return None
    return data


def check_replaceable(dest: Path) -> None:
    """Raise DownloadError unless `dest` is absent or a model folder this tool wrote.

    A folder counts only if it carries the marker and holds no file the marker does
    not list: a --dest typed wrong (a music folder, a home folder) is refused, and so
    is a model folder someone has since put their own files into.
    """
    if not (dest.exists() or dest.is_symlink()):
        return
    if dest.is_symlink():
        raise DownloadError(f"'{dest}' is a symbolic link; refusing to replace it (remove "
                            "the link yourself or pick another --dest)")
    marker = read_marker(dest) if dest.is_dir() else None
    if marker is None:
        raise DownloadError(f"'{dest}' is not a model folder gansynth-live wrote (no {MARKER}"
                            " in it); refusing to replace it: remove it yourself or pick "
                            "another --dest")
    extra = _first_unlisted(dest, marker["files"])
    if extra is not None:
        raise DownloadError(f"'{dest}' holds '{extra}', which gansynth-live did not write; "
                            "refusing to replace the folder: move that out first")


def _first_unlisted(folder: Path, files: dict) -> str | None:
    """The first file or link under `folder` that is neither listed nor the marker."""
    def fail(exc: OSError) -> None:
        raise DownloadError(f"cannot read '{exc.filename}': {exc.strerror or exc}")

    for here, dirs, names in os.walk(folder, onerror=fail):
        base = Path(here)
        for name in dirs:
            if (base / name).is_symlink():  # os.walk lists a linked folder as a folder
                return (base / name).relative_to(folder).as_posix()
        for name in names:
            relative = (base / name).relative_to(folder).as_posix()
            if relative != MARKER and (relative not in files or (base / name).is_symlink()):
                return relative
    return None


def discard_part(dest: Path) -> bool:
    """Delete the partial download for `dest` if this tool started it; True if it did."""
    part = part_path(dest)
    if read_record(part) is None:
        return False
    _discard_part(part)
    return True


def read_record(part: Path) -> PartRecord | None:
    """The record beside `part`, or None if there is none or it is not ours."""
    path = record_path(part)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("written_by") != WRITTEN_BY:
            return None
        record = PartRecord(**data)
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not (isinstance(record.url, str) and isinstance(record.source, str)
            and isinstance(record.validator, (str, type(None)))
            and isinstance(record.total, (int, type(None)))):
        return None
    return record


def download(url: str, part: Path, *, max_bytes: int = DEFAULT_MAX_BYTES,
             redirect_hosts: Iterable[str] = (), progress: bool = True) -> str:
    """Complete `part` from `url`, resuming from the bytes it already holds.

    Returns the URL the bytes came from (after redirects), to tell the user.
    """
    record = _own_part(part)
    if record is not None and record.url != url:
        _discard_part(part)  # a part of another URL's file
        record = None
    offset = part.stat().st_size if record else 0
    headers = {"User-Agent": f"gansynth-live/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if record.validator:
            headers["If-Range"] = record.validator  # a changed file comes back whole

    def again() -> str:
        return download(url, part, max_bytes=max_bytes, redirect_hosts=redirect_hosts,
                        progress=progress)

    try:
        response = _open(url, headers, redirect_hosts, progress)
    except HTTPError as exc:
        with exc:
            source = exc.geturl() or url
            if exc.code == 416 and offset:  # asked past the end of the file
                match = _UNSIZED_RANGE.match(exc.headers.get("Content-Range", ""))
                if match and int(match.group(1)) == offset:
                    return record.source  # an earlier run got every byte, then stopped
                _discard_part(part)  # the remote file is smaller than our part
                return again()
            raise DownloadError(f"{source}: the server answered HTTP {exc.code} "
                                f"{exc.reason}") from None
    except ValueError as exc:  # urllib's word for a malformed URL
        raise DownloadError(f"cannot download {url!r}: {exc}") from None
    except (URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        if url.lower().startswith("file:"):
            raise DownloadError(f"cannot read {url} ({reason})") from None
        raise DownloadError(
            f"cannot reach {url} ({reason}); this machine may be offline: download the zip "
            "elsewhere and pass --url file:///path/to/the.zip (or --url with a mirror)"
        ) from None
    with response:
        source = response.geturl() or url
        start, total = _resume_point(response, offset)
        if start is None:  # a partial answer that does not continue our part
            if not offset:
                raise DownloadError(f"{source}: the server sent part of the file without "
                                    "being asked; try again later or use another --url")
            _discard_part(part)
            return again()
        if start and total is not None and record.total not in (None, total):
            _discard_part(part)  # no validator, but the size changed: another file
            return again()
        validator = _validator(response.headers)
        if offset and not start and progress:
            changed = record.validator and validator != record.validator
            tqdm.write(f"{source}: " + ("the file changed on the server since the partial "
                                        "download" if changed else
                                        "the server does not resume downloads")
                       + "; starting over", file=sys.stderr)
        _check_room(total, start, offset - start, max_bytes, part.parent, source)
        if not start:
            with _disk_errors(part):
                part.unlink(missing_ok=True)  # before the new record: never old bytes
                _write_record(part, PartRecord(url, source, validator, total))
        try:
            with _disk_errors(part), open(part, "ab" if start else "wb") as out, tqdm(
                    total=total, initial=start, unit="B", unit_scale=True,
                    unit_divisor=1024, desc=part.name.removesuffix(".zip.part"),
                    disable=not progress) as bar:
                _copy(response, out, bar, source, max_bytes, total)
        except RejectedDownloadError:
            _discard_part(part)
            raise
    size = part.stat().st_size
    if total is not None and size < total:
        raise DownloadError(f"the download from {source} broke off after {size} of {total} "
                            "bytes; run the same command again to resume it")
    if total is not None and size > total:
        _discard_part(part)
        raise RejectedDownloadError(f"{source}: got {size} bytes but the server announced "
                                    f"{total}; the download was deleted, run again")
    return source


def redirect_refusal(origin: str, previous: str, target: str,
                     allowed_hosts: Iterable[str] = ()) -> str | None:
    """Why following `previous` -> `target` is refused, or None to follow it.

    Allowed: the host name of `origin` (the URL the user gave, any port), or a host
    named in `allowed_hosts`; always http(s), and never from https to plain http (a
    redirect must not undo the encryption the user asked for).
    """
    old, new = urlsplit(previous), urlsplit(target)
    if new.scheme not in ("http", "https"):
        return f"{previous} redirects to {target}, which is not an http(s) URL; refused"
    if old.scheme == "https" and new.scheme != "https":
        return f"{previous} redirects from https to plain http ({target}); refused"
    host = (new.hostname or "").lower()
    allowed = {(urlsplit(origin).hostname or "").lower()}
    allowed.update(h.lower() for h in allowed_hosts)
    if host not in allowed:
        return (f"{previous} redirects to another host, {target}; refused (pass "
                f"--allow-redirect-host {host} to follow it)")
    return None


class _CheckedRedirects(HTTPRedirectHandler):
    """urllib's redirect handling, for the redirects redirect_refusal lets through.

    Checked before urllib looks at the Location itself, so every refusal (ftp:,
    file:, another host, https to http) reads the same way.
    """

    def __init__(self, origin: str, allowed_hosts: Iterable[str],
                 notify: Callable[[str], None] | None) -> None:
        super().__init__()
        self.origin = origin
        self.allowed_hosts = tuple(allowed_hosts)
        self.notify = notify

    def http_error_302(self, req, fp, code, msg, headers):
        location = headers.get("location") or headers.get("uri")
        if location:
            target = urljoin(req.full_url, location)
            refusal = redirect_refusal(self.origin, req.full_url, target, self.allowed_hosts)
            if refusal:
                fp.close()
                raise DownloadError(refusal)
            if self.notify:
                self.notify(f"redirected to {target}")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def _open(url: str, headers: dict[str, str], redirect_hosts: Iterable[str], progress: bool):
    """urlopen, with redirects limited by redirect_refusal."""
    notify = (lambda line: tqdm.write(line, file=sys.stderr)) if progress else None
    opener = build_opener(_CheckedRedirects(url, redirect_hosts, notify))
    return opener.open(Request(url, headers=headers), timeout=TIMEOUT_S)


def _own_part(part: Path) -> PartRecord | None:
    """The record of our partial download, None if there is none; refuse a stranger's."""
    if not (part.exists() or part.is_symlink()):
        return None
    record = read_record(part)
    if record is None or part.is_symlink() or not part.is_file():
        raise DownloadError(f"'{part}' is in the way: gansynth-live did not start that "
                            f"download (no '{record_path(part).name}' beside it); move it "
                            "away or pick another --dest")
    return record


def _discard_part(part: Path) -> None:
    """Delete our partial download and its record (the part first: never bytes unrecorded)."""
    with _disk_errors(part.parent):
        part.unlink(missing_ok=True)
        record_path(part).unlink(missing_ok=True)


def _write_record(part: Path, record: PartRecord) -> None:
    tmp = record_path(part).with_name(record_path(part).name + ".tmp")
    tmp.write_text(json.dumps({"written_by": WRITTEN_BY, **asdict(record)}), encoding="utf-8")
    os.replace(tmp, record_path(part))


def _validator(headers) -> str | None:
    """What If-Range may carry: a strong ETag, else Last-Modified (a weak ETag may not)."""
    etag = headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return headers.get("Last-Modified") or None


def _free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def _check_room(total: int | None, start: int, freed: int, max_bytes: int, folder: Path,
                source: str) -> None:
    """Refuse an announced size over the cap or over the free space, before writing."""
    if total is None:
        return  # unknown: the cap is enforced while the bytes arrive
    if total > max_bytes:
        raise DownloadError(f"{source} announces {total} bytes, more than the limit of "
                            f"{max_bytes} (pass --max-bytes to allow more)")
    with _disk_errors(folder):
        free = _free_bytes(folder) + freed
    if total - start > free:
        raise DownloadError(f"the download from {source} needs {(total - start) / 1e6:.0f} "
                            f"MB in '{folder}' but only {free / 1e6:.0f} MB are free")


def _resume_point(response, offset: int) -> tuple[int | None, int | None]:
    """(first byte this response carries, total size or None); start None = unusable."""
    status = getattr(response, "status", None)  # None for file:// URLs
    if status == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != offset:
            return None, None
        return offset, None if match.group(3) == "*" else int(match.group(3))
    length = response.headers.get("Content-Length")
    return 0, int(length) if length and length.isdigit() else None


def _copy(response, out, bar: tqdm, source: str, max_bytes: int, total: int | None) -> None:
    """Stream the body to `out`; a network failure keeps what arrived for resuming.

    More bytes than the cap (or than announced) is the file's fault, not the network's:
    RejectedDownloadError, and the caller deletes the part.
    """
    limit = max_bytes if total is None else min(max_bytes, total)
    while True:
        try:
            chunk = response.read(CHUNK_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            out.flush()
            raise DownloadError(
                f"the download from {source} broke off after {out.tell()} bytes "
                f"({type(exc).__name__}: {exc}); run the same command again to resume it"
            ) from None
        if not chunk:
            return
        if out.tell() + len(chunk) > limit:
            what = "announced" if total is not None and total <= max_bytes else "allowed"
            raise RejectedDownloadError(
                f"{source} sent more than the {limit} bytes {what}"
                + (" (pass --max-bytes to allow more)" if what == "allowed" else "")
                + "; the download was deleted")
        out.write(chunk)
        bar.update(len(chunk))


def _check_sha256(part: Path, expected: str, source: str) -> None:
    digest = hashlib.sha256()
    with _disk_errors(part), open(part, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            digest.update(block)
    if digest.hexdigest() != expected.lower():
        raise RejectedDownloadError(f"{source}: sha256 is {digest.hexdigest()}, expected "
                                    f"{expected.lower()}; the download was deleted")


def _unpack(part: Path, dest: Path, source: str, max_bytes: int) -> tuple[Path, dict[str, int]]:
    """Unpack the model folder inside the zip into a hidden folder beside `dest`.

    Returns the folder (still carrying STAGING_MARKER, so a killed run's leftovers are
    recognisably ours) and {relative path: size} of the files written. Everything the
    zip declares is checked before a byte is decompressed.
    """
    with zips.open_zip(part, source) as archive:
        needed = zips.check_members(archive, source, max_bytes=max_bytes,
                                    reserved=(MARKER, STAGING_MARKER))
        with _disk_errors(dest.parent):
            free = _free_bytes(dest.parent)
        if needed > free:
            raise DownloadError(f"unpacking needs {needed / 1e6:.0f} MB in '{dest.parent}' "
                                f"but only {free / 1e6:.0f} MB are free")
        zips.check_crcs(archive, source)
        root = zips.model_root(archive, source)
        with _disk_errors(dest.parent):
            staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.unpack-", dir=dest.parent))
            (staging / STAGING_MARKER).write_bytes(b"")
        try:
            with _disk_errors(staging):
                files = zips.extract(archive, root, staging, source, max_bytes=max_bytes)
            check_model_dir(staging)
        except ModelLoadError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise RejectedDownloadError(f"the zip from {source} does not hold a usable model "
                                        f"({exc}); the download was deleted") from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return staging, files


def _write_marker(staging: Path, *, url: str, source: str, zip_bytes: int,
                  files: dict[str, int]) -> None:
    """Mark `staging` as ours: what a later --force checks before replacing it."""
    marker = {"written_by": WRITTEN_BY, "version": __version__, "url": url,
              "source": source, "zip_bytes": zip_bytes,
              "unpacked_bytes": sum(files.values()), "files": files}
    (staging / MARKER).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")


def _install(staging: Path, dest: Path) -> None:
    """Rename `staging` to `dest`; an old `dest` moves aside only for that instant."""
    if not (dest.exists() or dest.is_symlink()):
        os.rename(staging, dest)
        return
    old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
    os.rename(dest, old)
    try:
        os.rename(staging, dest)
    except OSError:
        os.rename(old, dest)
        raise
    shutil.rmtree(old)  # check_replaceable passed: a real folder holding only our files


def _remove_stale_staging(dest: Path) -> None:
    """Unpack folders a killed run left behind (hidden, but they hold a whole model).

    Only folders carrying one of our markers: a name that merely matches is not ours.
    """
    for stale in dest.parent.glob(f".{dest.name}.unpack-*"):
        if not stale.is_symlink() and stale.is_dir() and (
                (stale / STAGING_MARKER).is_file() or read_marker(stale) is not None):
            shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _disk_errors(where: Path) -> Iterator[None]:
    """Turn OSError (disk full, permissions, not a folder) into one clear line."""
    try:
        yield
    except OSError as exc:
        raise DownloadError(f"cannot write in '{where}': {exc.strerror or exc}") from None
