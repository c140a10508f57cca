"""fetch-model against hostile servers and zips (issue 15, items 4 and 5).

Every refusal is one line, exits 2 and leaves nothing written or deleted outside the
destination: zip-slip by empty path parts, links in the zip, zip bombs, redirects to
other hosts or from https to http, announced lengths of 10^15 bytes, files that change
between a broken download and its resume, and `--force` aimed at a folder the tool did
not write. Real sockets on 127.0.0.1 (https with the test certificate in
tests/fixtures/tls/), the real CLI.
"""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from fetch_server import fetch, fixture_zip, server, tls_server, tree, zip_tree  # noqa: F401

from gansynth_live.commands import fetch_model as command
from gansynth_live.errors import DownloadError
from gansynth_live.model import fetch as fetch_module
from gansynth_live.model.fetch import (MARKER, STAGING_MARKER, fetch_model, part_path,
                                       read_marker, record_path)


def one_line_error(capsys) -> str:
    """The one error line on stderr (progress bars, which start with a CR, aside)."""
    err = capsys.readouterr().err
    lines = [line for line in err.split("\n") if line and not line.startswith("\r")]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("gansynth-live fetch-model: error: "), err
    return lines[0]


def with_member(folder: Path, info: zipfile.ZipInfo, data: bytes) -> bytes:
    """The zip of `folder` plus one member written from a hand-made ZipInfo."""
    buf = io.BytesIO(zip_tree(folder))
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr(info, data)
    return buf.getvalue()


# --- item 4: zip-slip, links, zip bombs ------------------------------------------------

def test_empty_path_part_cannot_escape_the_staging_folder(server, tmp_path, tiny_model_dir,
                                                          capsys):
    """'model//tmp/x' passed the old name check and was written to /tmp/x."""
    target = tmp_path / "evil.txt"
    evil = f"acoustic_only/{target}"  # acoustic_only//tmp/pytest-.../evil.txt
    assert "//" in evil
    server.behaviour.body = zip_tree(tiny_model_dir, extra={evil: b"owned"})
    dest = tmp_path / "a" / "m"
    assert fetch(server.url, dest) == 2
    err = one_line_error(capsys)
    assert "unsafe member path" in err and "deleted" in err
    assert not target.exists()
    assert os.listdir(tmp_path) == ["a"] and os.listdir(tmp_path / "a") == []


@pytest.mark.parametrize("evil", ["acoustic_only/stage_00012//x", "acoustic_only/./x",
                                  "./acoustic_only/x", "acoustic_only/x\n.txt",
                                  "C:/acoustic_only/x", "acoustic_only/.."])
def test_odd_member_names_are_refused(server, tmp_path, tiny_model_dir, capsys, evil):
    server.behaviour.body = zip_tree(tiny_model_dir, extra={evil: b"x"})
    assert fetch(server.url, tmp_path / "m") == 2
    assert "unsafe member path" in one_line_error(capsys)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("mode,word", [(stat.S_IFLNK | 0o777, "symbolic link"),
                                       (stat.S_IFIFO | 0o644, "special file")])
def test_links_and_special_files_in_the_zip_are_refused(server, tmp_path, tiny_model_dir,
                                                        capsys, mode, word):
    info = zipfile.ZipInfo("acoustic_only/stage_00012/link")
    info.create_system = 3  # Unix: the mode bits are in the top of external_attr
    info.external_attr = mode << 16
    server.behaviour.body = with_member(tiny_model_dir, info,
                                        str(tmp_path / "target").encode())
    dest = tmp_path / "out" / "m"
    assert fetch(server.url, dest) == 2
    err = one_line_error(capsys)
    assert word in err and "refused" in err
    assert os.listdir(dest.parent) == [] and not (tmp_path / "target").exists()


@pytest.mark.parametrize("extra", [{f"acoustic_only/{MARKER}": b"{}"},
                                   {f"acoustic_only/{STAGING_MARKER}": b""},
                                   {"acoustic_only/experiment.json/x": b"x"}])
def test_reserved_names_and_clashes_are_refused(server, tmp_path, tiny_model_dir, capsys,
                                                extra):
    server.behaviour.body = zip_tree(tiny_model_dir, extra=extra)
    assert fetch(server.url, tmp_path / "m") == 2
    assert "refused" in one_line_error(capsys)
    assert os.listdir(tmp_path) == []


