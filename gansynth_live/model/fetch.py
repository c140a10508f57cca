"""Downloading a released GANSynth checkpoint: resumable, verified, unpacked atomically.

Nothing half-done ever appears under the model's name. The zip grows in
`<dest>.zip.part` beside the destination, so an interrupted run (even a SIGKILL)
leaves it there and the next run resumes it with an HTTP Range request. The zip is
then checked (size, optional sha256, every CRC, member paths), unpacked into a hidden
folder beside the destination, validated as a model, and only then renamed into
place. A model that was already there is swapped out only once the new one is
complete. Uses urllib from the standard library: no extra dependency for a
download that runs once per model.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import sys
import tempfile
import zipfile
import zlib
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import Iterator
from urllib.error import HTTPError, URLError
from urllib.request import Request, urlopen

from tqdm import tqdm

from .. import __version__
from ..errors import DownloadError, ModelLoadError

CHUNK_BYTES = 1 << 18
TIMEOUT_S = 30.0  # per connect and per read: a stalled server fails instead of hanging
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
_UNSIZED_RANGE = re.compile(r"^bytes \*/(\d+)$")


class RejectedDownloadError(DownloadError):
    """The downloaded file itself is wrong, so keeping it to resume would not help."""


def part_path(dest: Path) -> Path:
    """Where the zip for `dest` grows until it is complete (kept across runs)."""
    return dest.with_name(dest.name + ".zip.part")


def fetch_model(url: str, dest: str | Path, *, sha256: str | None = None,
                progress: bool = True) -> Path:
    """Download the zip at `url` and make its model folder appear as `dest`.

    Resumes a `.part` left by an earlier run. A zip that fails a check is deleted
    (downloading the same bytes again cannot fix it); a disk error keeps it, so the
    next run does not start over. An existing `dest` is replaced only at the end.
    """
    dest = Path(dest).expanduser()
    part = part_path(dest)
    with _disk_errors(dest.parent):
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_staging(dest)
    download(url, part, progress=progress)
    try:
        if sha256:
            _check_sha256(part, sha256, url)
        staging = _unpack(part, dest, url)
    except RejectedDownloadError:
        part.unlink(missing_ok=True)
        raise
    try:
        with _disk_errors(dest):
            _install(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    part.unlink(missing_ok=True)
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


def download(url: str, part: Path, *, progress: bool = True) -> None:
    """Complete `part` from `url`, resuming from the bytes it already holds."""
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": f"gansynth-live/{__version__}"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        response = urlopen(Request(url, headers=headers), timeout=TIMEOUT_S)
    except HTTPError as exc:
        with exc:
            if exc.code == 416 and offset:  # asked past the end of the file
                match = _UNSIZED_RANGE.match(exc.headers.get("Content-Range", ""))
                if match and int(match.group(1)) == offset:
                    return  # an earlier run got every byte but stopped before unpacking
                part.unlink()  # the remote file is smaller than our part: not the same file
                return download(url, part, progress=progress)
            raise DownloadError(f"{url}: the server answered HTTP {exc.code} {exc.reason}"
                                ) from None
    except ValueError as exc:  # urllib's word for a malformed URL
        raise DownloadError(f"cannot download {url!r}: {exc}") from None
    except (URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if url.lower().startswith("file:"):
            raise DownloadError(f"cannot read {url} ({reason})") from None
        raise DownloadError(
            f"cannot reach {url} ({reason}); this machine may be offline: download the zip "
            "elsewhere and pass --url file:///path/to/the.zip (or --url with a mirror)"
        ) from None
    with response:
        start, total = _resume_point(response, offset)
        if start is None:  # a partial answer that does not continue our part
            if not offset:
                raise DownloadError(f"{url}: the server sent part of the file without being "
                                    "asked; try again later or use another --url")
            part.unlink()
            return download(url, part, progress=progress)
        if offset and not start and progress:
            tqdm.write(f"{url}: the server does not resume downloads; starting over",
                       file=sys.stderr)
        with _disk_errors(part), open(part, "ab" if start else "wb") as out, tqdm(
                total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
                desc=part.name.removesuffix(".zip.part"), disable=not progress) as bar:
            _copy(response, out, bar, url)
    size = part.stat().st_size
    if total is not None and size < total:
        raise DownloadError(f"the download from {url} broke off after {size} of {total} "
                            "bytes; run the same command again to resume it")
    if total is not None and size > total:
        part.unlink()
        raise RejectedDownloadError(f"{url}: got {size} bytes but the server announced "
                                    f"{total}; the download was deleted, run again")


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


def _copy(response, out, bar: tqdm, url: str) -> None:
    """Stream the body to `out`; a network failure keeps what arrived for resuming."""
    while True:
        try:
            chunk = response.read(CHUNK_BYTES)
        except (OSError, http.client.HTTPException) as exc:
            out.flush()
            raise DownloadError(
                f"the download from {url} broke off after {out.tell()} bytes "
                f"({type(exc).__name__}: {exc}); run the same command again to resume it"
            ) from None
        if not chunk:
            return
        out.write(chunk)
        bar.update(len(chunk))


def _check_sha256(part: Path, expected: str, url: str) -> None:
    digest = hashlib.sha256()
    with _disk_errors(part), open(part, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            digest.update(block)
    if digest.hexdigest() != expected.lower():
        raise RejectedDownloadError(f"{url}: sha256 is {digest.hexdigest()}, expected "
                                    f"{expected.lower()}; the download was deleted")


def _unpack(part: Path, dest: Path, url: str) -> Path:
    """Unpack the model folder inside the zip into a hidden folder beside `dest`."""
    try:
        archive = zipfile.ZipFile(part)
    except (zipfile.BadZipFile, OSError) as exc:
        raise RejectedDownloadError(f"{url} is not a readable zip ({exc}); the download "
                                    "was deleted, run again to fetch it afresh") from None
    with archive:
        root = _model_root(archive, url)
        needed = sum(i.file_size for i in archive.infolist())
        free = shutil.disk_usage(dest.parent).free
        if needed > free:
            raise DownloadError(f"unpacking needs {needed / 1e6:.0f} MB in '{dest.parent}' "
                                f"but only {free / 1e6:.0f} MB are free")
        with _disk_errors(dest.parent):
            staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.unpack-", dir=dest.parent))
        try:
            with _disk_errors(staging):
                _extract(archive, root, staging, url)
            check_model_dir(staging)
        except ModelLoadError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise RejectedDownloadError(f"the zip from {url} does not hold a usable model "
                                        f"({exc}); the download was deleted") from None
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return staging


def _model_root(archive: zipfile.ZipFile, url: str) -> str:
    """The folder in the zip holding experiment.json ('' for the top), checked safe.

    Released zips wrap the model in a folder named after it; rather than assume
    that name, the shallowest experiment.json wins.
    """
    try:
        bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
        raise RejectedDownloadError(f"corrupt zip from {url} ({exc}); the download was "
                                    "deleted, run again to fetch it afresh") from None
    if bad is not None:
        raise RejectedDownloadError(f"corrupt zip from {url}: member {bad!r} fails its check; "
                                    "the download was deleted, run again to fetch it afresh")
    for name in archive.namelist():
        path = PurePosixPath(name)
        if (name.startswith("/") or "\\" in name or ".." in path.parts
                or ":" in (path.parts or ("",))[0]):
            raise RejectedDownloadError(f"the zip from {url} has an unsafe member path "
                                        f"{name!r}; refused, the download was deleted")
    roots = sorted((len(path.parts), str(path.parent))
                   for path in map(PurePosixPath, archive.namelist())
                   if path.name == "experiment.json" and path.parts[0] != "__MACOSX")
    if not roots:
        raise RejectedDownloadError(f"the zip from {url} holds no experiment.json; it is not "
                                    "a GANSynth model (the download was deleted)")
    if len(roots) > 1 and roots[0][0] == roots[1][0]:
        raise RejectedDownloadError(f"the zip from {url} holds several models "
                                    f"({roots[0][1]!r}, {roots[1][1]!r}); unpack it by hand "
                                    "and pass --model FOLDER")
    parent = roots[0][1]
    return "" if parent == "." else parent + "/"


def _extract(archive: zipfile.ZipFile, root: str, staging: Path, url: str) -> None:
    """Write the members under `root` into `staging`, without the `root` prefix."""
    for info in archive.infolist():
        if (not info.filename.startswith(root) or info.filename == root
                or info.filename.startswith("__MACOSX/")):
            continue  # e.g. a README beside the model folder, or macOS Finder metadata
        target = staging / info.filename[len(root):]
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK_BYTES)
        except (zipfile.BadZipFile, zlib.error) as exc:
            raise RejectedDownloadError(f"corrupt zip from {url}: {exc}; the download was "
                                        "deleted") from None


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
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old)
    else:
        old.unlink()


def _remove_stale_staging(dest: Path) -> None:
    """Unpack folders a killed run left behind (hidden, but they hold a whole model)."""
    for stale in dest.parent.glob(f".{dest.name}.unpack-*"):
        shutil.rmtree(stale, ignore_errors=True)


@contextmanager
def _disk_errors(where: Path) -> Iterator[None]:
    """Turn OSError (disk full, permissions, not a folder) into one clear line."""
    try:
        yield
    except OSError as exc:
        raise DownloadError(f"cannot write in '{where}': {exc.strerror or exc}") from None
