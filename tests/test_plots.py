"""Plots: the artists for the ceiling band, CIs, stars and brackets on RSA, encoding and time-resolved results."""

import matplotlib

matplotlib.use("Agg")  # the tests only: the module itself forces no backend

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import ErrorbarContainer

from brainalign.core.errors import InvalidInputError
from brainalign.report.plots import (
    ceiling_bounds,
    plot_best,
    plot_heatmap,
    plot_layers,
    plot_time_course,
    save_plot,
)

LAYERS = ["conv1", "conv2", "fc"]


def _rsa() -> pd.DataFrame:
    """Two models, RSA rows normalised by the lower ceiling 0.4 (upper 0.5), bootstrap CIs and p-values."""
    raw = {"a": [0.1, 0.2, 0.3], "b": [0.05, 0.25, 0.02]}
    p = {"a": [0.2, 0.004, 0.0001], "b": [0.5, 0.03, 0.6]}
    rows = [{"model": m, "weights": "trained", "layer": layer, "benchmark": "N.IT-rsa", "units": "ρ/ceiling",
             "raw": r, "score": r / 0.4, "ceiling": 0.4, "ceiling_raw_units": 0.4, "ceiling_upper": 0.5,
             "normalised": True, "error": 0.01, "ci_low": r / 0.4 - 0.05, "ci_high": r / 0.4 + 0.1, "p_value": pv}
            for m in raw for layer, r, pv in zip(LAYERS, raw[m], p[m], strict=True)]
    return pd.DataFrame(rows)


def _encoding() -> pd.DataFrame:
    """Encoding rows: score = r·|r| / reliability 0.64 (ceiling 0.8 in r), SEM errors, no CI, no upper bound."""
    r = np.array([0.2, 0.4, 0.3])
    return pd.DataFrame({"model": "a", "layer": LAYERS, "benchmark": "C.V4-ridge", "units": "r·|r|/ceiling",
                         "raw": r, "score": r * np.abs(r) / 0.64, "ceiling": 0.64, "ceiling_raw_units": 0.8,
                         "normalised": True, "error": 0.02, "p_value": [0.01, 0.2, 0.0002]})


def _time() -> pd.DataFrame:
    t = np.arange(-100, 400, 100)
    course = np.array([0.0, 0.02, 0.15, 0.1, 0.05])
    ceiling = np.array([0.05, 0.1, 0.3, 0.25, 0.2])
    return pd.DataFrame({"model": "a", "layer": "fc", "benchmark": "T.EEG-rsa", "units": "ρ", "time_point": t,
                         "raw": course, "score": course, "ceiling": ceiling, "ceiling_raw_units": ceiling,
                         "ceiling_upper": ceiling + 0.05, "normalised": False, "error": 0.01,
                         "ci_low": course - 0.02, "ci_high": course + 0.03, "p_value": [0.8, 0.3, 0.001, 0.02, 0.1]})


def _bands(ax) -> list[np.ndarray]:
    return [c.get_paths()[0].vertices for c in ax.collections if isinstance(c, PolyCollection)]


def _errorbars(ax) -> list[ErrorbarContainer]:
    return [c for c in ax.containers if isinstance(c, ErrorbarContainer)]


def _texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_rsa_layers_band_cis_stars_and_units():
    table = _rsa()
    ax = plot_layers(table, value="score")
    (band,) = _bands(ax)
    assert band[:, 1].min() == pytest.approx(1.0) and band[:, 1].max() == pytest.approx(0.5 / 0.4)
    bars = _errorbars(ax)
    assert len(bars) == 2
    a = table[table.model == "a"]
    segments = bars[0].lines[2][0].get_segments()
    np.testing.assert_allclose([s[:, 1] for s in segments], np.column_stack([a.ci_low, a.ci_high]))
    assert sorted(_texts(ax)) == sorted(["**", "***", "*"])
    assert ax.get_ylabel() == "score (ρ/ceiling)"
    raw_ax = plot_layers(table, value="raw", style="lines")
    assert _bands(raw_ax)[0][:, 1].min() == pytest.approx(0.4) and raw_ax.get_ylabel() == "raw score (ρ)"


def test_encoding_layers_ceiling_line_sem_errors_and_stars():
    table = _encoding()
    ax = plot_layers(table, value="raw")
    assert not _bands(ax)  # no upper bound: the ceiling is a dashed line at the split-half bound in r
    ceiling = [c for c in ax.collections if c.get_label() == "noise ceiling"]
    assert ceiling[0].get_segments()[0][:, 1] == pytest.approx([0.8, 0.8])
    (bars,) = _errorbars(ax)
    heights = [np.ptp(s[:, 1]) for s in bars.lines[2][0].get_segments()]
    assert heights == pytest.approx([0.04] * 3)
    assert sorted(_texts(ax)) == ["*", "***"]
    assert ax.get_ylabel() == "raw score (r)"
    # in score units the SEM (raw units) is not an error bar of r·|r|/ceiling: no bars drawn
    score_ax = plot_layers(table, value="score")
    assert all(np.isnan(s).all() for c in _errorbars(score_ax) for s in c.lines[2][0].get_segments())


