"""Results tables, plots and the self-contained HTML report."""

from __future__ import annotations

import base64
import html
import io
import json
import re
import textwrap
import unicodedata
from dataclasses import asdict
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

# plot files name corpora and methods as the cell files do: file-safe, one
# name per file, and no "__" (which joins a PCA plot's source and target)
from ._metrics import OTHER
from ._runner import _file_part as _slug
from ._runner import (
    _replace_file,
    fit_warning_rows,
    interval_notes,
    pooled_intervals,
    repeated_split_notes,
)

__all__ = ["write_outputs"]

_COLUMNS = [
    "source",
    "target",
    "method",
    "seed",
    "protocol",
    "status",
    "uar",
    "uar_low",
    "uar_high",
    "wa",
    "wa_low",
    "wa_high",
    "macro_f1",
    "macro_f1_low",
    "macro_f1_high",
    "n_train",
    "n_target_labelled",
    "target_labels_used",
    "n_test",
    "k_used",
    "n_classes",
    "mmd_before",
    "mmd_after",
    "pad_before",
    "pad_after",
    "label_free_score",
    "baseline_label_free_score",
    "predicted_hurt",
    "selected",
    "best_params",
    "seconds",
    "error",
]


def _subplots(nrows=1, ncols=1, **kw):
    """Return a Figure and axes without pyplot (no global matplotlib state)."""
    from matplotlib.figure import Figure

    figsize = kw.pop("figsize", None)
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


def _table(cells):
    base = {
        (c["source"], c["target"], c["seed"]): c
        for c in cells
        if c["method"] == "_baseline" and c.get("status") == "ok"
    }
    rows = []
    for c in cells:
        if c["method"] == "_baseline":
            continue
        b = base.get((c["source"], c["target"], c["seed"]), {})
        row = {k: c.get(k) for k in _COLUMNS}
        if "n_target_labelled" not in c and c.get("protocol") != "few_shot":
            # a cell of an earlier release: no labelled target rows
            row["n_target_labelled"], row["target_labels_used"] = 0, False
        row["n_classes"] = len(c.get("classes", []))
        used = c.get("k_used") or {}
        row["k_used"] = min(used.values()) if used else None  # fewest per class
        params = c.get("best_params") or {}
        row["best_params"] = (
            ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or None
        )
        row["mmd_before"], row["pad_before"] = b.get("mmd_after"), b.get("pad_after")
        # the baseline's score on the method's scorer, computed with the
        # kind of classifier (plain or calibrated) the method was scored with
        guard = (b.get("guard_scores") or {}).get(c.get("selection_classifier"))
        blf = (guard or {}).get(c.get("scorer"))
        row["baseline_label_free_score"] = blf
        lf = c.get("label_free_score")
        # auto chose among candidates including at least one that does not
        # adapt (whatever its name); a grid method's only candidate is itself
        # and keeps the baseline check
        plain = [
            n
            for n in c.get("non_adapting_candidates") or []
            if n in (c.get("candidate_scores") or {})
        ]
        if c.get("selected") is not None and plain:
            blf = max(c["candidate_scores"][n] for n in plain)
            row["baseline_label_free_score"] = blf
        row["predicted_hurt"] = (
            bool(lf < blf - 1e-9) if _finite(lf) and _finite(blf) else None
        )
        if c.get("selected") is not None and c.get("non_adapting_candidates"):
            row["predicted_hurt"] = c["selected"] in c["non_adapting_candidates"]
        rows.append(row)
    return pd.DataFrame(rows, columns=_COLUMNS)


def _finite(v):
    return v is not None and isinstance(v, int | float) and np.isfinite(v)


def _words(config):
    """How the report names the selection's and the guard's scores.

    Without target labels they are label-free (reverse validation ...);
    under the few-shot protocol they are UAR on labelled target rows, and
    calling that label-free would misstate what the choice saw.
    """
    if config.protocol.target == "few_shot":
        return {
            "score": "score on labelled target rows",
            "chosen": "choice on labelled target rows",
            "choices": "Choices made on labelled target rows",
            "guard": "the guard (scores on labelled target rows)",
            "selection": "selection on labelled target rows",
        }
    return {
        "score": "label-free score",
        "chosen": "label-free choice",
        "choices": "Choices made without target labels",
        "guard": "the label-free guard",
        "selection": "label-free selection",
    }


def _fig_to_b64(fig, path):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    data = buf.getvalue()
    _replace_file(path, data)
    return base64.b64encode(data).decode("ascii")


def _figure(fig, plots, name, caption):
    """Write ``fig`` to ``plots/<name>.png``; return the report's figure entry."""
    return name, caption, _fig_to_b64(fig, plots / f"{name}.png")


def _panels(n, width, height):
    """Return a Figure with ``n`` panels of ``width`` x ``height`` inches.

    The panels fill rows of at most 4 (axes of shape (rows, columns));
    the unused places of the last row are switched off.
    """
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig, axes = _subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False
    )
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    return fig, axes


def _heatmaps(df, metric, plots):
    figs = []
    ok = df[df["status"] == "ok"]
    for method in ok["method"].unique():
        sub = ok[ok["method"] == method]
        piv = (
            sub.pivot_table(
                index="source", columns="target", values=metric, aggfunc="mean"
            )
            * 100
        )
        fig, ax = _subplots(
            figsize=(1.2 + 1.1 * piv.shape[1], 0.9 + 0.8 * piv.shape[0])
        )
        im = ax.imshow(piv.to_numpy(dtype=float), vmin=0, vmax=100, cmap="viridis")
        ax.set_xticks(range(piv.shape[1]), piv.columns, rotation=30, ha="right")
        ax.set_yticks(range(piv.shape[0]), piv.index)
        ax.set_xlabel("target")
        ax.set_ylabel("source")
        for i in range(piv.shape[0]):
            for j in range(piv.shape[1]):
                v = piv.iat[i, j]
                if np.isfinite(v):
                    ax.text(
                        j,
                        i,
                        f"{_tidy(v):.1f}",
                        ha="center",
                        va="center",
                        color="white" if v < 60 else "black",
                        fontsize=9,
                    )
        ax.set_title(f"{_NAMES[metric]} (%) - {method}")
        fig.colorbar(im, ax=ax, fraction=0.046)
        figs.append(
            _figure(
                fig,
                plots,
                f"heatmap_{_slug(method)}",
                f"{_NAMES[metric]} heatmap, source x target: {method}",
            )
        )
    return figs


