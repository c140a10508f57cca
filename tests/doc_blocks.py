"""The shell commands, links and code blocks of README.md and docs/*.md, for the doc tests.

The convention the pages follow (tests/docs/test_doc_commands.py and
tests/unit/test_readme.py hold them to it):

- **A shell command** is a line of a fenced block tagged `sh` (or `bash`, `shell`), or an
  indented (4 spaces) code line outside fences that starts with a command word
  (`gansynth-live`, `python`, `python3`, `bash`, `.venv/bin/...`, `pip`, `sudo`, `jackd`,
  `jack_connect`, `pw-jack`, `pw-metadata`, `oscsend`). A line ending in a backslash
  continues on the next. Comment lines are not commands. Commands in running text
  (inline code) are not collected.
- **Every fence has a language tag**: `sh` for commands, `text` for output, `toml`,
  `python`, ...; an untagged fence is an error, so that commands cannot hide in one.
- **A command runs as it is** (the test runs it in a temporary folder, with no sound card,
  MIDI device or network, and expects exit status 0), **or it is marked** with a comment
  saying what it needs: at the end of its line (`gansynth-live serve  # needs a sound
  card`; free text may follow after a semicolon: `# needs a sound card; the model that
  ships`), or alone on the line above it (the README's set-up commands, which must stay
  verbatim). Markers, combined with ", " and " and " (`# needs the network and sudo,
  takes minutes`):

  - `needs a sound card`: plays audio (serve, play-test, JACK with a real device);
  - `needs a MIDI device`: a keyboard or controller must be plugged in;
  - `needs a running serve`: talks to a running server (oscsend);
  - `needs a generate server`: talks to a running `generate-server` (bank build --cluster);
  - `needs a second machine`: runs on or reaches another machine (a GPU box, an SSH tunnel);
  - `needs the network`: downloads (pip, apt, fetch-model, a released model);
  - `needs sudo`: installs system packages;
  - `needs your own files`: names a file of yours (song.mid, a recording);
  - `takes minutes`, `takes hours`: benchmarks, training, the whole test suite.

  A comment that does not start with "needs" or "takes" is a plain comment: the command
  runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

MARKS = frozenset({
    "needs a sound card", "needs a MIDI device", "needs a running serve", "needs the network",
    "needs a generate server", "needs a second machine",
    "needs sudo", "needs your own files", "takes minutes", "takes hours"})
SHELL_LANGS = frozenset({"sh", "bash", "shell"})
COMMAND_WORDS = ("gansynth-live", "python", "python3", "bash", "pip", "sudo", "jackd", "ssh",
                 "jack_connect", "pw-jack", "pw-metadata", "oscsend")
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)\s*$")
_INDENTED = re.compile(r"^(?: {4}|\t)\s*(\S.*)$")
_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def doc_files() -> list[Path]:
    """README.md and every page directly under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


@dataclass(frozen=True)
class Command:
    path: Path
    line: int              # first line, 1-based
    text: str              # continuation lines joined, the trailing comment removed
    marks: tuple[str, ...]  # empty: runnable

    @property
    def where(self) -> str:
        return where(self.path, self.line)


@dataclass(frozen=True)
class Block:
    path: Path
    line: int              # the opening fence's line
    lang: str
    lines: tuple[str, ...]  # the contents, the fence's indentation removed

    @property
    def where(self) -> str:
        return where(self.path, self.line)


@dataclass
class Page:
    path: Path
    commands: list[Command] = field(default_factory=list)
    blocks: list[Block] = field(default_factory=list)
    prose: list[tuple[int, str]] = field(default_factory=list)  # lines outside code
    errors: list[str] = field(default_factory=list)