def test_zip_bomb_is_refused_on_its_declared_size(server, tmp_path, tiny_model_dir, capsys):
    """16 MB of zeros compress to a few KB; the cap applies to what it unpacks to."""
    server.behaviour.body = zip_tree(tiny_model_dir,
                                     extra={"acoustic_only/bomb.bin": bytes(16 << 20)})
    assert len(server.behaviour.body) < 5 << 20
    assert fetch(server.url, tmp_path / "m", "--max-bytes", "8M") == 2
    err = one_line_error(capsys)
    assert "unpacks to" in err and f"limit of {8 << 20}" in err and "deleted" in err
    assert os.listdir(tmp_path) == []


def test_declared_size_is_checked_before_decompressing(server, tmp_path, tiny_model_dir,
                                                       capsys):
    """A central directory claiming 4 GB for a tiny member: refused as too big, not as
    corrupt (a CRC test would have to decompress everything first)."""
    body = bytearray(zip_tree(tiny_model_dir, extra={"acoustic_only/bomb.bin": b"tiny"}))
    entry = body.rindex(b"PK\x01\x02")  # the last central directory entry: bomb.bin
    assert body[entry + 46:entry + 46 + 22] == b"acoustic_only/bomb.bin"
    body[entry + 24:entry + 28] = struct.pack("<I", 0xFFFF_FFF0)
    server.behaviour.body = bytes(body)
    assert fetch(server.url, tmp_path / "m") == 2
    err = one_line_error(capsys)
    assert "unpacks to" in err and "corrupt" not in err
    assert os.listdir(tmp_path) == []


# --- item 4: redirects -----------------------------------------------------------------

def test_redirect_to_another_host_is_refused_unless_allowed(tls_server, tmp_path,
                                                            tiny_model_dir, capsys):
    elsewhere = tls_server.at("/elsewhere.zip", host="localhost")  # same machine, other name
    tls_server.behaviour.redirects = {"/acoustic_only.zip": elsewhere}
    dest = tmp_path / "m"
    assert fetch(tls_server.url, dest) == 2
    err = one_line_error(capsys)
    assert "redirects to another host" in err and elsewhere in err
    assert "--allow-redirect-host localhost" in err
    assert tls_server.paths == ["/acoustic_only.zip"]  # the other host was never asked
    assert os.listdir(tmp_path) == []

    assert fetch(tls_server.url, dest, "--allow-redirect-host", "localhost") == 0
    captured = capsys.readouterr()
    assert f"downloaded from {elsewhere}" in captured.out
    assert f"redirected to {elsewhere}" in captured.err
    assert read_marker(dest)["source"] == elsewhere
    assert read_marker(dest)["url"] == tls_server.url
    assert tree(dest) == tree(tiny_model_dir)


def test_redirect_from_https_to_http_is_refused(tls_server, server, tmp_path, capsys):
    plain = server.url  # http on the same host name: still a downgrade
    tls_server.behaviour.redirects = {"/acoustic_only.zip": plain}
    for extra in ((), ("--allow-redirect-host", "127.0.0.1")):
        assert fetch(tls_server.url, tmp_path / "m", *extra) == 2
        err = one_line_error(capsys)
        assert "from https to plain http" in err and plain in err
    assert server.paths == []
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("location", ["ftp://127.0.0.1/acoustic_only.zip",
                                      "file:///etc/passwd"])
def test_redirect_to_other_schemes_is_refused(server, tmp_path, capsys, location):
    server.behaviour.redirects = {"/acoustic_only.zip": location}
    assert fetch(server.url, tmp_path / "m") == 2
    err = one_line_error(capsys)
    assert location in err or "302" in err  # urllib itself refuses file://
    assert os.listdir(tmp_path) == []


def test_same_host_redirect_is_followed_and_named(tls_server, tmp_path, tiny_model_dir,
                                                  capsys):
    tls_server.behaviour.redirects = {"/acoustic_only.zip": "/mirror/acoustic_only.zip"}
    dest = tmp_path / "m"
    assert fetch(tls_server.url, dest) == 0
    final = tls_server.at("/mirror/acoustic_only.zip")
    assert f"downloaded from {final}" in capsys.readouterr().out
    assert tls_server.paths == ["/acoustic_only.zip", "/mirror/acoustic_only.zip"]
    assert tree(dest) == tree(tiny_model_dir)


