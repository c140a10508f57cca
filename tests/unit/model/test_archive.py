"""The archive and redirect checks of fetch-model, without a server (issue 15, item 4)."""

from __future__ import annotations

import io
import zipfile

import pytest

from gansynth_live.model import archive
from gansynth_live.model.fetch import destination, redirect_refusal
from gansynth_live.errors import DownloadError


def zip_of(members: dict[str, bytes]) -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return zipfile.ZipFile(io.BytesIO(buf.getvalue()))


@pytest.mark.parametrize("name", ["m//tmp/x", "m/./x", "m/../x", "/x", "", "m/", "m\\x",
                                  "c:/x", "m/\x00x", "m/x\r"])
def test_unsafe_names(name):
    if name == "m/":
        assert archive.member_parts(name, "u") == ("m",)
        return
    with pytest.raises(archive.ArchiveError, match="unsafe member path"):
        archive.member_parts(name, "u")


def test_safe_names_keep_their_parts():
    assert archive.member_parts("acoustic_only/stage_00012/model.ckpt", "u") == (
        "acoustic_only", "stage_00012", "model.ckpt")


def test_extract_counts_the_bytes_it_writes(tmp_path):
    """The running total stops extraction even if the declared sizes slipped past."""
    zf = zip_of({"m/a": bytes(3000), "m/b": bytes(3000)})
    with pytest.raises(archive.ArchiveError, match="--max-bytes limit"):
        archive.extract(zf, "m/", tmp_path, "u", max_bytes=5000)
    assert (tmp_path / "a").stat().st_size == 3000 and (tmp_path / "b").stat().st_size < 3000


def test_extract_never_writes_outside_its_folder(tmp_path):
    zf = zip_of({"m//" + str(tmp_path / "evil"): b"x"})
    (tmp_path / "staging").mkdir()
    with pytest.raises(archive.ArchiveError, match="unsafe member path"):
        archive.extract(zf, "m/", tmp_path / "staging", "u", max_bytes=1 << 20)
    assert not (tmp_path / "evil").exists()


def test_too_many_members_are_refused():
    zf = zip_of({f"m/{i}": b"" for i in range(6)})
    with pytest.raises(archive.ArchiveError, match="6 members"):
        archive.check_members(zf, "u", max_bytes=1 << 20, max_members=5)
    assert archive.check_members(zf, "u", max_bytes=1 << 20) == 0


@pytest.mark.parametrize("previous,target,allowed,refused", [
    ("https://a.org/x", "https://a.org/y", (), None),
    ("https://a.org/x", "https://A.ORG:8443/y", (), None),  # same host name, any port
    ("http://a.org/x", "https://a.org/y", (), None),  # an upgrade is fine
    ("http://a.org/x", "http://a.org/y", (), None),  # the user chose plain http
    ("https://a.org/x", "http://a.org/y", (), "from https to plain http"),
    ("https://a.org/x", "http://b.org/y", ("b.org",), "from https to plain http"),
    ("https://a.org/x", "https://b.org/y", (), "--allow-redirect-host b.org"),
    ("https://a.org/x", "https://B.org/y", ("b.ORG",), None),
    ("https://a.org/x", "ftp://a.org/y", (), "not an http(s) URL"),
    ("https://a.org/x", "file:///etc/passwd", (), "not an http(s) URL"),
])
def test_redirect_rules(previous, target, allowed, refused):
    reason = redirect_refusal("https://a.org/x", previous, target, allowed)
    assert reason is None if refused is None else refused in reason


def test_a_chain_may_not_downgrade_after_an_upgrade():
    assert "plain http" in redirect_refusal("http://a.org/x", "https://a.org/y",
                                            "http://a.org/z")


@pytest.mark.parametrize("path", ["/", "//"])
def test_destination_needs_a_name(path):
    with pytest.raises(DownloadError, match="cannot be a model folder"):
        destination(path)
