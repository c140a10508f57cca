"""`gansynth-live cache list|clear`."""

from __future__ import annotations

import numpy as np

from gansynth_live.banks.arena import BankArena
from gansynth_live.banks.cache import BankCache, bank_folder
from gansynth_live.cli import main


def test_list_and_clear(tmp_path, capsys):
    cache = BankCache(bank_folder(tmp_path))
    arena = BankArena(1000, 48000, "0123456789abcdef")
    arena.add_stored(60, np.ones(1000, np.int16), 1.0, 0, 0, 1.0, 1.0)
    cache.save("cafe" * 10, arena.snapshot(True),
               {"model_name": "tiny", "model_fingerprint": "1f038daf0cfbd703"})
    assert main(["cache", "list", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "cafecafecafe" in out and "tiny" in out and "0123456789abcdef" in out
    assert "1 bank," in out
    assert main(["cache", "clear", "--cache-dir", str(tmp_path)]) == 0
    assert "removed 1 bank" in capsys.readouterr().out
    assert main(["cache", "list", "--cache-dir", str(tmp_path)]) == 0
    assert "0 banks" in capsys.readouterr().out


def test_env_var_sets_the_default_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GANSYNTH_LIVE_CACHE_DIR", str(tmp_path))
    assert main(["cache", "list"]) == 0
    assert str(tmp_path / "banks") in capsys.readouterr().out
