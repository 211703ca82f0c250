"""Plot of the residents x items reliability trade-off (needs the ``plot`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from collective_efficacy.errors import DataError, require_extra

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["plot_reliability"]


def _curve(row: pd.Series, j: np.ndarray) -> np.ndarray:
    if row["method"] == "raudenbush_sampson":
        n = float(row["items"])
        tb, tp, s2 = float(row["tau_beta"]), float(row["tau_pi"]), float(row["sigma2"])
        return np.asarray(tb / (tb + (tp + s2 / n) / j))
    rho = float(row["icc"])
    return np.asarray(j * rho / (1.0 + (j - 1.0) * rho))


def plot_reliability(
    table: pd.DataFrame,
    *,
    max_residents: int | None = None,
    path: str | Path | None = None,
    figsize: tuple[float, float] = (7.0, 4.5),
    dpi: int = 150,
) -> Figure:
    """Reliability of the community score against residents per community, one curve per row.

    ``table`` is the result of
    :func:`~collective_efficacy.plan.residents_for_reliability`: one curve (Spearman–Brown, or
    the Raudenbush–Sampson reliability for each number of items), the target as a dashed line
    and the smallest number of residents reaching it marked on each curve.

    Parameters
    ----------
    table : DataFrame
        From ``residents_for_reliability`` (not modified).
    max_residents : int, optional
        Right end of the x axis (default: twice the largest number needed, at least 10).
    path : str or Path, optional
        Also save the figure there.
    figsize, dpi
        Figure size in inches and resolution.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from collective_efficacy.plan import plot_reliability, residents_for_reliability
    >>> fig = plot_reliability(residents_for_reliability(0.7, icc=0.15))
    >>> fig.axes[0].get_xlabel()
    'residents per community'
    """
    require_extra("matplotlib", "plot")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    need = {"method", "target", "items", "residents", "icc", "tau_beta", "tau_pi", "sigma2"}
    if not isinstance(table, pd.DataFrame) or not need <= set(table.columns) or table.empty:
        raise DataError(
            f"table must be the result of residents_for_reliability (columns {sorted(need)})",
            argument="table",
        )
    top = max_residents or max(10, 2 * int(table["residents"].max()))
    j = np.arange(1, top + 1, dtype=float)
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for _, row in table.iterrows():  # one curve per number of items (a handful)
        label = (
            "Spearman-Brown"
            if pd.isna(row["items"])
            else f"{int(row['items'])} item{'s' if int(row['items']) != 1 else ''}"
        )
        (line,) = ax.plot(j, _curve(row, j), label=label, lw=1.5)
        m = float(row["residents"])
        ax.plot([m], _curve(row, np.array([m])), "o", color=line.get_color())
    target = float(table["target"].iloc[0])
    ax.axhline(target, ls="--", color="0.4", lw=1)
    ax.set_xlabel("residents per community")
    ax.set_ylabel("reliability of the community score")
    ax.set_ylim(0, 1)
    ax.set_xlim(1, top)
    ax.set_title(f"Residents needed for reliability {target:.2f}", loc="left", fontsize=11)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    if path is not None:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return fig