def test_time_course_band_follows_the_ceiling_and_stars_mark_time_points():
    table = _time()
    ax = plot_time_course(table)
    (band,) = _bands(ax)
    assert band[:, 1].min() == pytest.approx(0.05) and band[:, 1].max() == pytest.approx(0.35)
    assert band[:, 0].min() == -100 and band[:, 0].max() == 300
    (bars,) = _errorbars(ax)
    np.testing.assert_allclose(bars.lines[0].get_ydata(), table.score)
    assert _texts(ax) == ["*", "*"]
    assert ax.get_xlabel() == "time point" and ax.get_ylabel() == "score (ρ)"
    with pytest.raises(InvalidInputError, match="time_point"):
        plot_time_course(_rsa().query("model == 'a'"))


def test_best_layers_with_pairwise_brackets():
    table = pd.concat([_rsa(), _rsa().assign(benchmark="N.EVC-rsa", score=lambda t: t.score / 2)])
    pairs = pd.DataFrame({"benchmark": ["N.IT-rsa", "N.EVC-rsa"], "model_a": "a", "model_b": "b",
                          "p_value": [0.004, 0.3]})
    ax = plot_best(table, pairs=pairs)
    texts = _texts(ax)
    assert " fc" in texts and " conv2" in texts  # best layers: a → fc, b → conv2 (padded off the axis)
    assert "**" in texts and "n.s." in texts  # bracket labels
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == pytest.approx(sorted([0.3 / 0.4, 0.25 / 0.4, 0.3 / 0.8, 0.25 / 0.8]))
    assert len(_bands(ax)) == 2
    bracket_lines = [line for line in ax.lines if len(line.get_xdata()) == 4]
    assert len(bracket_lines) == 2
    with pytest.raises(InvalidInputError, match="no such bars"):
        plot_best(table, pairs=pairs.assign(model_b="c"))


def test_heatmap_matrix_and_colour_bar():
    table = pd.concat([_rsa(), _encoding().assign(benchmark="N.IT-rsa", model="c", layer=["x", "y", "z"])])
    ax = plot_heatmap(table)
    matrix = ax.images[0].get_array()
    np.testing.assert_allclose(matrix[0], _rsa().query("model == 'a'").score)
    assert ax.get_xlabel() == "layer (position in the model)"
    assert ax.images[0].colorbar.ax.get_ylabel().startswith("score (")


def test_ceiling_bounds_percent_units():
    rows = pd.DataFrame({"units": ["% of LNC"], "ceiling": [0.2], "ceiling_upper": [0.3], "ceiling_raw_units": [0.2],
                         "normalised": [True]})
    low, high = ceiling_bounds(rows)
    assert (low[0], high[0]) == pytest.approx((100.0, 150.0))


@pytest.mark.parametrize("suffix", ["png", "pdf", "svg"])
def test_save_plot_formats(tmp_path, suffix):
    path = save_plot(pd.concat([_rsa(), _encoding()]), tmp_path / f"fig.{suffix}", kind="layers")
    assert path.read_bytes()[:4] in {b"\x89PNG", b"%PDF", b"<?xm"}
    with pytest.raises(InvalidInputError, match="valid: layers, best, heatmap, time"):
        save_plot(_rsa(), tmp_path / "x.png", kind="violin")


@pytest.mark.parametrize("kind", ["layers", "best", "heatmap", "time"])
def test_plot_command_kinds(tmp_path, kind):
    from typer.testing import CliRunner

    from brainalign.cli import app

    csv = tmp_path / "results.csv"
    (_time() if kind == "time" else _rsa()).to_csv(csv, index=False)
    out = tmp_path / f"{kind}.svg"
    result = CliRunner().invoke(app, ["plot", str(csv), "-o", str(out), "--kind", kind, "--value", "score"])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("<?xml")
    bad = CliRunner().invoke(app, ["plot", str(csv), "-o", str(out), "--kind", "violin"])
    assert bad.exit_code == 2 and "violin" in bad.output


def test_a_declined_ceiling_is_a_dotted_line():
    table = _rsa().assign(normalised=False, score=lambda t: t.raw, ci_low=np.nan, ci_high=np.nan)
    ax = plot_layers(table, value="score")
    assert not _bands(ax)
    (line,) = [c for c in ax.collections if c.get_label() == "noise ceiling (subjects disagree)"]
    assert line.get_segments()[0][:, 1] == pytest.approx([0.4, 0.4])
    assert line.get_linestyle()[0][1] is not None  # dashed pattern (dotted), not solid