def split_comment(line: str) -> tuple[str, str | None]:
    """(code, comment text or None): a '#' outside quotes, at the start or after a blank."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
            elif ch == "\\" and quote == '"':
                continue
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip(), line[i + 1:].strip()
    return line.rstrip(), None


def parse_marks(comment: str | None) -> tuple[tuple[str, ...], str | None]:
    """(marks, error): the marks a comment states; () for a plain comment."""
    if comment is None or not re.match(r"(needs|takes)\b", comment):
        return (), None
    head = comment.split(";")[0].strip()
    marks, verb = [], ""
    for piece in re.split(r",\s*|\s+and\s+", head):
        piece = piece.strip()
        first, _, rest = piece.partition(" ")
        if first in ("needs", "takes"):
            verb, piece = first, rest
        mark = f"{verb} {piece}"
        if mark not in MARKS:
            return (), f"unknown marker {mark!r} in '# {comment}' (known: {sorted(MARKS)})"
        marks.append(mark)
    return tuple(marks), None


def _is_command_start(text: str) -> bool:
    words = text.split()
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        words = words[1:]  # VAR=value prefixes
    if not words:
        return False
    return words[0] in COMMAND_WORDS or words[0].startswith(".venv/bin/")


class _Collector:
    """Joins continuation lines and applies markers from a comment line above."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.pending: tuple[str, ...] = ()
        self.parts: list[str] = []
        self.start = 0

    def comment_line(self, line_no: int, comment: str) -> None:
        marks, error = parse_marks(comment)
        if error:
            self.page.errors.append(f"{where(self.page.path, line_no)}: {error}")
        if marks:
            self.pending = marks

    def line(self, line_no: int, text: str) -> None:
        if not self.parts:
            self.start = line_no
        code, comment = split_comment(text)
        if code.endswith("\\"):
            self.parts.append(code[:-1].strip())
            return
        self.parts.append(code.strip())
        marks, error = parse_marks(comment)
        if error:
            self.page.errors.append(f"{where(self.page.path, line_no)}: {error}")
        command = " ".join(p for p in self.parts if p)
        self.page.commands.append(Command(self.page.path, self.start, command,
                                          tuple(dict.fromkeys(self.pending + marks))))
        self.parts, self.pending = [], ()

    def reset(self) -> None:
        if self.parts:
            self.page.errors.append(f"{where(self.page.path, self.start)}: a command ends "
                                    "in a backslash with nothing after it")
        self.parts, self.pending = [], ()


