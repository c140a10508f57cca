"""Reading a downloaded model zip without trusting it: paths, links, sizes.

The zip comes from a server, a mirror or a redirect, so every member is checked
before anything is written: its name must be a plain relative path (no empty, `.` or
`..` parts, no absolute remainder, no drive letter, no backslash, no control
characters), it must be a regular file or a folder (a symlink entry is refused: we
would write its target as a file at best, and a later tool could follow it), and the
sizes it declares must fit under a cap. Extraction then counts the bytes it really
writes against the same cap and resolves every target inside the staging folder, so a
check missed here still cannot write outside it.

Only zips are read: magenta releases zips, and a tar (whose links and devices would
need the same care) is refused as "not a readable zip".
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ..errors import DownloadError

CHUNK_BYTES = 1 << 18
MAX_MEMBERS = 10_000  # a released model holds a handful; millions would exhaust inodes
MACOS_JUNK = "__MACOSX"


class ArchiveError(DownloadError):
    """The zip itself is unsafe or wrong: downloading the same bytes again cannot help."""

    retry = False  # whether fetching afresh might help (a damaged transfer, not a bad zip)


class DamagedArchiveError(ArchiveError):
    """The zip is unreadable or fails a CRC: perhaps damaged on the way, so retry."""

    retry = True


def open_zip(path: Path, source: str) -> zipfile.ZipFile:
    """The zip at `path`; anything else (a tar, an HTML login page) is one clear line."""
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DamagedArchiveError(f"{source} is not a readable zip ({exc})") from None


def member_parts(name: str, source: str) -> tuple[str, ...]:
    """The path parts of member `name`, or ArchiveError if it could leave its folder.

    Checked on the raw name, not a normalised path: PurePosixPath('model//tmp/x')
    reads as 'model/tmp/x', yet joining the remainder '/tmp/x' to a folder gives /tmp/x.
    """
    body = name[:-1] if name.endswith("/") else name  # a folder entry ends with one '/'
    parts = tuple(body.split("/"))
    problem = None
    if not body:
        problem = "an empty name"
    elif any(part in ("", ".", "..") for part in parts):
        problem = "an empty, '.' or '..' path part"
    elif "\\" in name or ":" in parts[0]:
        problem = "a Windows path"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        problem = "a control character"
    if problem:
        raise ArchiveError(f"the zip from {source} has an unsafe member path {name!r} "
                           f"({problem}); refused")
    return parts


def member_kind(info: zipfile.ZipInfo) -> str:
    """'file', 'dir', or what else the Unix mode bits say it is ('symbolic link', ...)."""
    mode = info.external_attr >> 16
    if stat.S_IFMT(mode) == 0:  # no Unix type recorded (zips made on Windows): by name
        return "dir" if info.is_dir() else "file"
    if stat.S_ISDIR(mode):
        return "dir"
    if stat.S_ISREG(mode):
        return "dir" if info.is_dir() else "file"
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return "special file (device, FIFO or socket)"


def check_members(archive: zipfile.ZipFile, source: str, *, max_bytes: int,
                  reserved: tuple[str, ...] = (), max_members: int = MAX_MEMBERS) -> int:
    """Check every member's path, type and declared size; return the declared total.

    Runs before any byte is decompressed (a CRC test decompresses everything), so a
    zip bomb is refused on what it declares. `reserved` are top-level names the
    installer writes itself (its marker files), which a zip may not bring (at any depth).
    """
    infos = archive.infolist()
    if len(infos) > max_members:
        raise ArchiveError(f"the zip from {source} has {len(infos)} members, more than the "
                           f"{max_members} a model folder could need; refused")
    files: set[tuple[str, ...]] = set()
    folders: set[tuple[str, ...]] = set()
    total = 0
    for info in infos:
        parts = member_parts(info.filename, source)
        kind = member_kind(info)
        if kind not in ("file", "dir"):
            raise ArchiveError(f"the zip from {source} has a {kind} {info.filename!r}; "
                               "refused (a model folder holds only files and folders)")
        if parts[-1] in reserved:
            raise ArchiveError(f"the zip from {source} brings {info.filename!r}, a file "
                               "name gansynth-live writes itself; refused")
        if parts in files or (kind == "file" and parts in folders):
            raise ArchiveError(f"the zip from {source} has {info.filename!r} twice or as "
                               "both a file and a folder; refused")
        (files if kind == "file" else folders).add(parts)
        folders.update(parts[:i] for i in range(1, len(parts)))
        total += info.file_size
    if files & folders:
        clash = "/".join(sorted(files & folders)[0])
        raise ArchiveError(f"the zip from {source} has {clash!r} as both a file and a "
                           "folder; refused")
    if total > max_bytes:
        raise ArchiveError(f"the zip from {source} unpacks to {total} bytes, more than the "
                           f"limit of {max_bytes} (--max-bytes); refused")
    return total


def check_crcs(archive: zipfile.ZipFile, source: str) -> None:
    """Decompress every member once and compare its CRC (sizes were capped already)."""
    try:
        bad = archive.testzip()
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
        raise DamagedArchiveError(f"corrupt zip from {source} ({exc})") from None
    if bad is not None:
        raise DamagedArchiveError(f"corrupt zip from {source}: member {bad!r} fails its check")


def model_root(archive: zipfile.ZipFile, source: str) -> str:
    """The folder in the zip holding experiment.json ('' for the top).

    Released zips wrap the model in a folder named after it; rather than assume
    that name, the shallowest experiment.json wins.
    """
    roots = sorted((len(path.parts), str(path.parent))
                   for path in map(PurePosixPath, archive.namelist())
                   if path.name == "experiment.json" and path.parts[0] != MACOS_JUNK)
    if not roots:
        raise ArchiveError(f"the zip from {source} holds no experiment.json; it is not a "
                           "GANSynth model")
    if len(roots) > 1 and roots[0][0] == roots[1][0]:
        raise ArchiveError(f"the zip from {source} holds several models ({roots[0][1]!r}, "
                           f"{roots[1][1]!r}); unpack it by hand and pass --model FOLDER")
    parent = roots[0][1]
    return "" if parent == "." else parent + "/"


def extract(archive: zipfile.ZipFile, root: str, staging: Path, source: str, *,
            max_bytes: int) -> dict[str, int]:
    """Write the members under `root` into `staging`; return {relative path: size}.

    The bytes written are counted against `max_bytes` as they come, and each member
    against the size it declared, so a zip whose headers lie stops at the cap.
    """
    base = staging.resolve()
    written: dict[str, int] = {}
    total = 0
    for info in archive.infolist():
        name = info.filename
        if not name.startswith(root) or name == root or name.startswith(MACOS_JUNK + "/"):
            continue  # e.g. a README beside the model folder, or macOS Finder metadata
        relative = name[len(root):]
        target = _inside(base, relative, source, name)
        if member_kind(info) == "dir":
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        size = _copy_member(archive, info, target, source, max_bytes - total)
        total += size
        written[relative] = size
    return written


def _inside(base: Path, relative: str, source: str, name: str) -> Path:
    """`base / relative`, unless it resolves anywhere but inside `base`."""
    member_parts(relative, source)
    target = base.joinpath(*relative.rstrip("/").split("/"))
    if not target.resolve().is_relative_to(base) or target.resolve() == base:
        raise ArchiveError(f"the zip from {source} has an unsafe member path {name!r} "
                           "(it resolves outside the model folder); refused")
    return target


def _copy_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path,
                 source: str, budget: int) -> int:
    """Decompress one member into `target`, stopping past its declared size or `budget`."""
    limit = min(info.file_size, budget)
    size = 0
    try:
        with archive.open(info) as src, open(target, "xb") as out:
            while block := src.read(CHUNK_BYTES):
                size += len(block)
                if size > limit:
                    raise ArchiveError(
                        f"the zip from {source}: {info.filename!r} unpacks to more than "
                        + (f"the {info.file_size} bytes it declares" if size > info.file_size
                           else "the --max-bytes limit") + "; refused")
                out.write(block)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise DamagedArchiveError(f"corrupt zip from {source}: {exc}") from None
    return size

