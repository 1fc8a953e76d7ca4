"""Plots (matplotlib, PNG or PDF by suffix): effect distributions and one variant's ref/alt tracks."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .errors import UsageError
from .outputs import MissingDependencyError


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise MissingDependencyError("plots need matplotlib: pip install 'seqzoo[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def read_scores(path: str | os.PathLike):
    import pandas as pd

    path = str(path)
    if path.endswith(".parquet"):
        return pd.read_parquet(path)
    if path.endswith(".tsv") or path.endswith(".tsv.gz"):
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=["nan", ""])
    raise UsageError(f"plot input {path} must be a seqzoo score table (.tsv, .tsv.gz or .parquet)")


def plot_effect_distributions(table, out: str | os.PathLike, scores: dict[str, str]) -> Path:
    """One histogram per model of its effect score ``scores[model]`` (rows of ``table``)."""
    plt = _pyplot()
    models = list(scores)
    fig, axes = plt.subplots(len(models), 1, figsize=(6, 2.6 * len(models)), squeeze=False)
    for ax, model in zip(axes[:, 0], models):
        rows = table[table["model"] == model] if "model" in table.columns else table
        values = np.asarray(rows[scores[model]], dtype=float)
        values = values[np.isfinite(values)]
        ax.hist(values, bins=min(50, max(5, len(values) // 5 or 5)), color="#4477aa")
        ax.set_title(f"{model}: {scores[model]} (n = {len(values)})", fontsize=10)
        ax.set_ylabel("rows")
    return _save(plt, fig, out)


def first_difference(ref: str, alt: str) -> int:
    """Index of the first position where two windows differ (the variant's position for an SNV)."""
    for i, (a, b) in enumerate(zip(ref, alt)):
        if a != b:
            return i
    return min(len(ref), len(alt))


def plot_tracks(title: str, tracks: dict[str, tuple[np.ndarray, np.ndarray]], variant_index: int,
                out: str | os.PathLike) -> Path:
    """Ref vs alt per track (name -> (ref (L,) or (L, k), alt)); the variant's index marked."""
    plt = _pyplot()
    fig, axes = plt.subplots(len(tracks), 1, figsize=(9, 2.4 * len(tracks)), squeeze=False, sharex=True)
    for ax, (name, (ref, alt)) in zip(axes[:, 0], tracks.items()):
        ref, alt = np.asarray(ref, float), np.asarray(alt, float)
        ax.plot(ref, color="#4477aa", lw=1, label="ref")
        ax.plot(alt, color="#cc3311", lw=1, alpha=0.8, label="alt")
        ax.axvline(variant_index, color="black", ls="--", lw=0.8)
        ax.set_ylabel(name, fontsize=9)
    axes[0, 0].set_title(title, fontsize=10)
    axes[0, 0].legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("window position (model orientation; dashed: variant)")
    return _save(plt, fig, out)


def _save(plt, fig, out: str | os.PathLike) -> Path:
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
