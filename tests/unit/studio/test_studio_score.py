"""MIDI file -> timed notes: tempo maps, formats, pedal and every edge case we decided on."""

from __future__ import annotations

import pytest
from studio_midi_helpers import cc, off, on, raw_midi, tempo, vlq, write_midi

from gansynth_live.studio.score import (ScoreError, ScoreNote, fit_to_range, note_name,
                                        read_score, source_pitch)


def spans(score):
    return [(n.pitch, round(n.start_s, 6), round(n.end_s, 6)) for n in score.notes]


def test_format0_default_tempo_is_120_bpm(tmp_path):
    path = write_midi(tmp_path / "a.mid", [[on(60), off(60, 480), on(62), off(62, 960)]],
                      midi_type=0)
    score = read_score(path)
    assert score.midi_format == 0
    assert spans(score) == [(60, 0.0, 0.5), (62, 0.5, 1.5)]
    assert score.notes[0].velocity == 100 and score.notes[0].channel == 0


def test_format1_tempo_track_applies_to_all_tracks_and_changes_mid_note(tmp_path):
    # 60 bpm for the first beat, then 120 bpm: a 2-beat note lasts 1 s + 0.5 s
    conductor = [tempo(60), tempo(120, time=480)]
    notes = [on(60), off(60, 960), on(64, 0), off(64, 480)]
    score = read_score(write_midi(tmp_path / "b.mid", [conductor, notes]))
    assert spans(score) == [(60, 0.0, 1.5), (64, 1.5, 2.0)]
    assert [round(b, 3) for _, b in score.tempo_changes] == [60.0, 120.0]
    assert score.notes[0].track == 1


def test_tempo_change_in_a_later_track_moves_every_track(tmp_path):
    notes = [on(60), off(60, 960)]
    other = [tempo(240, time=480)]
    score = read_score(write_midi(tmp_path / "c.mid", [notes, other]))
    assert spans(score) == [(60, 0.0, 0.75)]  # 0.5 s at 120 bpm, then 0.25 s at 240


def test_zero_length_note_is_kept_with_the_minimum_length(tmp_path):
    path = write_midi(tmp_path / "z.mid", [[on(60, 480), off(60, 0), on(62), off(62, 480)]])
    score = read_score(path, min_note_s=0.05)
    assert spans(score) == [(60, 0.5, 0.55), (62, 0.5, 1.0)]
    assert score.stats.lengthened_notes == 1


def test_note_off_without_note_on_is_ignored_and_counted(tmp_path):
    path = write_midi(tmp_path / "o.mid", [[off(70), on(60, 10), off(61, 10), off(60, 460)]])
    score = read_score(path)
    assert spans(score) == [(60, round(10 / 960, 6), round(480 / 960, 6))]
    assert score.stats.orphan_note_offs == 2


def test_running_status_and_velocity_zero_note_offs(tmp_path):
    # 90 3C 64 | (running) 40 64 | (running) 3C 00 | (running) 40 00
    body = (vlq(0) + b"\x90\x3c\x64" + vlq(0) + b"\x40\x64" + vlq(480) + b"\x3c\x00"
            + vlq(480) + b"\x40\x00")
    score = read_score(raw_midi(tmp_path / "rs.mid", [body]))
    assert spans(score) == [(60, 0.0, 0.5), (64, 0.0, 1.0)]


def test_overlapping_notes_of_one_pitch_pair_first_in_first_out(tmp_path):
    path = write_midi(tmp_path / "ov.mid", [[on(60), on(60, 480), off(60, 480), off(60, 480)]])
    assert spans(read_score(path)) == [(60, 0.0, 1.0), (60, 0.5, 1.5)]


def test_legato_restrike_on_then_off_at_one_tick(tmp_path):
    path = write_midi(tmp_path / "lg.mid", [[on(60), on(60, 480), off(60, 0), off(60, 480)]])
    assert spans(read_score(path)) == [(60, 0.0, 0.5), (60, 0.5, 1.0)]


def test_sustain_pedal_extends_release_across_tracks_on_its_channel(tmp_path):
    pedal_track = [cc(64, 127), cc(64, 0, time=3 * 480)]
    notes = [on(60), off(60, 480), on(61, 0, channel=1), off(61, 480, channel=1)]
    score = read_score(write_midi(tmp_path / "p.mid", [pedal_track, notes]))
    by_pitch = {n.pitch: n for n in score.notes}
    assert by_pitch[60].end_s == pytest.approx(1.5)      # held until the pedal goes up
    assert by_pitch[60].key_up_s == pytest.approx(0.5)
    assert by_pitch[61].end_s == pytest.approx(1.0)      # other channel: no pedal


