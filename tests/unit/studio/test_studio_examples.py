"""The committed example MIDI files are what examples.py writes, and render-ready."""

from __future__ import annotations

from pathlib import Path

from gansynth_live.studio.examples import EXAMPLES, write_examples
from gansynth_live.studio.score import read_score

EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples"


def test_committed_examples_are_reproducible(tmp_path):
    for path in write_examples(tmp_path):
        assert path.read_bytes() == (EXAMPLES_DIR / path.name).read_bytes(), path.name


def test_examples_are_musical_and_in_range():
    for name in EXAMPLES:
        score = read_score(EXAMPLES_DIR / name)
        assert len(score.notes) >= 40
        assert all(36 <= n.pitch <= 84 for n in score.notes)  # magenta's and the model's range
        assert score.stats.orphan_note_offs == score.stats.unterminated_notes == 0
    piece = read_score(EXAMPLES_DIR / "short-piece.mid")
    assert piece.midi_format == 1 and len(piece.tempo_changes) == 3
    assert any(n.end_s > n.key_up_s for n in piece.notes)         # pedal holds notes
    assert max(n.duration_s for n in piece.notes) > 4.0          # longer than a model note
    assert read_score(EXAMPLES_DIR / "arpeggio.mid").midi_format == 0
