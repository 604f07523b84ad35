"""Figures on matplotlib's Agg canvas, saved atomically as PNG.

No pyplot: no global figure state, no display or backend selection needed, so
the tools work on headless training nodes and inside other programs.
matplotlib is imported when the first figure is made, so tools that only
read or write tables (and every ``--help``) start without it.
"""
from typing import TYPE_CHECKING

from ..utils.fileio import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ['new_figure', 'save_png']

DPI = 120


def new_figure(width: float, height: float) -> 'Figure':
    """A figure of ``width`` x ``height`` inches with an Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=DPI, layout='constrained')
    FigureCanvasAgg(fig)
    return fig


def save_png(fig: 'Figure', path: str) -> str:
    """Write ``fig`` to ``path`` as PNG (temp file + rename); return ``path``."""
    with atomic_write(path, 'wb') as f:
        fig.savefig(f, format='png', dpi=DPI)
    return path