def test_restruck_key_under_pedal_ends_the_held_note(tmp_path):
    notes = [cc(64, 127), on(60), off(60, 240), on(60, 240), off(60, 240), cc(64, 0, 960)]
    score = read_score(write_midi(tmp_path / "r.mid", [notes]))
    assert spans(score) == [(60, 0.0, 0.5), (60, 0.5, 1.75)]
    assert score.stats.retriggered_notes == 1


def test_all_notes_off_releases_and_all_sound_off_cuts(tmp_path):
    notes = [on(60), on(64), cc(123, 0, 480), on(67, 0, channel=2), cc(64, 127, 0, channel=2),
             cc(120, 0, 480, channel=2)]
    score = read_score(write_midi(tmp_path / "m.mid", [notes]))
    assert spans(score) == [(60, 0.0, 0.5), (64, 0.0, 0.5), (67, 0.5, 1.0)]


def test_unterminated_notes_end_at_the_end_of_the_file(tmp_path):
    notes = [on(60), on(62, 480), off(62, 480), cc(1, 0, 480)]
    score = read_score(write_midi(tmp_path / "u.mid", [notes]))
    assert spans(score) == [(60, 0.0, 1.5), (62, 0.5, 1.0)]
    assert score.stats.unterminated_notes == 1
    assert score.duration_s == pytest.approx(1.5)


def test_drums_are_skipped_unless_asked_for(tmp_path):
    notes = [on(36, channel=9), off(36, 480, channel=9), on(60), off(60, 480)]
    path = write_midi(tmp_path / "d.mid", [notes])
    assert [n.pitch for n in read_score(path).notes] == [60]
    assert read_score(path).stats.drum_notes_skipped == 1
    assert sorted(n.pitch for n in read_score(path, skip_drums=False).notes) == [36, 60]


def test_smpte_time_division(tmp_path):
    # 25 fps x 40 ticks per frame = 1000 ticks per second; tempo is ignored
    body = (vlq(0) + b"\xff\x51\x03\x07\xa1\x20" + vlq(0) + b"\x90\x3c\x64"
            + vlq(1500) + b"\x80\x3c\x00")
    division = ((256 - 25) << 8) | 40
    score = read_score(raw_midi(tmp_path / "smpte.mid", [body], division=division))
    assert spans(score) == [(60, 0.0, 1.5)]


def test_format2_is_refused(tmp_path):
    path = write_midi(tmp_path / "f2.mid", [[on(60), off(60, 480)]], midi_type=2)
    with pytest.raises(ScoreError, match="format 2"):
        read_score(path)


@pytest.mark.parametrize("make,message", [
    (lambda p, good: p.write_bytes(good[: len(good) - 7]), "truncated"),
    (lambda p, good: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt "), "not a valid MIDI"),
    (lambda p, good: p.write_bytes(b""), "not a valid MIDI"),
    (lambda p, good: p.write_bytes(good.replace(b"\x90\x3c\x64", b"\x90\xbc\x64")),
     "not a valid MIDI"),
    (lambda p, good: p.write_bytes(good.replace(b"MTrk", b"XXXX")), "not a valid MIDI"),
])
def test_corrupt_files_give_a_clear_error(tmp_path, make, message):
    good_path = write_midi(tmp_path / "good.mid", [[on(60, velocity=100), off(60, 480)]])
    good = good_path.read_bytes()
    bad = tmp_path / "bad.mid"
    make(bad, good)
    with pytest.raises(ScoreError, match=message) as info:
        read_score(bad)
    assert "bad.mid" in str(info.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ScoreError, match="cannot read"):
        read_score(tmp_path / "nope.mid")


def notes_at(*pitches):
    return [ScoreNote(float(i), float(i) + 0.5, p, 100, 0) for i, p in enumerate(pitches)]


def test_fit_to_range_modes():
    notes = notes_at(20, 30, 90, 100)
    octave = fit_to_range(notes, range(24, 85), "octave")
    assert [n.pitch for n in octave.notes] == [32, 30, 78, 76]
    assert [n.transposed_by for n in octave.notes] == [12, 0, -12, -24]
    assert octave.transposed == 3
    drop = fit_to_range(notes, range(24, 85), "drop")
    assert [n.pitch for n in drop.notes] == [30] and drop.dropped == 3
    keep = fit_to_range(notes, range(24, 85), "resample")
    assert [n.pitch for n in keep.notes] == [20, 30, 90, 100] and keep.resampled == 3
    assert [source_pitch(n.pitch, range(24, 85)) for n in keep.notes] == [24, 30, 84, 84]
    with pytest.raises(ScoreError):
        fit_to_range(notes, range(24, 85), "wrap")


def test_note_names():
    assert [note_name(p) for p in (60, 61, 24, 84, 21)] == ["C4", "C#4", "C1", "C6", "A0"]
