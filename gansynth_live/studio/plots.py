"""The colab's pictures with readable axes: CQT spectrograms and a piano roll with the timbre path.

Figures are drawn on matplotlib's Agg canvas directly (no pyplot, so no GUI
backend and no global figure state): safe from any thread and on a headless
machine. The CQT follows the colab's `specplot`: librosa CQT from MIDI 36 up
to twice the frequency of MIDI 84, 36 bins per octave, power in dB
(10 log10(|C|^2 + 1e-6)), magma colormap; here with time in seconds, note
names on the pitch axis and a dB colour bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .note_paths import NotePath, corner_weights
from .score import ScoreNote, note_name
from .timbre_path import TimbrePath

CQT_LOW_PITCH = 36
CQT_HIGH_PITCH = 84
CQT_BINS_PER_OCTAVE = 36
CQT_RANGE_DB = 80.0


def _figure(width_in: float, height_in: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def cqt_db(audio: np.ndarray, sample_rate: int, hop_length: int = 512
           ) -> tuple[np.ndarray, float]:
    """(power in dB [bins, frames], seconds per frame) as the colab computes it."""
    import librosa

    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=1)
    x = np.nan_to_num(x)
    fmin = float(librosa.midi_to_hz(CQT_LOW_PITCH))
    fmax = 2.0 * float(librosa.midi_to_hz(CQT_HIGH_PITCH))
    octaves = int(math.ceil(math.log2(fmax) - math.log2(fmin)))
    n_bins = CQT_BINS_PER_OCTAVE * octaves
    minimum = 2 * int(sample_rate)  # the lowest octave needs ~2 s once decimated
    if len(x) < minimum:
        x = np.pad(x, (0, minimum - len(x)))
    cqt = librosa.cqt(x, sr=sample_rate, hop_length=hop_length, fmin=fmin, n_bins=n_bins,
                      bins_per_octave=CQT_BINS_PER_OCTAVE)
    power = 10.0 * np.log10(np.abs(cqt) ** 2 + 1e-6)
    return power, hop_length / float(sample_rate)


def _pitch_ticks(ax, lo: float, hi: float, axis: str = "y") -> None:
    ticks = [p for p in range(int(math.ceil(lo)), int(hi) + 1) if p % 12 == 0]
    setter = ax.set_yticks if axis == "y" else ax.set_xticks
    setter(ticks, [note_name(p) for p in ticks])


def _draw_cqt(ax, audio: np.ndarray, sample_rate: int, vmax: float | None = None):
    power, frame_s = cqt_db(audio, sample_rate)
    top = float(power.max()) if vmax is None else vmax
    semitones_per_bin = 12.0 / CQT_BINS_PER_OCTAVE
    lo = CQT_LOW_PITCH - semitones_per_bin / 2
    hi = lo + power.shape[0] * semitones_per_bin
    image = ax.imshow(power, origin="lower", aspect="auto", cmap="magma",
                      extent=(0.0, power.shape[1] * frame_s, lo, hi),
                      vmin=top - CQT_RANGE_DB, vmax=top, interpolation="nearest")
    _pitch_ticks(ax, lo, hi)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    return image


def plot_cqt(audio: np.ndarray, sample_rate: int, path: Path, title: str = "") -> Path:
    """One CQT spectrogram, the colab's `specplot` with axes."""
    duration = len(audio) / float(sample_rate)
    fig = _figure(min(18.0, max(7.0, 1.2 * duration + 3)), 4.5)
    ax = fig.add_subplot()
    image = _draw_cqt(ax, audio, sample_rate)
    fig.colorbar(image, ax=ax, label="power (dB)", pad=0.01)
    if title:
        ax.set_title(title)
    return _save(fig, path)