# --- item 4: sizes ---------------------------------------------------------------------

def test_announced_petabyte_is_refused_before_writing(server, tmp_path, capsys):
    server.behaviour.content_length = 10 ** 15
    assert fetch(server.url, tmp_path / "m") == 2
    err = one_line_error(capsys)
    assert "announces 1000000000000000 bytes" in err and "--max-bytes" in err
    assert os.listdir(tmp_path) == []  # not a byte of it


def test_max_bytes_below_the_zip_refuses_it(server, tmp_path, capsys):
    assert fetch(server.url, tmp_path / "m", "--max-bytes", "1M") == 2
    assert f"more than the limit of {1 << 20}" in one_line_error(capsys)
    assert os.listdir(tmp_path) == []
    with pytest.raises(SystemExit):
        fetch(server.url, tmp_path / "m", "--max-bytes", "lots")


def test_unannounced_body_is_capped_while_it_arrives(server, tmp_path, capsys):
    server.behaviour.no_length = True
    assert fetch(server.url, tmp_path / "m", "--max-bytes", "1M") == 2
    err = one_line_error(capsys)
    assert f"sent more than the {1 << 20} bytes allowed" in err and "deleted" in err
    assert os.listdir(tmp_path) == []


def test_free_space_is_checked_first(server, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(fetch_module, "_free_bytes", lambda folder: 1000)
    assert fetch(server.url, tmp_path / "m") == 2
    err = one_line_error(capsys)
    assert "MB are free" in err and str(tmp_path) in err
    assert os.listdir(tmp_path) == []


def test_clean_eof_short_of_the_length_keeps_the_part(server, tmp_path, tiny_model_dir,
                                                      capsys):
    server.behaviour.etag = '"v1"'
    dest, total = tmp_path / "m", len(server.behaviour.body)
    server.behaviour.cut_after = total // 3
    assert fetch(server.url, dest) == 2
    assert f"broke off after {total // 3} of {total} bytes" in one_line_error(capsys)
    assert fetch(server.url, dest) == 2  # the resumed answer breaks off too
    assert f"broke off after {2 * (total // 3)} of {total}" in one_line_error(capsys)
    assert sorted(os.listdir(tmp_path)) == [part_path(dest).name,
                                            record_path(part_path(dest)).name]
    server.behaviour.cut_after = None
    assert fetch(server.url, dest) == 0
    assert server.if_ranges == [None, '"v1"', '"v1"']
    assert tree(dest) == tree(tiny_model_dir)


# --- item 4: If-Range ------------------------------------------------------------------

def test_file_changed_on_the_server_restarts_instead_of_splicing(server, tmp_path,
                                                                 tiny_model_dir, capsys):
    dest, total = tmp_path / "m", len(server.behaviour.body)
    server.behaviour.etag = '"v1"'
    server.behaviour.cut_after = total // 3
    assert fetch(server.url, dest) == 2
    capsys.readouterr()

    server.behaviour.body = zip_tree(tiny_model_dir, extra={"acoustic_only/NEW": b"new"})
    server.behaviour.etag = '"v2"'
    server.behaviour.cut_after = None
    assert fetch(server.url, dest) == 0
    assert server.ranges == [None, f"bytes={total // 3}-"]
    assert server.if_ranges == [None, '"v1"']  # the server answered 200 with the new file
    assert "changed on the server" in capsys.readouterr().err
    assert tree(dest) == tree(tiny_model_dir) | {"NEW": b"new"}


def test_last_modified_guards_the_resume_without_an_etag(server, tmp_path, tiny_model_dir):
    stamp = "Wed, 01 Jan 2025 00:00:00 GMT"
    server.behaviour.last_modified = stamp
    server.behaviour.etag = 'W/"weak"'  # a weak ETag may not be used in If-Range
    server.behaviour.cut_after = 100_000
    assert fetch(server.url, tmp_path / "m") == 2
    server.behaviour.cut_after = None
    assert fetch(server.url, tmp_path / "m") == 0
    assert server.if_ranges == [None, stamp]
    assert server.ranges == [None, "bytes=100000-"]
    assert tree(tmp_path / "m") == tree(tiny_model_dir)


def test_part_of_another_url_is_not_resumed(server, tmp_path, tiny_model_dir):
    server.behaviour.cut_after = 100_000
    assert fetch(server.at("/old.zip"), tmp_path / "m") == 2
    server.behaviour.cut_after = None
    assert fetch(server.url, tmp_path / "m") == 0
    assert server.ranges == [None, None]
    assert tree(tmp_path / "m") == tree(tiny_model_dir)


def test_someone_elses_part_file_is_left_alone(server, tmp_path, capsys):
    """A browser names its partial download of m.zip 'm.zip.part' too."""
    dest = tmp_path / "m"
    part_path(dest).write_bytes(b"a browser's half of something")
    for extra in ((), ("--force",)):
        assert fetch(server.url, dest, *extra) == 2
        err = one_line_error(capsys)
        assert "is in the way" in err and str(part_path(dest)) in err
    assert part_path(dest).read_bytes() == b"a browser's half of something"
    assert server.ranges == [] and os.listdir(tmp_path) == ["m.zip.part"]


# --- item 5: --force replaces only what the tool wrote ---------------------------------

def test_marker_records_the_source_and_sizes(server, tmp_path, tiny_model_dir):
    dest = tmp_path / "m"
    assert fetch(server.url, dest) == 0
    marker = json.loads((dest / MARKER).read_text())
    assert marker["url"] == marker["source"] == server.url
    assert marker["zip_bytes"] == len(server.behaviour.body)
    sizes = {name: len(data) for name, data in tree(tiny_model_dir).items()}
    assert marker["files"] == sizes and marker["unpacked_bytes"] == sum(sizes.values())
    assert command.MARKER == MARKER


def test_force_replaces_a_folder_it_wrote_but_not_one_with_your_files(server, tmp_path,
                                                                      tiny_model_dir,
                                                                      capsys):
    dest = tmp_path / "m"
    assert fetch(server.url, dest) == 0
    assert fetch(server.url, dest, "--force") == 0
    assert server.ranges == [None, None] and tree(dest) == tree(tiny_model_dir)
    capsys.readouterr()

    (dest / "stage_00012" / "my-take.wav").write_bytes(b"RIFF")
    assert fetch(server.url, dest, "--force") == 2
    err = one_line_error(capsys)
    assert f"'{dest}' holds 'stage_00012/my-take.wav'" in err
    assert (dest / "stage_00012" / "my-take.wav").read_bytes() == b"RIFF"
    assert server.ranges == [None, None]


def test_force_refuses_a_link_or_a_file(server, tmp_path, tiny_model_dir, capsys):
    music = tmp_path / "music"
    music.mkdir()
    (music / "song.flac").write_bytes(b"fLaC")
    link, plain = tmp_path / "link", tmp_path / "plain"
    link.symlink_to(music)
    plain.write_text("mine")
    for dest, word in ((link, "symbolic link"), (plain, "not a model folder")):
        assert fetch(server.url, dest, "--force") == 2
        err = one_line_error(capsys)
        assert word in err and f"'{dest}'" in err
    assert (music / "song.flac").read_bytes() == b"fLaC" and plain.read_text() == "mine"
    assert link.is_symlink() and server.ranges == []


def test_library_call_never_replaces_a_foreign_folder(server, tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    (music / "song.flac").write_bytes(b"fLaC")
    with pytest.raises(DownloadError, match="not a model folder gansynth-live wrote"):
        fetch_model(server.url, music, progress=False)
    assert os.listdir(music) == ["song.flac"] and server.ranges == []


def test_only_our_own_stale_unpack_folders_are_removed(server, tmp_path, tiny_model_dir):
    lookalike = tmp_path / ".m.unpack-mine"
    lookalike.mkdir()
    (lookalike / "keep.txt").write_text("mine")
    stale = tmp_path / ".m.unpack-killed"
    stale.mkdir()
    (stale / STAGING_MARKER).write_bytes(b"")
    assert fetch(server.url, tmp_path / "m") == 0
    assert sorted(os.listdir(tmp_path)) == [".m.unpack-mine", "m"]
    assert (lookalike / "keep.txt").read_text() == "mine"
