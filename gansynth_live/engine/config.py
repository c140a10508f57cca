"""The engine's settings: one frozen, validated object made before audio starts.

Settings a performer changes while playing (master gain, envelope, bend
range) also exist as events; this object gives their starting values.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import GansynthLiveError

# Voice state holds ten (bank_slots x voices) arrays: at 2048 slots and 1536 voices
# (polyphony 1024) each takes 25 MB. Only an offline render of a very dense score asks
# for that many (one slot per overlapping note); live uses 20.
MAX_BANK_SLOTS = 2048


class EngineConfigError(GansynthLiveError, ValueError):
    """An engine setting out of range (says which and what is allowed)."""


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs to know before the first block.

    sample_rate: output rate in Hz (banks at another rate are played by rate).
    polyphony: voices that may sound at once; a note beyond it steals one.
    max_block_frames: largest block rendered in one go (longer callbacks are split).
    attack_s, decay_s, sustain, release_s: ADSR (see events.SetEnvelope).
    velocity_curve: gain = (velocity / 127) ** velocity_curve; 0 ignores velocity,
        1 is linear, 2 (default) spans about 84 dB over 1..127 and feels even.
    bend_range_semitones: pitch bend at full wheel deflection.
    pan_spread: 0 puts every voice in the centre; 1 spreads pitches 24..96 from
        hard left to hard right (constant-power pan).
    master_gain: linear gain before the limiter.
    morph_glide_s: time sounding voices take to glide to new morph weights.
    follow_morph: True (live default): a new layer set (`set_layers`, a morph
        move) also reaches sounding voices, which glide to it over
        `morph_glide_s`. False: it applies to new notes only; a sounding voice
        keeps the banks it started with until it ends (the offline studio's
        rule: every note keeps the timbre of its onset, as in magenta). Each
        voice then pins its banks' slots, so give `bank_slots` room for the
        distinct banks of all notes that overlap, or layer changes wait.
    steal_fade_s: fade of a stolen voice (and of one-shot notes reaching their end).
    min_note_s: a note-off sooner than this after its note-on waits until then
        (like FluidSynth's min-note-length), so very short notes still sound.
    limiter_threshold: peak level (linear) the limiter holds the mix under.
    limiter_release_s: time for the limiter's gain to recover (63 %).
    queue_capacity, queue_reserve: event queue size; the last `queue_reserve`
        places only take note-offs, pedal-up and panic.
    max_events_per_block: events applied per block at most (the rest wait a block);
        a note-on costs ~10-30 us of Python, so 64 keep a block's events under
        ~2 ms even when a flood arrives.
    bank_slots: banks the voices may read at once (current layers plus ones
        fading out); a layer change that needs more waits until the glide in
        progress ends (at most `morph_glide_s`; with follow_morph False, until
        a voice reading an old bank ends). The live default 20 fits morphing
        with per-note expression: the layers carry the 3 x 3 grid points
        around the position (notes may glide across them), and a diagonal
        move of the pad overlaps two such sets (14 banks) while voices glide;
        an offline render of notes with a bank each needs its overlap + 1.
    """

    sample_rate: int = 48000
    polyphony: int = 64
    max_block_frames: int = 1024
    attack_s: float = 0.005
    decay_s: float = 0.4
    sustain: float = 0.8
    release_s: float = 0.4
    velocity_curve: float = 2.0
    bend_range_semitones: float = 2.0
    pan_spread: float = 0.0
    master_gain: float = 0.5
    morph_glide_s: float = 0.03
    follow_morph: bool = True
    steal_fade_s: float = 0.005
    min_note_s: float = 0.01
    limiter_threshold: float = 0.89
    limiter_release_s: float = 0.15
    queue_capacity: int = 2048
    queue_reserve: int = 512
    max_events_per_block: int = 64
    bank_slots: int = 20

    def __post_init__(self) -> None:
        def check(name: str, ok: bool, allowed: str) -> None:
            if not ok:
                raise EngineConfigError(
                    f"engine setting {name}={getattr(self, name)!r} is out of range: {allowed}")

        check("sample_rate", isinstance(self.sample_rate, int) and 8000 <= self.sample_rate <= 384000,
              "an integer 8000..384000 Hz")
        check("polyphony", isinstance(self.polyphony, int) and 1 <= self.polyphony <= 1024,
              "an integer 1..1024")
        check("max_block_frames",
              isinstance(self.max_block_frames, int) and 16 <= self.max_block_frames <= 8192,
              "an integer 16..8192")
        check("attack_s", 0.0 <= self.attack_s <= 30.0, "0..30 s")
        check("decay_s", 0.0 <= self.decay_s <= 60.0, "0..60 s")
        check("sustain", 0.0 <= self.sustain <= 1.0, "0..1")
        check("release_s", 0.0 <= self.release_s <= 60.0, "0..60 s")
        check("velocity_curve", 0.0 <= self.velocity_curve <= 8.0, "0..8 (an exponent)")
        check("bend_range_semitones", 0.0 <= self.bend_range_semitones <= 48.0, "0..48")
        check("pan_spread", 0.0 <= self.pan_spread <= 1.0, "0..1")
        check("master_gain", 0.0 <= self.master_gain <= 4.0, "0..4 (linear)")
        check("morph_glide_s", 0.001 <= self.morph_glide_s <= 10.0, "0.001..10 s")
        check("steal_fade_s", 0.001 <= self.steal_fade_s <= 0.1, "0.001..0.1 s")
        check("min_note_s", 0.0 <= self.min_note_s <= 1.0, "0..1 s")
        check("limiter_threshold", 0.1 <= self.limiter_threshold <= 1.0, "0.1..1 (linear peak)")
        check("limiter_release_s", 0.001 <= self.limiter_release_s <= 10.0, "0.001..10 s")
        check("queue_capacity", isinstance(self.queue_capacity, int) and 16 <= self.queue_capacity,
              "an integer >= 16")
        check("queue_reserve",
              isinstance(self.queue_reserve, int) and 1 <= self.queue_reserve < self.queue_capacity,
              "an integer 1..queue_capacity-1")
        check("max_events_per_block",
              isinstance(self.max_events_per_block, int) and 1 <= self.max_events_per_block,
              "an integer >= 1")
        check("follow_morph", isinstance(self.follow_morph, bool), "True or False")
        check("bank_slots",
              isinstance(self.bank_slots, int) and 8 <= self.bank_slots <= MAX_BANK_SLOTS,
              f"an integer 8..{MAX_BANK_SLOTS} (at least room for 4 layers gliding out and 4 "
              "gliding in)")

    @property
    def voice_count(self) -> int:
        """Voice slots: polyphony plus room for stolen voices fading out."""
        return self.polyphony + max(8, self.polyphony // 2)
