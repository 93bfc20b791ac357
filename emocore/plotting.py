"""Figures for the notebooks: every function draws on an ``ax`` it is given and returns it."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

EMOTION_COLORS = {
    "neutral": "#7f7f7f", "calm": "#17becf", "happy": "#ffb000", "sad": "#1f77b4", "angry": "#d62728",
    "fearful": "#9467bd", "disgusted": "#2ca02c", "surprised": "#e377c2",
}


def savefig(fig, name: str, fig_dir: str | Path = "figures", dpi: int = 120) -> Path:
    """Save ``fig`` as ``<fig_dir>/<name>.png`` (folders created) and return the path."""
    path = Path(fig_dir) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path


def frame_times_s(n_frames: int, frame_period_ms: float) -> np.ndarray:
    """Frame centres in seconds, shape ``(n_frames,)``."""
    return np.arange(n_frames) * frame_period_ms / 1000.0


def plot_f0_contours(contours: dict[str, np.ndarray], frame_period_ms: float, ax=None, colors=None):
    """Overlay F0 contours (``label -> (T,)`` in Hz); unvoiced frames are gaps, not drops to 0."""
    ax = ax or plt.gca()
    colors = colors or {}
    for label, f0_hz in contours.items():
        f0_plot = np.where(np.asarray(f0_hz) > 0, f0_hz, np.nan)
        ax.plot(frame_times_s(len(f0_plot), frame_period_ms), f0_plot, label=label, lw=1.6,
                color=colors.get(label, EMOTION_COLORS.get(label)))
    ax.set(xlabel="time (s)", ylabel="F0 (Hz)")
    ax.legend(frameon=False)
    return ax


def plot_distributions(frames: pd.DataFrame, value: str, hue: str = "emotion", ax=None, palette=None):
    """Kernel density of one per-frame column (e.g. ``log_f0``) for each ``hue`` group."""
    import seaborn as sns

    ax = ax or plt.gca()
    palette = palette or {k: v for k, v in EMOTION_COLORS.items() if k in set(frames[hue])}
    sns.kdeplot(data=frames, x=value, hue=hue, common_norm=False, fill=True, alpha=0.25, palette=palette, ax=ax)
    return ax


def plot_mcep(mcep: np.ndarray, frame_period_ms: float, ax=None, title: str | None = None, first_coef: int = 0):
    """Heat map of ``mcep (T, D)``: time on x, coefficient index on y (``first_coef`` labels row 0)."""
    ax = ax or plt.gca()
    t_end = len(mcep) * frame_period_ms / 1000.0
    image = ax.imshow(np.asarray(mcep).T, origin="lower", aspect="auto", cmap="magma",
                      extent=(0, t_end, first_coef - 0.5, first_coef + mcep.shape[1] - 0.5))
    ax.figure.colorbar(image, ax=ax, pad=0.01)
    ax.set(xlabel="time (s)", ylabel="MCEP coefficient")
    if title:
        ax.set_title(title)
    return ax


def plot_metric_bars(table: pd.DataFrame, metric: str, by: str, ax=None, lower_is_better: bool = True):
    """Bar plot of ``metric`` per ``by`` (mean with 95% CI over rows), best bar first."""
    import seaborn as sns

    ax = ax or plt.gca()
    order = table.groupby(by)[metric].mean().sort_values(ascending=lower_is_better).index
    sns.barplot(data=table, x=metric, y=by, order=order, errorbar=("ci", 95), ax=ax, color="#4c72b0")
    ax.set(ylabel="", xlabel=f"{metric} ({'lower' if lower_is_better else 'higher'} is better)")
    return ax


def plot_loss_curves(history: list[dict] | pd.DataFrame, losses: list[str] | None = None, ax=None,
                     smooth: int = 1):
    """Training losses against iteration (from ``training.train``'s history), one line per loss.

    Args:
        history: rows with an ``iteration`` column and one column per loss.
        losses: which columns to draw (default: every column ending in ``_loss`` or named like a loss).
        smooth: rolling-mean window in logged rows (1 = raw).
    """
    ax = ax or plt.gca()
    frame = pd.DataFrame(history)
    if losses is None:
        skip = {"iteration", "wall_time_s", "gen_lr", "disc_lr"}
        losses = [c for c in frame.columns if c not in skip and pd.api.types.is_numeric_dtype(frame[c])]
    for name in losses:
        ax.plot(frame["iteration"], frame[name].rolling(smooth, min_periods=1).mean(), label=name, lw=1.4)
    ax.set(xlabel="iteration", ylabel="loss")
    ax.legend(frameon=False, fontsize="small", ncol=2)
    return ax


def plot_metric_by_system(table: pd.DataFrame, metric: str, ax=None, hue: str = "target_emotion"):
    """Bars of one evaluation metric per system (x) and target emotion (colour), mean with 95% CI."""
    import seaborn as sns

    ax = ax or plt.gca()
    data = table.dropna(subset=[metric])
    palette = {k: v for k, v in EMOTION_COLORS.items() if k in set(data[hue])}
    sns.barplot(data=data, x="system", y=metric, hue=hue, palette=palette, errorbar=("ci", 95), ax=ax)
    ax.set(xlabel="")
    long = max((len(str(s)) for s in data["system"].unique()), default=0) > 14  # e.g. f0=cwt+power=cwt+mcep
    ax.tick_params(axis="x", rotation=90 if long else 20)
    return ax


def plot_mos(mos: pd.DataFrame, question: str, ax=None, hue: str = "target_emotion"):
    """MOS bars per system (x) and target emotion (colour), confidence intervals as error bars (cut at 1 and 5).

    Args:
        mos: a table of ``listening.analyze_mos`` (``system``, ``question``, ``target_emotion``, ``mean``,
            ``ci_low``, ``ci_high``); pooled ``"all"`` rows are drawn only when there is nothing else.
        question: ``"naturalness"``, ``"emotion"`` or ``"speaker"``.
    """
    ax = ax or plt.gca()
    data = mos[mos["question"] == question]
    if (data[hue] != "all").any():
        data = data[data[hue] != "all"]
    ax.set(title=f"MOS: {question}", ylim=(1, 5.2), ylabel="mean opinion score (1-5)")
    if data.empty:
        ax.text(0.5, 0.5, "no ratings yet", ha="center", va="center", transform=ax.transAxes)
        return ax
    systems = list(dict.fromkeys(data["system"]))
    groups = sorted(dict.fromkeys(data[hue]), key=lambda g: "+" in str(g))  # pooled "angry+happy" clips last
    width = 0.8 / len(groups)
    for k, group in enumerate(groups):
        rows = data[data[hue] == group].set_index("system").reindex(systems)
        x = (np.arange(len(systems)) + (k - (len(groups) - 1) / 2) * width)[rows["mean"].notna().to_numpy()]
        rows = rows.dropna(subset=["mean"])
        low, high = rows["ci_low"].clip(1, 5), rows["ci_high"].clip(1, 5)  # drawn within the scale
        err = np.vstack([rows["mean"] - low, high - rows["mean"]])
        ax.bar(x, rows["mean"], width, yerr=np.nan_to_num(err), capsize=3, label=group,
               color=EMOTION_COLORS.get(group))
    ax.set_xticks(np.arange(len(systems)), systems, rotation=20)
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_preference(ab: pd.DataFrame, ax=None, target_emotion: str | None = "all"):
    """Stacked A/B preference bars (``system_1`` | no preference | ``system_2``), one per pair and question.

    Args:
        ab: a table of ``listening.analyze_ab``.
        target_emotion: which rows to draw (``"all"``: pooled over emotions, when the table has them);
            ``None`` draws one bar per target emotion too.
    """
    ax = ax or plt.gca()
    if target_emotion is not None and (ab["target_emotion"] == target_emotion).any():
        ab = ab[ab["target_emotion"] == target_emotion]
    groups = list(ab.groupby(["system_1", "system_2", "question", "target_emotion"], sort=False))
    if not groups:
        ax.text(0.5, 0.5, "no answers yet", ha="center", va="center", transform=ax.transAxes)
        return ax
    for y, ((s1, s2, question, emotion), rows) in enumerate(groups):
        pct = rows.set_index("preferred")["pct"]
        left = 0.0
        for name, color in ((s1, "#4c72b0"), ("none", "#c7c7c7"), (s2, "#dd8452")):
            share = float(pct.get(name, 0.0))
            ax.barh(y, share, left=left, color=color)
            if share >= 8:
                ax.text(left + share / 2, y, f"{share:.0f}%", ha="center", va="center", fontsize="small")
            left += share
        ax.text(-1, y, f"{s1} vs {s2}\n{question}, {emotion}", ha="right", va="center", fontsize="small")
    ax.set(xlim=(0, 100), yticks=[], xlabel="preference (%): left system | no preference | right system")
    ax.invert_yaxis()
    return ax


def plot_judge_shift(shift: pd.DataFrame, ax=None, title: str | None = None):
    """Horizontal bars of one group of :func:`emocore.evaluation.explain_judge_shifts`: each feature's change
    of the judge's log-odds (target against the mistaken emotion); bars left of 0 push toward the mistake."""
    ax = ax or plt.gca()
    shift = shift.iloc[::-1]
    colors = ["#d62728" if v < 0 else "#2ca02c" for v in shift["logit_change"]]
    ax.barh(shift["feature"], shift["logit_change"], color=colors)
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel="change of log-odds, target vs mistaken emotion", title=title)
    ax.tick_params(axis="y", labelsize=8)
    return ax