def _confusions(cells, plots):
    figs = []
    by_method = {}
    for c in cells:
        if c["method"] == "_baseline" or c.get("status") != "ok":
            continue
        key = (c["source"], c["target"])
        d = by_method.setdefault(c["method"], {})
        # (k, k + 1) where some predictions were none of the classes
        cm = _with_other(np.asarray(c["confusion"], dtype=float))
        if key in d:
            d[key] = (d[key][0] + cm, d[key][1])
        else:
            d[key] = (cm, c["classes"])
    for method, pairs in by_method.items():
        fig, axes = _panels(len(pairs), 3.6, 3.4)
        fig.set_layout_engine("constrained")  # labels of one pair clear the next
        for ax, ((s, t), (cm, labels)) in zip(
            axes.ravel(), sorted(pairs.items()), strict=False
        ):
            norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
            if not cm[:, -1].any():  # every prediction was a class
                norm = norm[:, :-1]
            predicted = list(labels) + [OTHER] * (norm.shape[1] - len(labels))
            ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
            # whole class names ("sadn" read as a class of its own)
            ax.set_xticks(
                range(len(predicted)),
                [_visible(v) for v in predicted],
                fontsize=7,
                rotation=35,
                ha="right",
                parse_math=False,
            )
            ax.set_yticks(
                range(len(labels)),
                [_visible(v) for v in labels],
                fontsize=7,
                parse_math=False,
            )
            for i in range(len(labels)):
                for j in range(len(predicted)):
                    ax.text(
                        j,
                        i,
                        f"{norm[i, j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if norm[i, j] > 0.5 else "black",
                    )
            ax.set_title(f"{s} -> {t}", fontsize=9)
            ax.set_xlabel("predicted", fontsize=8)
            ax.set_ylabel("true", fontsize=8)
        fig.suptitle(f"Confusion matrices (row-normalised): {method}")
        figs.append(
            _figure(
                fig,
                plots,
                f"confusion_{_slug(method)}",
                f"Confusion matrices: {method}",
            )
        )
    return figs


def _with_other(cm):
    """Give a stored confusion matrix its "other" column (zeros if it had none)."""
    if cm.shape[1] == cm.shape[0]:
        return np.hstack([cm, np.zeros((cm.shape[0], 1))])
    return cm


def _recall(cells, plots):
    rec = {}
    for c in cells:
        if c["method"] == "_baseline" or c.get("status") != "ok":
            continue
        for cls, r in c["recall"].items():
            if r is not None:
                rec.setdefault(c["method"], {}).setdefault(cls, []).append(r)
    if not rec:
        return []
    methods = list(rec)
    classes = sorted({k for d in rec.values() for k in d})
    width = 0.8 / len(methods)
    fig, ax = _subplots(
        figsize=(max(5, 1.3 * len(classes) * max(1, len(methods) / 3)), 3.6)
    )
    # a colour of its own for each method: the default cycle has 10, and
    # an 11th method's bars looked like the first's; past 20, hatches
    colours = _colours(len(methods))
    for i, m in enumerate(methods):
        vals = [100 * np.mean(rec[m].get(c, [np.nan])) for c in classes]
        ax.bar(
            np.arange(len(classes)) + i * width - 0.4 + width / 2,
            vals,
            width,
            label=m,
            color=colours[i % len(colours)],
            hatch=("", "//", "..", "xx")[i // len(colours) % 4],
        )
    ax.set_xticks(range(len(classes)), [_visible(c) for c in classes], parse_math=False)
    ax.set_ylabel("recall (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Per-class recall (mean over pairs and seeds)")
    # beside the axes: inside, it hid the bars of recalls near 100 %
    ax.legend(
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1),
        ncol=int(np.ceil(len(methods) / 16)),
    )
    return [_figure(fig, plots, "per_class_recall", "Per-class recall by method")]


def _colours(n):
    """Return the colours of ``n`` series: tab10, or tab20 past 10 of them."""
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i) for i in range(cmap.N)]


def _pca_views(cells, plots, seed):
    """PCA views of each pair, from the cells of one seed (the first)."""
    figs = []
    pairs = {}
    for c in cells:
        if c.get("status") != "ok" or "pca_after" not in c or c["seed"] != seed:
            continue
        pairs.setdefault((c["source"], c["target"]), {})[c["method"]] = c
    for (s, t), by in sorted(pairs.items()):
        if "_baseline" not in by:
            continue
        panels = [("before adaptation", by["_baseline"]["pca_after"])]
        panels += [(m, c["pca_after"]) for m, c in by.items() if m != "_baseline"]
        fig, axes = _panels(len(panels), 3.0, 2.8)
        # room for the title above the panels' own (one row included)
        fig.set_layout_engine("constrained")
        for ax, (title, view) in zip(axes.ravel(), panels, strict=False):
            xy = np.asarray(view["xy"], dtype=float)
            src = np.asarray(view["source"], dtype=bool)
            ax.scatter(xy[src, 0], xy[src, 1], s=6, alpha=0.6, label=f"source {s}")
            ax.scatter(xy[~src, 0], xy[~src, 1], s=6, alpha=0.6, label=f"target {t}")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        axes.ravel()[0].legend(fontsize=7)
        title = (
            f"PCA view of {s} (source) and {t} (target), before and after "
            "each method's adaptation"
        )
        # lines no wider than the figure (about 11 characters an inch at
        # this size): a row of two panels is narrower than the title
        width = max(20, int(11 * fig.get_figwidth()))
        fig.suptitle(textwrap.fill(title, width), fontsize=10)
        figs.append(
            _figure(
                fig, plots, f"pca_{_slug(s)}__{_slug(t)}", f"2-D view (PCA): {s} -> {t}"
            )
        )
    return figs


def compared_cells(df):
    """Return the finished rows of a results table, and those comparable.

    A cell is a pair and a seed; the comparable rows are those of the
    cells every method (with a finished cell) finished. A method's mean
    over other cells than another's does not rank the two: a method that
    failed on a hard pair would gain a place by failing.

    Parameters
    ----------
    df : pandas.DataFrame
        The results (``results.csv``): source, target, method, seed, status.

    Returns
    -------
    ok, common : pandas.DataFrame
        The rows whose status is ok; those of them in cells every method
        finished (all of ``ok`` when every method finished the same cells).

    Examples
    --------
    >>> import pandas as pd
    >>> from sertl_experiments._report import compared_cells
    >>> df = pd.DataFrame({"source": ["a", "a", "a", "a"],
    ...                    "target": ["b", "b", "c", "c"],
    ...                    "method": ["dss", "tca", "dss", "tca"], "seed": 0,
    ...                    "status": ["ok", "ok", "ok", "failed"]})
    >>> ok, common = compared_cells(df)
    >>> len(ok), sorted(common["target"].unique())
    (3, ['b'])
    """
    ok = df[df["status"] == "ok"]
    n = ok.groupby(["source", "target", "seed"])["method"].transform("nunique")
    return ok, ok[n == ok["method"].nunique()]