def plot_cqt_grid(waves: Sequence[np.ndarray], sample_rate: int, labels: Sequence[str],
                  path: Path, columns: int = 4, title: str = "") -> Path:
    """CQT of several notes on one shared dB scale (loudness stays comparable)."""
    count = len(waves)
    if count == 0:
        raise ValueError("no notes to plot")
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    fig = _figure(4.0 * columns + 1.0, 3.0 * rows + 0.6)
    top = max(float(cqt_db(w, sample_rate)[0].max()) for w in waves)
    axes = fig.subplots(rows, columns, squeeze=False)
    image = None
    for i, ax in enumerate(axes.flat):
        if i >= count:
            ax.set_axis_off()
            continue
        image = _draw_cqt(ax, waves[i], sample_rate, vmax=top)
        ax.set_title(labels[i] if i < len(labels) else f"#{i}")
        if i % columns:
            ax.set_ylabel("")
        if i < count - columns:
            ax.set_xlabel("")
    if image is not None:
        fig.colorbar(image, ax=axes, label="power (dB)", shrink=0.8)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _instrument_colours(count: int) -> np.ndarray:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return np.array([cmap(i % 10)[:3] for i in range(count)])


def plot_piano_roll(notes: Sequence[ScoreNote], path: Path, timbre: TimbrePath | None = None,
                    pitch_range: range | None = None, title: str = "",
                    duration_s: float | None = None, pad: PadPaths | None = None) -> Path:
    """Piano roll (seconds x note names) coloured by timbre, with the timbre path above.

    Note colour mixes the instruments' colours by their weight at the onset
    (the latent the note is made from); opacity follows velocity; the part of
    a note held only by the sustain pedal is paler; notes moved by octaves
    have a dashed outline at their written pitch. The top panel shows each
    instrument's weight over time and where it is placed.

    With `pad` (render --corners/--mpe) the corners take the instruments'
    place: a note's colour changes along it as its own pad position moves
    (its `NotePath`), a thin line inside it draws its y (bottom to top of
    the box), and the top panel shows the pad's x and y.
    """
    from matplotlib.patches import Rectangle

    end = max([n.end_s for n in notes] + [duration_s or 0.0, 1.0])
    above = timbre is not None or pad is not None
    fig = _figure(min(20.0, max(8.0, 0.6 * end + 4)), 6.5 if above else 5.0)
    if above:
        top_ax, ax = fig.subplots(2, 1, sharex=True, height_ratios=[1, 3.5])
    else:
        top_ax, ax = None, fig.add_subplot()
    count = len(timbre.times) if timbre is not None else 1
    colours = _instrument_colours(count) if pad is None else _corner_colours(pad.labels)
    onsets = np.array([n.start_s for n in notes])
    if timbre is not None and len(notes):
        note_colours = np.clip(timbre.weights_at(onsets) @ colours, 0.0, 1.0)
    else:
        note_colours = np.tile(colours[0], (len(notes), 1))
    pitches = [n.pitch for n in notes] + [n.pitch - n.transposed_by for n in notes]
    lo = min(pitches, default=48) - 2
    hi = max(pitches, default=72) + 2
    if pitch_range is not None:
        ax.axhspan(lo - 10, pitch_range[0] - 0.5, color="0.92", zorder=0)
        ax.axhspan(pitch_range[-1] + 0.5, hi + 10, color="0.92", zorder=0,
                   label="outside the model's pitches")
    for i, (note, colour) in enumerate(zip(notes, note_colours)):
        alpha = 0.35 + 0.65 * note.velocity / 127.0
        if pad is not None:
            _draw_path(ax, note, pad.paths[i], colours, alpha)
            continue
        key_up = note.key_up_s if note.key_up_s is not None else note.end_s
        ax.add_patch(Rectangle((note.start_s, note.pitch - 0.4), key_up - note.start_s, 0.8,
                               facecolor=colour, alpha=alpha, edgecolor="0.2", linewidth=0.4))
        if note.end_s > key_up:
            ax.add_patch(Rectangle((key_up, note.pitch - 0.4), note.end_s - key_up, 0.8,
                                   facecolor=colour, alpha=alpha * 0.35, linewidth=0))
        if note.transposed_by:
            ax.add_patch(Rectangle((note.start_s, note.pitch - note.transposed_by - 0.4),
                                   note.duration_s, 0.8, fill=False, linestyle="--",
                                   edgecolor="0.4", linewidth=0.6))
    ax.set_xlim(0.0, end)
    ax.set_ylim(lo, hi)
    _pitch_ticks(ax, lo, hi)
    ax.yaxis.set_minor_locator(_every(1))
    ax.grid(axis="y", which="major", color="0.8", linewidth=0.6)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    if top_ax is not None and timbre is not None:
        grid = np.linspace(0.0, end, 600)
        weights = timbre.weights_at(grid)
        labels = [p.timbre.label for p in timbre.points]
        top_ax.stackplot(grid, weights.T, colors=colours, labels=labels, alpha=0.85)
        for t, colour in zip(timbre.times, colours):
            if 0.0 <= t <= end:
                top_ax.axvline(t, color=colour, linewidth=1.2, linestyle=":")
        top_ax.set_ylim(0.0, 1.0)
        top_ax.set_ylabel("timbre mix")
        top_ax.set_title(f"timbre path ({timbre.interpolation} interpolation at note onsets)",
                         fontsize="medium")
        if len(labels) <= 12:
            top_ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small",
                          frameon=False)
    if top_ax is not None and pad is not None:
        _draw_pad(top_ax, pad, colours, end)
    if title:
        fig.suptitle(title)
    return _save(fig, path)


