"""The web surface's serve options, its printed URL and the access rules' edge cases."""

from __future__ import annotations

import argparse

import pytest

from gansynth_live.live.config import ConfigError, ServeConfig, build_config
from gansynth_live.commands.serve import add_arguments
from gansynth_live.web.access import host_name, is_loopback_host, refusal
from gansynth_live.web.session import surface_url


def config(*flags: str) -> ServeConfig:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return build_config(parser.parse_args(list(flags)))


def test_the_surface_is_on_at_loopback_port_8000_by_default():
    default = config()
    assert default.web and default.web_host == "127.0.0.1" and default.web_port == 8000
    assert not config("--no-web").web
    lan = config("--web-host", "0.0.0.0", "--web-port", "0")
    assert lan.web_host == "0.0.0.0" and lan.web_port == 0
    with pytest.raises(ConfigError, match="web_port"):
        ServeConfig(web_port=70000)


def test_the_printed_url_carries_the_token_and_a_reachable_host():
    assert surface_url("127.0.0.1", 8000, None) == "http://127.0.0.1:8000/"
    assert surface_url("::1", 8000, "t") == "http://[::1]:8000/?token=t"
    assert surface_url("0.0.0.0", 8080, "t").endswith(":8080/?token=t")


@pytest.mark.parametrize("header, name, loopback", [
    ("127.0.0.1:8000", "127.0.0.1", True), ("LOCALHOST:8000", "localhost", True),
    ("[::1]:8000", "::1", True), ("127.9.9.9", "127.9.9.9", True),
    ("evil.example:8000", "evil.example", False), ("192.168.1.20:8000", "192.168.1.20", False),
    ("127.0.0.1.evil.example:8000", "127.0.0.1.evil.example", False)])
def test_host_headers(header, name, loopback):
    assert host_name(header) == name and is_loopback_host(header) is loopback


def test_refusals_say_why():
    assert refusal("/ws", "127.0.0.1:8000", "http://127.0.0.1:8000", None, True) == ""
    assert refusal("/ws", "127.0.0.1:8000", None, None, True) == ""  # a program, not a page
    assert "no Host" in refusal("/ws", None, None, None, True)
    assert "token" in refusal("/ws?token=", "10.0.0.2:8000", None, "abc", True)
    assert refusal("/ws?token=abc", "10.0.0.2:8000", "http://10.0.0.2:8000", "abc", True) == ""
    assert "Origin" in refusal("/ws?token=abc", "10.0.0.2:8000", "http://10.0.0.2:8001",
                               "abc", True)