def n_pairs(rows):
    """Count the (source, target) pairs among ``rows``."""
    return rows[["source", "target"]].drop_duplicates().shape[0]


def _tidy(values):
    """``values`` rounded to 9 decimals: equal scores then print alike.

    A UAR of 15/48 computed as a sum of recalls is 0.31250000000000006,
    and as a share of correct rows 0.3125: at one decimal the first would
    show 31.3 and the second 31.2.
    """
    return np.round(values, 9)


def _summary(df, metric):
    """Return the mean of each method over pairs and seeds, and a note (or None).

    When every method finished the same cells, the methods are ranked on
    their means. When some did not, the means are over the cells every
    method finished (ranked on those), with each method's own pairs and
    mean beside them; when no cell was finished by every method, each
    mean is the method's own and the methods are not ranked.
    """
    ok, common = compared_cells(df)
    if ok.empty:
        return pd.DataFrame(), None
    name = _NAMES[metric]
    same = len(common) == len(ok)
    basis = ok if same or common.empty else common
    g = basis.groupby("method", sort=False)
    own = ok.groupby("method", sort=False)
    # the headline metric first, then the other two (each reported once)
    order = [metric] + [m for m in _NAMES if m != metric]
    cols = {f"mean {_NAMES[m]} %": 100 * g[m].mean() for m in order}
    cols["pairs"] = own[["source", "target"]].apply(n_pairs)
    if not same and not common.empty:
        cols[f"mean {name} % over its pairs"] = 100 * own[metric].mean()
    cols["predicted to hurt (cells)"] = own["predicted_hurt"].apply(
        lambda s: int(np.nansum([bool(v) for v in s if v is not None and v == v]))
    )
    out = _tidy(pd.DataFrame(cols)).round(1)
    if same:
        note = None
    elif common.empty:
        return out, (
            "No pair and seed was finished by every method, so each mean is "
            "over the method's own pairs (pairs: how many), and the means are "
            "not comparable: the methods are not ranked. The failed cells are "
            "listed below."
        )
    else:
        note = (
            "Not every method finished every pair and seed (the failed cells "
            f"are listed below): the means are over the {n_pairs(common)} "
            f"pair(s) (and seeds) that every method finished, of {n_pairs(ok)}, "
            "so that the methods are ranked on the same pairs. pairs: the pairs "
            f'each method finished; "mean {name} % over its pairs": its mean '
            "over all of them."
        )
    return out.sort_values(f"mean {name} %", ascending=False), note


_NAMES = {"uar": "UAR", "wa": "WA", "macro_f1": "macro-F1"}


def _pair_table(df, metric, intervals=None, *, few_shot=False):
    """Mean over the seeds of each (pair, method): the chosen metric with its CI.

    ``intervals`` (see :func:`~sertl_experiments._runner.pooled_intervals`)
    holds the bootstrap interval of the mean over the seeds; the other two
    metrics follow, each once, then the rows behind the figures.
    """
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame()
    keys = ["source", "target", "method"]
    g = ok.groupby(keys, sort=False)
    intervals = intervals or {}
    nan = (float("nan"), float("nan"))
    head = 100 * g[metric].mean()
    ci = [intervals.get(k, {}).get(metric, nan) for k in head.index]
    cols = {_NAMES[metric]: head}
    cols["CI low"] = pd.Series([100 * lo for lo, _ in ci], index=head.index)
    cols["CI high"] = pd.Series([100 * hi for _, hi in ci], index=head.index)
    for m in _NAMES:
        if m != metric:
            cols[_NAMES[m]] = 100 * g[m].mean()
    t = _tidy(pd.DataFrame(cols)).round(1)
    # rows behind each figure (mean over the seeds): the labelled rows the
    # model learned from (source, plus the few-shot target rows where the
    # method uses them; empty where that cannot be told) and the test rows
    shown = [("n_train", "labelled train rows")]
    if few_shot:
        ok = ok.assign(
            _target_used=[
                None if not _is_verdict(used) else (n if used else 0)
                for n, used in zip(
                    ok["n_target_labelled"], ok["target_labels_used"], strict=True
                )
            ]
        )
        shown.append(("_target_used", "of them labelled target rows"))
    shown.append(("n_test", "test rows"))
    by = [ok[k] for k in keys]
    for col, name in shown:
        values = pd.to_numeric(ok[col], errors="coerce")
        # unknown in any seed: unknown
        unknown = values.isna().groupby(by, sort=False).any()
        mean = values.groupby(by, sort=False).mean().where(~unknown)
        t[name] = mean.round(0).astype("Int64")
    return t.reset_index()


def _unknown_training_note(df):
    """Say which methods' labelled training rows could not be told, or None."""
    ok = df[(df["status"] == "ok") & df["n_train"].isna()]
    if ok.empty:
        return None
    methods = ", ".join(dict.fromkeys(ok["method"].astype(str)))
    return (
        f"Empty labelled train rows ({methods}): whether the method learns from "
        "the labelled target rows cannot be told (a step that is none of "
        "sertl's own classes and does not declare _sertl_uses_target_labels); "
        "results.csv gives the labelled source and target rows it was given "
        "(n_target_labelled)."
    )


def _splits_table(cells):
    """Return the few-shot split of each (pair, seed): test speakers and counts.

    Taken from the pair's cells of that seed (every method of a pair and
    seed has the same split).
    """
    rows = {}
    for c in sorted(cells, key=lambda c: (c["method"] != "_baseline", c["method"])):
        if c.get("status") != "ok" or c.get("protocol") != "few_shot":
            continue
        key = (c["source"], c["target"], c["seed"])
        if key in rows or c.get("test_speakers") is None:
            continue
        counts = c.get("test_class_counts") or {}
        shots = c.get("k_used") or {}
        rows[key] = {
            "source": c["source"],
            "target": c["target"],
            "seed": c["seed"],
            "test speakers": ", ".join(map(str, c["test_speakers"])),
            "test utterances": ", ".join(f"{k} {v}" for k, v in counts.items()),
            "labelled target utterances": ", ".join(
                f"{k} {v}" for k, v in shots.items()
            ),
        }
    cols = [
        "source",
        "target",
        "seed",
        "test speakers",
        "test utterances",
        "labelled target utterances",
    ]
    return pd.DataFrame([rows[k] for k in sorted(rows)], columns=cols)