@dataclass(frozen=True)
class PadPaths:
    """What the piano roll draws for a morph-pad render: corner labels (MorphGrid's order),
    the pad's moves (time_s, x, y) and each note's path (`paths[i]` for `notes[i]`)."""

    labels: tuple[str, ...]
    moves: tuple[tuple[float, float, float], ...]
    paths: tuple[NotePath, ...]


def _draw_path(ax, note: ScoreNote, track: NotePath, colours: np.ndarray, alpha: float) -> None:
    """The note as segments coloured by its pad position, its y as a line inside it."""
    from matplotlib.patches import Rectangle

    key_up = note.key_up_s if note.key_up_s is not None else note.end_s
    cuts = sorted({float(t) for t in track.times_s} | ({key_up} if key_up < note.end_s
                                                         else set()))
    for t0, t1 in zip(cuts, cuts[1:] + [note.end_s]):
        k = max(0, int(np.searchsorted(track.times_s, t0, side="right")) - 1)
        colour = np.clip(corner_weights(len(colours), track.x[k], track.y[k]) @ colours, 0, 1)
        held = alpha * (0.35 if t0 >= key_up else 1.0)  # pedal-held part paler, as above
        ax.add_patch(Rectangle((t0, note.pitch - 0.4), t1 - t0, 0.8, facecolor=colour,
                               alpha=held, linewidth=0))
    ax.add_patch(Rectangle((note.start_s, note.pitch - 0.4), note.duration_s, 0.8, fill=False,
                           edgecolor="0.2", linewidth=0.4))
    ax.step(list(track.times_s) + [note.end_s],
            note.pitch - 0.4 + 0.8 * np.append(track.y, track.y[-1]), where="post",
            color="0.1", linewidth=0.6)


def _draw_pad(ax, pad: PadPaths, colours: np.ndarray, end: float) -> None:
    from matplotlib.patches import Patch

    times = [t for t, _, _ in pad.moves] + [end]
    for axis, style in ((1, "-"), (2, "--")):
        values = [m[axis] for m in pad.moves]
        ax.step(times, values + values[-1:], where="post", color="0.2", linestyle=style,
                linewidth=1.0, label=f"pad {'xy'[axis - 1]}")
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("pad")
    ax.set_title("morph pad (notes: colour = their own position, line = their y)",
                 fontsize="medium")
    names: dict[str, list[int]] = {}
    for n, label in enumerate(pad.labels, start=1):
        names.setdefault(label, []).append(n)
    handles = ax.get_legend_handles_labels()[0] + [
        Patch(facecolor=colours[numbers[0] - 1],
              label=f"{', '.join(map(str, numbers))}: {label}")
        for label, numbers in names.items()]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small",
              frameon=False, title="corners", title_fontsize="small")


def _corner_colours(labels: Sequence[str]) -> np.ndarray:
    """A colour per corner; corners with one sound (one label) share it."""
    distinct = list(dict.fromkeys(labels))
    palette = _instrument_colours(len(distinct))
    return np.array([palette[distinct.index(label)] for label in labels])


def _every(step: float):
    from matplotlib.ticker import MultipleLocator

    return MultipleLocator(step)
