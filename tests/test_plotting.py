import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from emocore import plotting  # noqa: E402


def test_plot_loss_curves_draws_each_loss_and_saves(tmp_path):
    history = [{"iteration": i, "cycle": 1.0 / (i + 1), "identity": 0.5, "gen_lr": 2e-4, "wall_time_s": i}
               for i in range(10)]
    fig, ax = plt.subplots()
    plotting.plot_loss_curves(history, ax=ax, smooth=3)
    assert sorted(line.get_label() for line in ax.get_lines()) == ["cycle", "identity"]
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), 0.5)
    path = plotting.savefig(fig, "03_losses", tmp_path)
    assert path.name == "03_losses.png" and path.stat().st_size > 1000
    plt.close(fig)


def test_plot_f0_contours_leaves_gaps_at_unvoiced_frames():
    fig, ax = plt.subplots()
    plotting.plot_f0_contours({"neutral": np.array([0.0, 200.0, 210.0, 0.0])}, 5.0, ax=ax)
    y = ax.get_lines()[0].get_ydata()
    assert np.isnan(y[0]) and np.isnan(y[3]) and y[1] == 200.0
    plt.close(fig)


def test_plot_mcep_and_distributions():
    fig, axes = plt.subplots(1, 2)
    plotting.plot_mcep(np.zeros((50, 23)), 5.0, ax=axes[0], first_coef=1)
    assert axes[0].images[0].get_extent()[2:] == [0.5, 23.5]
    frames = pd.DataFrame({"emotion": ["neutral"] * 50 + ["angry"] * 50,
                           "log_f0": np.r_[np.random.default_rng(0).normal(5.2, 0.1, 50),
                                           np.random.default_rng(1).normal(5.5, 0.2, 50)]})
    plotting.plot_distributions(frames, "log_f0", ax=axes[1])
    assert len(axes[1].collections) >= 2
    plt.close(fig)


def test_plot_metric_by_system_groups_by_emotion():
    table = pd.DataFrame({"system": ["source", "source", "f0-only", "f0-only"],
                          "target_emotion": ["angry", "sad", "angry", "sad"], "mcd_db": [7.0, 6.0, 7.5, np.nan]})
    fig, ax = plt.subplots()
    plotting.plot_metric_by_system(table, "mcd_db", ax=ax)
    heights = sorted(round(p.get_height(), 3) for p in ax.patches if p.get_height() > 0)
    assert heights == [6.0, 7.0, 7.5]
    assert ax.get_xticklabels()[0].get_rotation() == 20
    plt.close(fig)
    # stream variants have long names (notebook 05 on EmoStarGAN): written upright so they do not overlap
    fig, ax = plt.subplots()
    plotting.plot_metric_by_system(table.replace({"f0-only": "f0=cwt+power=cwt+mcep+rhythm"}), "mcd_db", ax=ax)
    assert ax.get_xticklabels()[1].get_text() == "f0=cwt+power=cwt+mcep+rhythm"
    assert ax.get_xticklabels()[1].get_rotation() == 90
    plt.close(fig)


def test_plot_judge_shift_draws_one_bar_per_feature_red_where_it_pushes_toward_the_mistake():
    shift = pd.DataFrame({"feature": ["slope", "flux", "loudness"], "logit_change": [-0.4, -0.1, 0.2]})
    fig, ax = plt.subplots()
    plotting.plot_judge_shift(shift, ax=ax, title="happy vs sad")
    bars = ax.patches
    assert [b.get_width() for b in bars] == [0.2, -0.1, -0.4]  # largest push drawn at the top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["loudness", "flux", "slope"]
    assert [b.get_facecolor()[0] > 0.5 for b in bars] == [False, True, True]  # red for negative
    plt.close(fig)