_SPLITS_NOTE = (
    "The few-shot split of each pair and seed: the test speakers, the test "
    "utterances per class, and the labelled target utterances per class "
    "(from the other speakers; each cell file lists them in shot_files)."
)


def _guard_table(df, words):
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return pd.DataFrame()
    scores = [
        "mmd_before",
        "mmd_after",
        "pad_before",
        "pad_after",
        "baseline_label_free_score",
        "label_free_score",
    ]
    keys = ["source", "target", "method"]
    g = ok.groupby(keys, sort=False)
    # the scores are means over the seeds; the verdict and the choice are
    # counted over them (the banner above the table uses the same counts)
    t = pd.DataFrame(
        {c: pd.to_numeric(g[c].mean(), errors="coerce").round(3) for c in scores}
    )
    t["predicted_hurt"] = g["predicted_hurt"].apply(
        lambda s: _verdict_text(*_hurt_counts(s))
    )
    t["selected"] = g["selected"].apply(_choices_text)
    t = t.reset_index()
    return t.rename(
        columns={
            "baseline_label_free_score": f"{words['score']}, no adaptation",
            "label_free_score": f"{words['score']}, method",
        }
    )


def _is_verdict(v):
    """Whether a cell's ``predicted_hurt`` holds a verdict (not None/NaN)."""
    return v is not None and v == v


def _hurt_counts(values):
    """(seeds predicted to hurt, seeds with a verdict) among ``values``."""
    verdicts = [bool(v) for v in values if _is_verdict(v)]
    return sum(verdicts), len(verdicts)


def _verdict_text(n_hurt, n_checked):
    """Return the guard table's verdict for one (pair, method) over its seeds."""
    if not n_checked:
        return "n/a"
    if n_checked == 1:
        return "yes: adaptation predicted to hurt" if n_hurt else "no"
    if not n_hurt:
        return f"no (none of {n_checked} seeds)"
    return f"yes in {n_hurt} of {n_checked} seeds: adaptation predicted to hurt"


def _choices_text(values):
    """Return what ``auto`` chose over the seeds (``dss (2 seeds), coral``)."""
    picks = [str(v) for v in values if isinstance(v, str)]
    if not picks:
        return None
    counts = pd.Series(picks).value_counts(sort=False)
    if len(counts) == 1:
        return counts.index[0]
    return ", ".join(
        f"{name} ({n} seed{'' if n == 1 else 's'})" for name, n in counts.items()
    )


def _models_table(config, cells, out):
    """Where each (pair, method)'s model was saved, or why none was.

    With the saved model's own UAR on the cell's test rows next to the
    reported one, and the share of those rows it labels as the scored
    model does (see :func:`_models_note`).
    """
    if not config.save_models:
        return pd.DataFrame()
    first = config.protocol.seeds[0]
    reported, saved_uar, agree = "reported UAR %", "saved model's UAR %", "same label %"
    cols = ["source", "target", "method", "model", reported, saved_uar, agree]
    rows = []
    for c in cells:
        if c["method"] == "_baseline" or c["seed"] != first:
            continue
        row = dict.fromkeys(cols, "")
        row.update(source=c["source"], target=c["target"], method=c["method"])
        if c.get("status") != "ok":
            row["model"] = f"not saved: the cell failed ({c.get('error')})"
        elif c.get("model"):
            path = Path(c["model"])
            row["model"] = (
                str(path.relative_to(out)) if path.is_relative_to(out) else str(path)
            )
            row[reported] = _percent(c.get("uar"))
            row[saved_uar] = _percent(c.get("model_uar"))
            row[agree] = _percent(c.get("model_agreement"))
        else:
            row["model"] = c.get("model_not_saved") or "not saved"
        rows.append(row)
    return pd.DataFrame(rows, columns=cols).sort_values(cols[:3], ignore_index=True)


def _percent(v):
    """``v`` (a share) as a percentage with one decimal, or "" when unknown."""
    return f"{_tidy(100 * v):.1f}" if _finite(v) else ""


def _models_note(config, cells):
    """Return the sentences above the "Saved models" table."""
    first = config.protocol.seeds[0]
    note = (
        "save_models = true: the model of each pair and method, fitted with "
        f"seed {first} (paths relative to the output folder), or why none was "
        "saved."
    )
    saved = [c for c in cells if c.get("model") and c["seed"] == first]
    if any(c.get("model_calibrated") for c in saved):
        note += (
            " The saved model is not the model whose results are reported: it "
            "is a probability-calibrated refit of it on the same training rows "
            "(the classifier wrapped in a 3-fold sigmoid CalibratedClassifierCV, "
            "which gives sertl predict its class probabilities), and its labels "
            "can differ from the scored model's. On the cell's test rows, "
            '"saved model\'s UAR %" is its UAR and "same label %" the share of '
            "the rows it labels as the scored model does."
        )
    elif saved:
        note += (
            " The saved model is the scored model (its classifier gives class "
            'probabilities of its own); "saved model\'s UAR %" and "same label '
            "%\" check it on the cell's test rows."
        )
    return note


_LEFT_OUT_NOTE = (
    "Files no pair of the experiment uses, by corpus and label (after "
    "[labels] mapping), and why."
)


def _cell_text(v, floatfmt):
    """Return one table cell as results.md and report.html print it."""
    if isinstance(v, float):
        return "" if not np.isfinite(v) else format(_tidy(v), floatfmt)
    if v is None or v is pd.NA:
        return ""
    return str(v)


