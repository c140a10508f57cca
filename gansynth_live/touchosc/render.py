"""A picture of the TouchOSC layout, drawn with matplotlib from the same layout data.

TouchOSC cannot run on a build machine, so the README shows this rendering
instead of a screenshot, and says so in the picture itself. Each control is
drawn at its frame with its colour, its default value (pad cursor, fader
fill) and its OSC address in small print, so the picture doubles as a map of
which control sends what.
"""

from __future__ import annotations

from pathlib import Path

from .layout import HEIGHT, WIDTH, Control


def render_layout(controls: list[Control], path: str | Path, source_name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch, Rectangle

    scale = 100.0
    fig = plt.figure(figsize=(WIDTH / scale, (HEIGHT + 40) / scale), dpi=scale * 1.5)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(HEIGHT + 40, 0)
    ax.axis("off")
    ax.add_patch(Rectangle((0, 0), WIDTH, HEIGHT + 40, color=(0.08, 0.08, 0.10)))
    ax.text(WIDTH / 2, HEIGHT + 20, f"Rendering of {source_name} (drawn from the layout data "
            "that generated it; not a TouchOSC screenshot)", color=(0.75, 0.75, 0.75),
            ha="center", va="center", fontsize=7)

    def box(frame, color, alpha=0.25, edge=True):
        x, y, w, h = frame
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0,rounding_size=4",
                                    facecolor=(*color, alpha),
                                    edgecolor=color if edge else "none", linewidth=1.0))

    def address(frame, text):
        x, y, w, h = frame
        ax.text(x + 3, y + h - 3, text, color=(0.8, 0.8, 0.8), fontsize=4.5, ha="left",
                va="bottom", family="monospace")

    for control in controls:
        x, y, w, h = control.frame
        kind = control.kind
        if kind == "XY":
            box(control.frame, control.color, 0.12)
            for k in range(1, 4):
                ax.plot([x + w * k / 4] * 2, [y, y + h], color=(*control.color, 0.3), lw=0.6)
                ax.plot([x, x + w], [y + h * k / 4] * 2, color=(*control.color, 0.3), lw=0.6)
            cx, cy = control.options.get("default", (0.5, 0.5))
            px, py = x + cx * w, y + (1 - cy) * h  # y up, as the server's morph y
            ax.plot([px, px], [y, y + h], color=control.color, lw=0.8)
            ax.plot([x, x + w], [py, py], color=control.color, lw=0.8)
            ax.plot(px, py, "o", color=control.color, ms=9, mfc="none", mew=1.5)
            address(control.frame, f"{control.address} x y")
            ax.text(x + w / 2, y + h / 2 + 30, "morph", color=(*control.color, 0.6),
                    ha="center", fontsize=16)
        elif kind == "FADER":
            box(control.frame, control.color, 0.15)
            arg = control.args[0]
            low, high = arg.low, arg.high
            fill = arg.position_of(control.options.get("default", low))  # TouchOSC's 0..1
            if control.options.get("orientation", 0) == 1:
                ax.add_patch(Rectangle((x, y), w * fill, h, color=(*control.color, 0.7)))
                address(control.frame, control.address)
            else:
                ax.add_patch(Rectangle((x, y + h * (1 - fill)), w, h * fill,
                                       color=(*control.color, 0.7)))
                ax.text(x + w / 2, y - 4, control.address, color=(0.8, 0.8, 0.8),
                        fontsize=4.5, ha="center", va="bottom", family="monospace")
                ax.text(x + w / 2, y + 10, f"{high:g}", color=(0.9, 0.9, 0.9), fontsize=5,
                        ha="center")
                ax.text(x + w / 2, y + h - 6, f"{low:g}", color=(0.9, 0.9, 0.9), fontsize=5,
                        ha="center")
                if arg.curve != 1.0:  # a curved fader: where its middle is
                    ax.text(x + w / 2, y + h / 2, f"{arg.value_at(0.5):.3g}",
                            color=(0.9, 0.9, 0.9), fontsize=5, ha="center")
        elif kind == "BUTTON":
            box(control.frame, control.color, 0.35)
            address(control.frame, control.address)
        elif kind == "LABEL":
            if control.options.get("background", True):
                box(control.frame, control.color, 0.18)
            size = control.options.get("textSize", 14) * 0.55
            ax.text(x + w / 2, y + h / 2, control.text, color="white", fontsize=size,
                    ha="center", va="center")
            if control.address is not None:
                address(control.frame, control.address)
    fig.savefig(path, facecolor=fig.get_facecolor())
    plt.close(fig)