def read_page(path: Path) -> Page:
    page = Page(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    collector = _Collector(page)
    fence: tuple[str, str, int, str, list[str]] | None = None  # indent, marker, line, lang
    for number, raw in enumerate(lines, start=1):
        if fence is not None:
            indent, marker, opened, lang, body = fence
            stripped = raw.strip()
            if stripped.startswith(marker[0] * len(marker)) and set(stripped) == {marker[0]}:
                page.blocks.append(Block(path, opened, lang, tuple(body)))
                collector.reset()
                fence = None
                continue
            text = raw[len(indent):] if raw.startswith(indent) else raw.lstrip()
            body.append(text)
            if lang in SHELL_LANGS:
                if not text.strip():
                    continue
                code, comment = split_comment(text)
                if not code.strip() and not collector.parts:
                    collector.comment_line(number, comment or "")
                else:
                    collector.line(number, text)
            continue
        opening = _FENCE.match(raw)
        if opening:
            collector.reset()
            indent, marker, lang = opening.groups()
            if not lang:
                page.errors.append(f"{where(path, number)}: a fence without a language tag "
                                   "(sh for commands, text for output, toml, python, ...)")
            fence = (indent, marker, number, lang.lower(), [])
            continue
        indented = _INDENTED.match(raw)
        if indented:
            text = indented.group(1)
            code, comment = split_comment(text)
            if not code.strip():
                if not collector.parts:
                    collector.comment_line(number, comment or "")
                continue
            if collector.parts or _is_command_start(code):
                collector.line(number, text)
                continue
        elif raw.strip():
            collector.reset()
        page.prose.append((number, raw))
    if fence is not None:
        page.errors.append(f"{where(path, fence[2])}: a fence that is never closed")
    collector.reset()
    return page


def pages() -> list[Page]:
    return [read_page(p) for p in doc_files()]


def links(page: Page) -> list[tuple[int, str]]:
    """(line, target) of every Markdown link and image outside code blocks."""
    found = []
    for number, text in page.prose:
        text = re.sub(r"`[^`]*`", "", text)  # inline code is not a link
        found += [(number, m.group(1)) for m in _LINK.finditer(text)]
    return found


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file (outside fences)."""
    anchors, in_fence = set(), False
    for raw in path.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(raw):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", raw)
        if heading:
            title = heading.group(1).lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


def shell_segments(command: str) -> list[list[str]]:
    """The simple commands of a command line (split at && || ; | &), each as words."""
    import shlex

    lexer = shlex.shlex(command, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    segments, current = [], []
    for token in lexer:
        if token and set(token) <= set(";&|"):
            if current:
                segments.append(current)
            current = []
        else:
            current.append(token)
    if current:
        segments.append(current)
    return segments


def gansynth_args(words: list[str]) -> list[str] | None:
    """The arguments after `gansynth-live` in one simple command, or None if it is not one."""
    words = list(words)
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=\S*", words[0]):
        words = words[1:]
    if words and words[0] == "pw-jack":
        words = words[1:]
    if words and words[0].endswith("gansynth-live") and "/" not in words[0].replace(
            ".venv/bin/", ""):
        return words[1:]
    if words[:3] in (["python", "-m", "gansynth_live"], ["python3", "-m", "gansynth_live"]):
        return words[3:]
    return None


class CliError(Exception):
    """A documented gansynth-live command that the CLI refuses."""


def parse_cli(args: list[str]):
    """The argparse namespace of `gansynth-live ARGS`; CliError with argparse's message."""
    import contextlib
    import io

    from gansynth_live.cli import build_parser

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            return build_parser().parse_args(args)
    except SystemExit as exc:
        if exc.code == 0:  # --help, --version
            return None
        raise CliError(err.getvalue().strip().splitlines()[-1]) from None


def config_block(page: Page, name: str) -> Block | None:
    """The page's toml block whose first line is `# NAME` (e.g. the gig.toml of serve.md)."""
    for block in page.blocks:
        if block.lang == "toml" and block.lines and block.lines[0].strip() == f"# {name}":
            return block
    return None


def serve_config(namespace, page: Page, folder: Path):
    """The ServeConfig a documented `serve` command builds; --config FILE comes from the
    page's block for FILE, written into `folder`."""
    from gansynth_live.live.config import build_config

    config = getattr(namespace, "config", None)
    if config is not None:
        block = config_block(page, str(config))
        if block is None:
            raise CliError(f"--config {config}: no ```toml block starting '# {config}' on "
                           "the page")
        path = folder / Path(str(config)).name
        path.write_text("\n".join(block.lines) + "\n")
        namespace.config = path
    return build_config(namespace)


def _spec_preset(spec: str) -> str | None:
    """The preset a render --instrument SPEC[@TIME] or a serve corner names (None: a seed or
    an audition)."""
    spec = spec.rsplit("@", 1)[0] if "@" in spec else spec
    if spec.startswith(("seed:", "audition:")):
        return None
    return spec


def presets_named(page: Page, folder: Path) -> list[tuple[str, str]]:
    """(where, name) of every preset a command or config block on the page loads by name:
    serve --preset/--corners/--programs, render --instrument, preset show, preset save
    --corners, oscsend /preset and /corner/N/preset, and a toml block's preset, corners and
    [programs]. Names given to `preset save` are new names and not counted."""
    import tomllib

    found: list[tuple[str, str]] = []
    for command in page.commands:
        for words in shell_segments(command.text):
            if words[:1] == ["oscsend"] and len(words) >= 6 and (
                    words[3] == "/preset" or re.fullmatch(r"/corner/\d/preset", words[3])):
                found.append((command.where, words[5]))
            args = gansynth_args(words)
            if not args:
                continue
            namespace = parse_cli(args)
            if namespace is None:
                continue
            names: list[str | None] = []
            if namespace.command == "serve":
                config = serve_config(namespace, page, folder)
                names += [config.preset, *map(_spec_preset, config.corners),
                          *config.programs.values()]
            elif namespace.command == "render":
                names += [_spec_preset(s) for s in namespace.instrument]
            elif namespace.command == "preset" and namespace.action == "show":
                names.append(namespace.name)
            elif namespace.command == "preset" and namespace.action == "save" and \
                    namespace.corners:
                names += [n.strip() for n in namespace.corners.split(",")]
            found += [(command.where, n) for n in names if n]
    for block in page.blocks:
        if block.lang != "toml":
            continue
        data = tomllib.loads("\n".join(block.lines))
        names = [data.get("preset"), *map(_spec_preset, data.get("corners", [])),
                 *data.get("programs", {}).values()]
        found += [(block.where, n) for n in names if n]
    return found