def _to_md(df, floatfmt=".1f"):
    if df.empty:
        return "_no results_\n"
    cols = list(df.columns)
    lines = [
        "| " + " | ".join(_md_text(c) for c in cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for _, r in df.iterrows():
        vals = [_md_text(_cell_text(v, floatfmt)) for v in r]
        lines.append("| " + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


# Characters that Markdown (CommonMark, GitHub's tables and math) reads as
# markup, each shown as itself: the backslash escapes (the backslash first,
# so that a label's own backslash cannot escape what follows it), and the
# entities of the characters that start HTML or an entity
_MD_BACKSLASHED = "\\`*_[]|~$"
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_ESCAPES = str.maketrans(
    {**{ch: "\\" + ch for ch in _MD_BACKSLASHED}, **_MD_ENTITIES}
)


def _md_escape(text):
    r"""``text`` as plain text in results.md, its markup characters escaped.

    Labels, names and messages come from the corpora and the config: a
    label's ``|`` would end its table cell, ``*a*``, ``_a_``, backticks,
    ``[a](b)`` or ``$x$`` would render as emphasis, code, a link or math, a
    ``<script>`` would run in a viewer that renders raw HTML, and ``&lt;``
    would show as ``<``. Each such character is escaped (``\|``, ``\*``,
    ``&lt;``, ``&amp;`` ...), so every viewer shows the text as given;
    control characters are shown as escapes (:func:`_visible`).

    >>> print(_md_escape("a|b *c* <i>&amp; [x](y) `z` \\"))
    a\|b \*c\* &lt;i&gt;&amp;amp; \[x\](y) \`z\` \\
    """
    return _visible(text).translate(_MD_ESCAPES)


# what makes a line of a note a heading, a list item, a setext underline or
# a thematic break (CommonMark, up to three spaces in): "# x", "- x", "+ x",
# "1. x", "2) x" (each mark followed by a space or the line's end), a line
# of "=" or of "-" only (">" is written &gt;; "*" and "_" are escaped anyway)
_MD_LINE_START = re.compile(
    r"^( {0,3})(#{1,6}(?=[ \t]|$)|[-+](?=[ \t]|$)|[0-9]{1,9}(?=[.)](?:[ \t]|$))"
    r"|=+[ \t]*$|-+[ \t]*$)",
    re.MULTILINE,
)


def _md_note(text):
    r"""``text`` as a paragraph of results.md that keeps its line breaks.

    As :func:`_md_escape`, and a line that a label would turn into a
    heading, a list item or an underline has that mark escaped.

    >>> print(_md_note("sad\n# calm\n- joy\n12. fear\n---\n#5 is 60.4 - 2"))
    sad
    \# calm
    \- joy
    12\. fear
    \---
    #5 is 60.4 - 2
    """
    return _MD_LINE_START.sub(_escape_line_start, _md_escape(text))


def _escape_line_start(match):
    """``match`` of :data:`_MD_LINE_START` with its block mark escaped."""
    indent, mark = match.groups()
    if mark.isdigit():  # "12." -> "12\\.": the escape goes before the dot
        return f"{indent}{mark}\\"
    return f"{indent}\\{mark}"


_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _visible(text):
    r"""``text`` with its control characters (but line breaks) as escapes.

    Labels, names and messages are shown, not obeyed: an escape sequence
    (``\x1b[2J``) would reach the terminal of whoever runs ``cat
    results.md``, a bidi override (U+202E) would show the rest of its
    table cell or line reversed ("anger 20" as "02 regna").

    >>> _visible("\u202eanger\x1b[2J\tsad\nline")
    '\\u202eanger\\x1b[2J\tsad\nline'
    """
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if ch in _BIDI_CONTROLS
        or (unicodedata.category(ch) == "Cc" and ch not in "\t\n")
        else ch
        for ch in str(text)
    )


def _esc(text):
    """``text`` escaped for report.html, its control characters shown."""
    return html.escape(_visible(text))


_READER_WARNINGS_NOTE = (
    "What the corpus readers warned about while reading, besides the skipped "
    "files (times: how often a reader gave the same warning)."
)


_FIT_WARNINGS_NOTE = (
    "What fitting or predicting the cells' models warned about (a classifier "
    "that did not converge, an adapter fitted without target rows, ...), once "
    "per kind (texts that differ only in their numbers are one row): cells, "
    "how many of the run's cells raised it; e.g., one of them."
)


_CAUTIONS_NOTE = (
    "Files that gave features and were kept, with the cautions `sertl predict` "
    "gives on such a file (the first file's note shown; the run's log names "
    "the kind for every corpus): recorded below 16 kHz (no upper band), far "
    "longer than an utterance, few voiced frames, odd sample values. Their "
    "features differ from the other files'; check them, or leave them out of "
    "the corpus table. (Clipping is checked by `sertl predict` only.)"
)


def _md_text(text):
    r"""``text`` as one cell of a Markdown table (its lines joined by <br>).

    Every cell of results.md's tables, and its title, go through it.

    >>> print(_md_text("anger|joy\n_sad_"))
    anger\|joy<br>\_sad\_
    """
    return _md_escape(text).replace("\n", "<br>")


def _lines_html(df, table_id):
    """``df`` as an HTML table whose cells keep their line breaks.

    ``DataFrame.to_html`` writes a newline as a backslash and an ``n``;
    here a line break is a ``<br>``, as in results.md.
    """

    def text(v):
        return html.escape(_visible(v), quote=False).replace("\n", "<br>")

    head = "".join(f'<th scope="col">{text(c)}</th>' for c in df.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{text(v)}</td>" for v in r) + "</tr>"
        for r in df.itertuples(index=False)
    )
    return (
        f"<table id='{table_id}'><thead><tr>{head}</tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _failed_cells(cells):
    """Return the failed cells as a table (the guard's baseline cells included)."""
    rows = [
        {
            "source": c["source"],
            "target": c["target"],
            "method": (
                "_baseline (no adaptation, for the guard)"
                if c["method"] == "_baseline"
                else c["method"]
            ),
            "seed": c["seed"],
            "error": c.get("error"),
        }
        for c in cells
        if c.get("status") != "ok"
    ]
    cols = ["source", "target", "method", "seed", "error"]
    return pd.DataFrame(rows, columns=cols).sort_values(cols[:4], ignore_index=True)


def _failed_note(cells):
    """Return a sentence on the failed cells for the report's top (None: none)."""
    n_failed = sum(c.get("status") != "ok" for c in cells)
    if not n_failed:
        return None
    n_base = sum(c.get("status") != "ok" and c["method"] == "_baseline" for c in cells)
    base = (
        f" ({n_base} of them the no-adaptation baseline of the negative-transfer "
        "guard, whose methods then go unchecked)"
        if n_base
        else ""
    )
    head = (
        f"All {len(cells)} cells failed"
        if n_failed == len(cells)
        else f"{n_failed} of {len(cells)} cells failed"
    )
    return (
        f"{head}{base}: their results are missing from every table and plot "
        "below. The errors are listed under the failed cells; a rerun computes "
        "the failed cells again and keeps the others."
    )


def write_outputs(
    config,
    cells,
    skipped,
    out,
    reader_warnings=None,
    pair_classes=None,
    left_out=None,
    cautions=None,
):
    """Write results.csv, results.md, plots/ and report.html; return the report path.

    ``skipped`` lists the skipped files, ``reader_warnings`` the corpus
    readers' other warnings (``corpus``, ``warning``, ``times``),
    ``pair_classes`` the classes of each pair (``source``, ``target``,
    ``classes``, ``left out``, and the utterances per class), ``left_out``
    the labels whose files no pair uses (``corpus``, ``label``, ``files``,
    ``why``) and ``cautions`` the kinds of caution on kept files
    (``corpus``, ``caution``, ``files``, ``examples``, ``note``).
    """
    out = Path(out)
    plots = out / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    metric = config.protocol.metric
    words = _words(config)
    df = _table(cells).sort_values(["source", "target", "method", "seed"])
    # results.csv and results.md are written with report.html, after the
    # figures, each whole (see _replace_file): a run stopped while drawing
    # (Ctrl-C, a full disk) leaves the earlier run's three files, not a new
    # table beside an old report, or a torn table
    csv_text = df.to_csv(index=False)
    summary, summary_note = _summary(df, metric)
    summary_notes = [summary_note] if summary_note else []
    few_shot = config.protocol.target == "few_shot"
    pairs = _pair_table(
        df,
        metric,
        pooled_intervals(cells, asdict(config.protocol)),
        few_shot=few_shot,
    )
    pairs_notes = [_pairs_note(config)]
    pairs_notes += [n for n in [_unknown_training_note(df)] if n]
    pairs_notes += interval_notes(cells)
    repeated = repeated_split_notes(cells)
    splits = _splits_table(cells) if few_shot else pd.DataFrame()
    guard = _guard_table(df, words)
    errors = _failed_cells(cells)
    failed_note = _failed_note(cells)
    pair_classes = pd.DataFrame(pair_classes or [])
    if few_shot:  # the test counts of each seed are in the few-shot splits
        pair_classes = pair_classes.rename(
            columns={"target utterances": "target utterances (whole corpus)"}
        )
    left_out = pd.DataFrame(left_out or [])
    failed_candidates = pd.DataFrame(
        [
            {
                "source": c["source"],
                "target": c["target"],
                "method": c["method"],
                "seed": c["seed"],
                "candidate": name,
                "reason": reason,
            }
            for c in cells
            for name, reason in sorted((c.get("candidate_errors") or {}).items())
        ]
    )
    chosen = df["selected"].notna()
    auto = (
        df[chosen][
            ["source", "target", "method", "seed", "selected", "best_params", metric]
        ].fillna({"best_params": "-"})
        if chosen.any()
        else (pd.DataFrame())
    )
    md = [
        f"# Experiment {_md_text(config.name)}\n",
        f"Protocol: target {config.protocol.target}"
        + (f", k = {config.protocol.k}" if config.protocol.target == "few_shot" else "")
        + (
            f" (fewer in some cells, where a class had fewer labelled rows: "
            f"as few as {int(df['k_used'].min())}, see k_used in results.csv)"
            if config.protocol.target == "few_shot"
            and df["k_used"].notna().any()
            and df["k_used"].min() < config.protocol.k
            else ""
        )
        + f"; seeds {config.protocol.seeds}; metric {_NAMES[metric]}; features "
        f"{config.features.set}; classifier {_md_note(_classifier_text(config))}.\n",
        f"Corpora: {_md_note(_corpora_text(config))}.\n",
    ]
    if failed_note:
        md.append(f"**{_md_note(failed_note)}**\n")
    md += [f"**Warning: {_md_note(note)}**\n" for note in repeated]
    md += [
        "## Mean over pairs and seeds\n",
        *[f"{_md_note(note)}\n" for note in summary_notes],
        _to_md(summary.reset_index()),
        f"\n## {_pairs_title(config)}\n",
        *[f"{_md_note(note)}\n" for note in pairs_notes],
        _to_md(pairs),
        "\n## Domain discrepancy and negative-transfer guard\n",
        _to_md(guard, ".3f"),
    ]
    if not pair_classes.empty:
        md += ["\n## Classes of each pair\n", _to_md(pair_classes)]
    if not splits.empty:
        md += ["\n## Few-shot splits\n", _SPLITS_NOTE + "\n", _to_md(splits)]
    if not left_out.empty:
        md += ["\n## Labels left out\n", _LEFT_OUT_NOTE + "\n", _to_md(left_out)]
    if not auto.empty:
        md += [
            f'\n## {words["choices"]} (method = "auto" and parameter grids)\n',
            "`selected`: the method an auto cell chose (a grid method names "
            "itself); `best_params`: the parameters its search chose.\n",
            _to_md(auto, ".3f"),
        ]
    models = _models_table(config, cells, out)
    models_note = _models_note(config, cells)
    if config.save_models:
        md += ["\n## Saved models\n", models_note + "\n", _to_md(models)]
    if not failed_candidates.empty:
        md += [
            "\n## Candidates that could not be scored\n",
            f"These candidates of a {words['selection']} failed on at least one "
            "split; they were scored on the other splits, or left out.\n",
            _to_md(failed_candidates),
        ]
    if skipped:
        md += ["\n## Skipped files\n", _to_md(pd.DataFrame(skipped))]
    cautions = pd.DataFrame(cautions or [])
    if not cautions.empty:
        md += [
            "\n## Files with cautions\n",
            _CAUTIONS_NOTE + "\n",
            _to_md(cautions),
        ]
    warned = pd.DataFrame(reader_warnings or [])
    if not warned.empty:
        md += [
            "\n## Reader warnings\n",
            _READER_WARNINGS_NOTE + "\n",
            _to_md(warned),
        ]
    fit_warned = pd.DataFrame(fit_warning_rows(cells))
    if not fit_warned.empty:
        md += [
            "\n## Warnings while fitting\n",
            _FIT_WARNINGS_NOTE + "\n",
            _to_md(fit_warned),
        ]
    if not errors.empty:
        md += ["\n## Failed cells\n", _to_md(errors)]
    md_text = "\n".join(md)

    figs = []
    ok_df = df[df["status"] == "ok"]
    if not ok_df.empty:
        figs += _heatmaps(df, metric, plots)
        figs += _confusions(cells, plots)
        figs += _recall(cells, plots)
        figs += _pca_views(cells, plots, config.protocol.seeds[0])
    # plots/ holds this report's figures only: an earlier run's of a method
    # or pair no longer in the experiment go, also when every cell was
    # reused (the user's own files that are no PNG stay)
    drawn = {f"{fid}.png" for fid, *_ in figs}
    for f in plots.glob("*.png"):
        if f.name not in drawn:
            f.unlink()
    tables = [
        ("summary", "Mean over pairs and seeds", summary.reset_index(), *summary_notes),
        ("pairs", _pairs_title(config), pairs, *pairs_notes),
        (
            "guard",
            "Domain discrepancy (MMD, proxy A-distance) and the "
            "negative-transfer guard",
            guard,
        ),
    ]
    if not pair_classes.empty:
        tables.append(("classes", "Classes of each pair", pair_classes))
    if not splits.empty:
        tables.append(("splits", "Few-shot splits", splits, _SPLITS_NOTE))
    if not left_out.empty:
        tables.append(("left-out", "Labels left out", left_out, _LEFT_OUT_NOTE))
    if not auto.empty:
        tables.append(("auto", f'{words["choices"]} (method = "auto", grids)', auto))
    if config.save_models:
        tables.append(("models", "Saved models", models, models_note))
    if not failed_candidates.empty:
        tables.append(
            (
                "failed-candidates",
                "Candidates that could not be scored",
                failed_candidates,
            )
        )
    if skipped:
        tables.append(("skipped", "Files reported and skipped", pd.DataFrame(skipped)))
    if not cautions.empty:
        tables.append(
            (
                "cautions",
                "Files with cautions",
                _lines_html(cautions, "tab-cautions"),
                _CAUTIONS_NOTE,
            )
        )
    if not warned.empty:
        tables.append(
            (
                "reader-warnings",
                "Reader warnings",
                _lines_html(warned, "tab-reader-warnings"),
                _READER_WARNINGS_NOTE,
            )
        )
    if not fit_warned.empty:
        tables.append(
            (
                "fit-warnings",
                "Warnings while fitting",
                _lines_html(fit_warned, "tab-fit-warnings"),
                _FIT_WARNINGS_NOTE,
            )
        )
    if not errors.empty:
        tables.append(("errors", "Cells that failed", errors))
    report = out / "report.html"
    html_text = _html(
        config, tables, figs, df, failed_note=failed_note, warnings=repeated
    )
    _replace_file(out / "results.csv", csv_text.encode("utf-8"))
    _replace_file(out / "results.md", md_text.encode("utf-8"))
    _replace_file(report, html_text.encode("utf-8"))
    return report


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;
max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
th{background:#f3f3f3}figure{display:inline-block;vertical-align:top;margin:.6em}img{max-width:100%}
.warn{background:#fff3cd;border:1px solid #e0c36b;padding:.6em}
.ok{background:#e9f6ec;border:1px solid #8cc79a;padding:.6em}
#tab-reader-warnings td,#tab-cautions td{white-space:pre-wrap;text-align:left}
figcaption{font-size:.85em;color:#555}
"""

_JS = """
window.addEventListener('load', function () {
  var imgs = document.querySelectorAll('img');
  var ok = 0;
  imgs.forEach(function (im) { if (im.complete && im.naturalWidth > 0) ok++; });
  document.body.setAttribute('data-images-total', imgs.length);
  document.body.setAttribute('data-images-ok', ok);
  document.body.setAttribute('data-tables', document.querySelectorAll('table').length);
});
"""


def _guard_banner(config, df):
    """Return the negative-transfer guard's verdict for the top of the report.

    Green only when the guard checked every cell of every method and none
    is predicted to hurt: a failed cell, or one without a guard score (its
    baseline cell failed, a score was not finite), is named as not checked.
    """
    esc = _esc
    words = _words(config)
    autos = {m.name for m in config.methods if m.auto}
    hurt, unchecked, checked, verdicts = {}, {}, set(), {}
    for r in df.itertuples():
        key = (r.source, r.target, r.method)
        verdict = r.predicted_hurt  # True, False, or None/NaN: no verdict
        if r.status != "ok":
            unchecked.setdefault(key, "its cell failed")
        elif not _is_verdict(verdict):
            unchecked.setdefault(key, "no score to compare with no adaptation")
        else:
            checked.add(key)
            verdicts.setdefault(key, []).append(verdict)
            if bool(verdict):
                hurt.setdefault(key, []).append(r.selected)

    def seeds(key):
        n_hurt, n_checked = _hurt_counts(verdicts[key])
        return f" (in {n_hurt} of {n_checked} seeds)" if n_checked > 1 else ""

    hurt_items = "".join(
        f"<li>{esc(s)} &rarr; {esc(t)}: {esc(m)}{seeds((s, t, m))}"
        + (
            f" (auto kept {esc(_choices_text(sel))}, which does not adapt)"
            if m in autos and _choices_text(sel)
            else ""
        )
        + "</li>"
        for (s, t, m), sel in hurt.items()
    )
    unchecked_items = "".join(
        f"<li>{esc(s)} &rarr; {esc(t)}: {esc(m)} ({esc(why)})</li>"
        for (s, t, m), why in unchecked.items()
    )
    if hurt:
        text = (
            "<b>Adaptation is predicted to hurt</b> (its "
            f"{words['score']} is below that of no adaptation) for:"
            f"<ul>{hurt_items}</ul>"
        )
        if unchecked:
            text += f"Not checked by the guard:<ul>{unchecked_items}</ul>"
    elif unchecked and not checked:
        text = (
            "<b>The negative-transfer guard checked no method</b>:"
            f"<ul>{unchecked_items}</ul>"
        )
    elif unchecked:
        text = (
            f"No method that {words['guard']} could check is predicted to hurt, "
            f"but it could not check:<ul>{unchecked_items}</ul>"
        )
    elif df.empty:
        text = "<b>The negative-transfer guard checked no method</b>: no cell ran."
    else:
        return (
            "<div class='ok' id='negative-transfer'>No method is predicted to "
            f"hurt by {words['guard']}.</div>"
        )
    return f"<div class='warn' id='negative-transfer'>{text}</div>"


def _html(config, tables, figs, df, *, failed_note=None, warnings=()):
    esc = _esc
    words = _words(config)
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>sertl report: {esc(config.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>sertl experiment report: {esc(config.name)}</h1>",
        f"<p>Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}. "
        f"Protocol: target <b>{esc(config.protocol.target)}</b>"
        + (
            f" (k = {config.protocol.k})"
            if config.protocol.target == "few_shot"
            else ""
        )
        + f"; seeds {esc(str(config.protocol.seeds))}; metric "
        f"<b>{esc(_NAMES[config.protocol.metric])}</b>; features "
        f"{esc(config.features.set)}; classifier "
        f"{esc(_classifier_text(config))}.</p>",
        f"<p id='corpora'>Corpora: {esc(_corpora_text(config))}.</p>",
    ]
    if failed_note:
        parts.append(
            f"<div class='warn' id='failed-cells'><b>{esc(failed_note)}</b> "
            "<a href='#tab-errors'>Cells that failed</a></div>"
        )
    parts += [
        f"<div class='warn' id='repeated-splits'><b>Warning:</b> {esc(w)}</div>"
        for w in warnings
    ]
    methods = "".join(
        f"<li><b>{esc(m.name)}</b>: "
        + esc(
            (
                f"auto ({words['chosen']} among "
                + (", ".join(m.candidates) if m.candidates else "installed methods")
                + ")"
            )
            if m.auto
            else _describe(m, config)
        )
        + "</li>"
        for m in config.methods
    )
    parts.append(f"<h2>Methods</h2><ul>{methods}</ul>")
    parts.append(_guard_banner(config, df))
    manifest = {"tables": [], "figures": []}
    for tid, title, t, *note in tables:
        manifest["tables"].append(f"tab-{tid}")
        body = (
            t  # already HTML
            if isinstance(t, str)
            # every cell as results.md prints it (decimals, empty cells, line
            # breaks) (column by column: DataFrame.map is pandas >= 2.1)
            else _lines_html(
                t.apply(
                    pd.Series.map,
                    args=(
                        partial(_cell_text, floatfmt=_FLOAT_FORMATS.get(tid, ".1f")),
                    ),
                ),
                f"tab-{tid}",
            )
            if not t.empty
            else (f"<table id='tab-{tid}'><tr><td>no rows</td></tr></table>")
        )
        intro = "".join(f"<p>{esc(n)}</p>" for n in note)
        parts.append(f"<h2>{esc(title)}</h2>{intro}{body}")
    parts.append("<h2>Plots</h2>")
    for fid, caption, b64 in figs:
        manifest["figures"].append(f"fig-{fid}")
        parts.append(
            f"<figure><img id='fig-{esc(fid)}' alt='{esc(caption)}' "
            f"src='data:image/png;base64,{b64}'><figcaption>{esc(caption)}"
            "</figcaption></figure>"
        )
    parts.append(
        "<script type='application/json' id='sertl-manifest'>"
        + json.dumps(manifest)
        + "</script>"
    )
    parts.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(parts)


# decimals of the tables whose numbers are no percentages (results.md's too)
_FLOAT_FORMATS = {"guard": ".3f", "auto": ".3f"}


def _pairs_title(config):
    name = _NAMES[config.protocol.metric]
    if not config.protocol.bootstrap:  # no interval (the note says so)
        return f"Per pair ({name} %)"
    return (
        f"Per pair ({name} %, {config.protocol.confidence * 100:g} % "
        "bootstrap CI of the mean over the seeds)"
    )


def _classifier_text(config):
    """Name the classifier and the ``[classifier] params`` that override its defaults.

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> cfg = parse_config({"corpora": {"a": {"root": "."}, "b": {"root": "."}},
    ...                     "classifier": {"params": {"C": 10.0}},
    ...                     "methods": [{"name": "dss"}]})
    >>> _classifier_text(cfg)
    'svc with C=10.0'
    """
    params = ", ".join(
        f"{k}={v!r}" for k, v in sorted(config.classifier_params.items())
    )
    return f"{config.classifier} with {params}" if params else config.classifier


def _corpora_text(config):
    """Name each corpus of the matrix with its reader, root and reader options.

    Examples
    --------
    >>> from sertl_experiments import parse_config
    >>> cfg = parse_config({"corpora": {"a": {"reader": "emodb", "root": "/d/a"},
    ...                                 "b": {"reader": "folders", "root": "/d/b"}},
    ...                     "methods": [{"name": "dss"}]})
    >>> _corpora_text(cfg)
    'a (reader emodb, root /d/a); b (reader folders, root /d/b)'
    """
    used = {c for s in config.sources for c in s} | set(config.targets)
    return "; ".join(
        f"{name} (reader {spec.reader}, root {spec.root}"
        + (f", options {spec.options}" if spec.options else "")
        + ")"
        for name, spec in config.corpora.items()
        if name in used
    )


def _pairs_note(config):
    """Say what the per-pair table's figures and interval are."""
    prot = config.protocol
    name = _NAMES[prot.metric]
    unit = (
        "test speakers (all the utterances of each speaker drawn)"
        if prot.bootstrap_unit == "speaker"
        else "test utterances within each class (each resample keeps the class counts)"
    )
    one = len(prot.seeds) == 1
    text = f"{name}, the two other metrics and the row counts are " + (
        f"those of seed {prot.seeds[0]}. " if one else "means over the seeds. "
    )
    if prot.bootstrap and one:
        text += (
            f"CI low / CI high: the {prot.confidence * 100:g} % percentile "
            f"bootstrap interval of {name} ({prot.bootstrap} resamples, each "
            f"drawing the {unit}). "
        )
    elif prot.bootstrap:
        text += (
            f"CI low / CI high: the {prot.confidence * 100:g} % percentile "
            f"bootstrap interval of the mean {name} ({prot.bootstrap} resamples, "
            f"each drawing every seed's own {unit} from one stream of draws "
            "over the target corpus, then averaging the seeds: seeds that "
            "test the same rows share their sampling noise); results.csv "
            "gives each seed's own interval. "
        )
    else:
        text += "No interval: bootstrap = 0. "
    if prot.bootstrap and prot.bootstrap_unit != "speaker":
        text += (
            "The utterances of one speaker are not independent, so this "
            "utterance-level interval is too narrow for a claim about new "
            "speakers: give the readers speaker ids and set bootstrap_unit = "
            '"speaker" in [protocol] for the speaker-level interval. '
        )
    text += "Labelled train rows: the labelled rows the model learned from"
    if prot.target == "few_shot":
        text += (
            ", the source rows and, where the method's estimator (or an "
            "adapter such as JDA) learns from them, the labelled target rows "
            "(the next column)"
        )
    return text + "."


def _describe(m, config):
    from ._recipes import Recipe, for_protocol

    r = for_protocol(Recipe.from_spec(m), config.protocol.target)
    d = r.describe(config.classifier)
    if m.grid:
        d += f"; grid {m.grid}"
    if m.params:
        d += f"; params {m.params}"
    return d
