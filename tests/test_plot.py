"""funcnet.plot: every picture renders to a real, non-blank PNG, draws what it was given,
and rejects bad input with a message that names the problem."""

import sys
from concurrent.futures import ThreadPoolExecutor

import jax
import jax.numpy as jnp
import matplotlib.image
import matplotlib.text
import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.quiver import Quiver

from funcnet import FitResult, plot
from reference.engine import Value

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def no_pyplot(monkeypatch):
    """Every plot here must work without pyplot's global state: importing it fails."""
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)


def assert_png(path):
    """A valid PNG that decodes and shows more than one colour."""
    with open(path, "rb") as f:
        assert f.read(8) == PNG_SIGNATURE
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 20 and pixels.shape[1] > 20
    assert pixels.var() > 0
    assert len(np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)) > 2


def render(fig, tmp_path, name):
    assert isinstance(fig, Figure)
    path = plot.save(fig, tmp_path / name, dpi=40)
    assert_png(path)
    return path


def texts(fig):
    """Every string drawn in ``fig``: titles, labels, legend and cell texts."""
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def bowl(p):
    return p[0] ** 2 + 3 * p[1] ** 2


def rosenbrock(p):
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


# ---------------------------------------------------------------------------- save


def test_save_creates_parent_folders_and_defaults_to_png(tmp_path):
    fig = plot.loss_curves([1.0, 0.5, 0.25])
    path = plot.save(fig, tmp_path / "deep" / "er" / "loss", dpi=40)
    assert path == tmp_path / "deep" / "er" / "loss.png"
    assert_png(path)


def test_save_rejects_what_is_not_a_figure(tmp_path):
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure, got list"):
        plot.save([1, 2], tmp_path / "x.png")


def test_figures_render_concurrently_from_threads(tmp_path):
    def draw(i):
        rng = np.random.default_rng(i)
        fig = plot.confusion_matrix(rng.integers(0, 4, 50), rng.integers(0, 4, 50))
        return plot.save(fig, tmp_path / f"cm{i}.png", dpi=40)

    with ThreadPoolExecutor(4) as pool:
        for path in pool.map(draw, range(4)):
            assert_png(path)


def test_public_api_is_listed_and_resolves():
    assert sorted(plot.__all__) == sorted(set(plot.__all__))
    for name in plot.__all__:
        assert callable(getattr(plot, name)), name
    with pytest.raises(AttributeError, match="no attribute 'show'"):
        plot.show  # noqa: B018


# --------------------------------------------------------------------- loss curves

HISTORY = {
    "epoch": [1, 2, 3, 4],
    "train_loss": [1.2, 0.7, 0.5, 0.4],
    "train_accuracy": [0.5, 0.7, 0.8, 0.9],
    "eval_loss": [1.3, None, 0.6, 0.55],
    "eval_accuracy": [None, None, None, None],
    "learning_rate": [0.1, 0.1, 0.05, 0.01],
    "seconds": [2.0, 1.0, 1.0, 1.0],
}


def test_loss_curves_from_a_fit_history(tmp_path):
    fig = plot.loss_curves(HISTORY, title="run 1")
    render(fig, tmp_path, "history")
    loss_ax, accuracy_ax, rate_ax = fig.axes
    train, evaluation = loss_ax.get_lines()
    np.testing.assert_allclose(train.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(train.get_ydata(), HISTORY["train_loss"])
    np.testing.assert_allclose(evaluation.get_ydata(), [1.3, np.nan, 0.6, 0.55])
    assert len(accuracy_ax.get_lines()) == 1  # eval accuracy is all None: not drawn
    np.testing.assert_allclose(rate_ax.get_lines()[0].get_ydata(), HISTORY["learning_rate"])
    assert "train (last 0.4)" in texts(fig)


def test_loss_curves_takes_the_history_out_of_a_fit_result(tmp_path):
    result = FitResult(params={}, state={}, opt_state=None, history=HISTORY)
    fig = plot.loss_curves(result)
    render(fig, tmp_path, "fit_result")
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), HISTORY["train_loss"])


def test_loss_curves_with_only_train_loss_and_constant_rate_is_one_panel(tmp_path):
    fig = plot.loss_curves({"train_loss": [0.9], "learning_rate": [0.1]})
    render(fig, tmp_path, "single")
    assert len(fig.axes) == 1
    assert fig.axes[0].get_lines()[0].get_marker() == "o"  # one epoch stays visible


def test_loss_curves_from_step_losses_with_smoothing_into_given_axes(tmp_path):
    fig = Figure()
    ax = fig.add_subplot()
    losses = np.exp(-np.arange(100) / 30) + 0.05
    assert plot.loss_curves(list(losses), smooth=10, log_scale=True, ax=ax) is fig
    render(fig, tmp_path, "steps")
    raw, average = ax.get_lines()
    assert ax.get_yscale() == "log"
    np.testing.assert_allclose(average.get_ydata(), np.convolve(losses, np.ones(10) / 10,
                                                                "valid"))


def test_loss_curves_rejects_bad_histories():
    with pytest.raises(ValueError, match="history has no values under"):
        plot.loss_curves({"seconds": [1.0, 2.0]})
    with pytest.raises(ValueError, match="one entry per epoch"):
        plot.loss_curves({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5]})
    with pytest.raises(TypeError, match=r"history\['train_loss'\]\[1\] must be a number"):
        plot.loss_curves({"train_loss": [1.0, "low"]})
    with pytest.raises(ValueError, match="log_scale=True needs positive losses"):
        plot.loss_curves([1.0, 0.0], log_scale=True)
    with pytest.raises(ValueError, match="smooth must be an integer >= 0"):
        plot.loss_curves([1.0, 0.5], smooth=-1)
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot.loss_curves([1.0, 0.5], ax="left")


# ----------------------------------------------------------------- gradient field


def _quiver(fig):
    (quiver,) = [c for c in fig.axes[0].collections if isinstance(c, Quiver)]
    return quiver


@pytest.mark.parametrize("descent", [True, False])
def test_gradient_field_arrows_follow_minus_grad(tmp_path, descent):
    fig = plot.gradient_field(bowl, (-2, 2), (-2, 2), resolution=9, descent=descent)
    render(fig, tmp_path, "field")
    quiver = _quiver(fig)
    position = quiver.XY
    expected = np.stack([2 * position[:, 0], 6 * position[:, 1]], axis=1)
    expected = -expected if descent else expected
    arrows = np.stack([quiver.U, quiver.V], axis=1)
    moving = np.linalg.norm(expected, axis=1) > 0
    cosine = np.sum(arrows * expected, axis=1)[moving] / (
        np.linalg.norm(arrows, axis=1) * np.linalg.norm(expected, axis=1))[moving]
    np.testing.assert_allclose(cosine, 1.0, atol=1e-6)
    lengths = np.linalg.norm(arrows, axis=1)[moving]
    np.testing.assert_allclose(lengths, lengths[0])  # normalized: direction only


def test_gradient_field_rosenbrock_log_levels_and_raw_lengths(tmp_path):
    fig = plot.gradient_field(rosenbrock, (-2, 2), (-1, 3), resolution=8, log_levels=True,
                              normalize=False)
    render(fig, tmp_path, "rosen")
    quiver = _quiver(fig)
    lengths = np.hypot(quiver.U, quiver.V)
    magnitudes = np.linalg.norm(jax.vmap(jax.grad(rosenbrock))(quiver.XY), axis=1)
    np.testing.assert_allclose(lengths / lengths.max(), magnitudes / magnitudes.max(),
                               rtol=1e-6, atol=1e-12)


def test_gradient_field_rejects_bad_input():
    with pytest.raises(ValueError, match=r"f must map one \(2,\) point to a scalar"):
        plot.gradient_field(lambda p: p * 2, (-1, 1), (-1, 1), resolution=4)
    with pytest.raises(ValueError, match="xlim must be finite with low < high"):
        plot.gradient_field(bowl, (1, -1), (-1, 1))
    with pytest.raises(ValueError, match="resolution must be an integer >= 2"):
        plot.gradient_field(bowl, (-1, 1), (-1, 1), resolution=1)
    with pytest.raises(ValueError, match="log_levels=True needs f > 0"):
        plot.gradient_field(lambda p: -bowl(p) - 1, (-1, 1), (-1, 1), resolution=4,
                            log_levels=True)


# ---------------------------------------------------------------- optimizer paths


def _descent_path(f, start, learning_rate, steps):
    grad = jax.jit(jax.grad(f))
    points = [jnp.asarray(start, dtype=jnp.float64)]
    for _ in range(steps):
        points.append(points[-1] - learning_rate * grad(points[-1]))
    return np.asarray(jnp.stack(points))


def test_optimizer_paths_mark_starts_ends_and_divergence(tmp_path):
    good = _descent_path(rosenbrock, [-1.5, 2.0], 1e-3, 40)
    diverged = np.array([[-1.5, 2.0], [0.0, 5.0], [np.inf, np.nan]])
    fig = plot.optimizer_paths(rosenbrock, {"sgd": good, "too fast": diverged},
                               log_levels=True, minimum=(1.0, 1.0), resolution=40,
                               xlim=(-2, 2), ylim=(-1, 6))
    render(fig, tmp_path, "paths")
    labels = texts(fig)
    assert f"sgd (40 steps, f={float(rosenbrock(good[-1])):.3g})" in labels
    assert "too fast (2 steps, diverged)" in labels
    assert {"start", "end", "minimum"} <= set(labels)
    markers = [line.get_marker() for line in fig.axes[0].get_lines()]
    assert markers.count("*") == 1 and markers.count("X") == 1 and markers.count("o") == 2


def test_optimizer_paths_default_region_covers_every_path():
    paths = {"a": np.array([[-3.0, 0.0], [0.0, 0.0]]), "b": np.array([[0.0, 4.0]])}
    fig = plot.optimizer_paths(bowl, paths, resolution=20)
    low, high = fig.axes[0].get_xlim()
    assert low < -3 and high > 0
    low, high = fig.axes[0].get_ylim()
    assert low < 0 and high > 4


def test_optimizer_paths_rejects_bad_paths():
    with pytest.raises(ValueError, match=r"paths\['adam'\] must have shape \(T, 2\)"):
        plot.optimizer_paths(bowl, {"adam": np.zeros((5, 3))})
    with pytest.raises(TypeError, match="paths must be a non-empty dict"):
        plot.optimizer_paths(bowl, [np.zeros((5, 2))])
    with pytest.raises(ValueError, match="must start at a finite point"):
        plot.optimizer_paths(bowl, {"x": np.array([[np.nan, 0.0], [0.0, 0.0]])})
    with pytest.raises(ValueError, match=r"minimum must be a \(2,\) point"):
        plot.optimizer_paths(bowl, {"x": np.zeros((2, 2))}, minimum=(1, 2, 3))


# -------------------------------------------------------------- decision boundary

RNG = np.random.default_rng(0)
POINTS = RNG.normal(size=(60, 2))
XOR_LABELS = (POINTS[:, 0] * POINTS[:, 1] > 0).astype(int)


def test_decision_boundary_from_probabilities_of_a_binary_model(tmp_path):
    fig = plot.decision_boundary(lambda p: jax.nn.sigmoid(5 * p[:, :1] * p[:, 1:]),
                                 POINTS, XOR_LABELS, resolution=30)
    render(fig, tmp_path, "binary")
    assert fig.axes[0].get_title() == "decision boundary (accuracy 100.0% on 60 points)"
    (image,) = fig.axes[0].get_images()
    region = np.asarray(image.get_array())
    assert region[0, 0] == 1 and region[0, -1] == 0  # bottom-left x*y > 0, bottom-right < 0


def test_decision_boundary_from_scores_and_from_labels(tmp_path):
    labels = np.argmax(POINTS @ np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]]), axis=1)
    weights = jnp.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    fig = plot.decision_boundary(lambda p: p @ weights, POINTS, labels, resolution=30,
                                 class_names=["a", "b", "c"])
    render(fig, tmp_path, "scores")
    assert "100.0%" in fig.axes[0].get_title()
    assert {"a", "b", "c"} <= set(texts(fig))
    fig = plot.decision_boundary(lambda p: (p[:, 0] > 0).astype(np.int32), POINTS,
                                 XOR_LABELS, resolution=30)
    render(fig, tmp_path, "labels")
    accuracy = np.mean((POINTS[:, 0] > 0) == XOR_LABELS)
    assert f"{accuracy:.1%}" in fig.axes[0].get_title()


def test_decision_boundary_rejects_bad_input():
    predict = lambda p: p @ np.ones((2, 3))  # noqa: E731
    with pytest.raises(ValueError, match=r"x must have shape \(N, 2\).*got shape \(60, 3\)"):
        plot.decision_boundary(predict, np.ones((60, 3)), XOR_LABELS)
    with pytest.raises(ValueError, match="same number of samples"):
        plot.decision_boundary(predict, POINTS, XOR_LABELS[:-1])
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        plot.decision_boundary(predict, POINTS, XOR_LABELS.astype(float))
    with pytest.raises(ValueError, match=r"labels must be in \[0, 3\).*got a label 5"):
        plot.decision_boundary(predict, POINTS, np.full(60, 5), resolution=4)
    with pytest.raises(ValueError, match=r"predict_fn must map \(16, 2\) points"):
        plot.decision_boundary(lambda p: p[:3], POINTS, XOR_LABELS, resolution=4)
    with pytest.raises(ValueError, match="got 2 class_names for 3 classes"):
        plot.decision_boundary(predict, POINTS, XOR_LABELS, resolution=4,
                               class_names=["a", "b"])


# ----------------------------------------------------------- gradient magnitudes


def test_gradient_magnitudes_bars_for_one_step(tmp_path):
    norms = {"['dense_0']['w']": 1e-7, "['dense_2']['w']": 1e-4, "['dense_4']['w']": 1e-1,
             "['dense_4']['b']": 0.0}
    fig = plot.gradient_magnitudes(norms)
    render(fig, tmp_path, "bars")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    heights = [bar.get_height() for bar in ax.patches]
    np.testing.assert_allclose(heights, [1e-7, 1e-4, 1e-1])  # the zero has no log bar
    # keystr paths are labelled pretty
    assert [t.get_text() for t in ax.get_xticklabels()] == ["dense_0/w", "dense_2/w",
                                                            "dense_4/w", "dense_4/b"]
    assert "0" in texts(fig)


def test_gradient_magnitudes_lines_and_heatmap_over_epochs(tmp_path):
    per_epoch = np.abs(RNG.normal(size=(12, 3))) * np.array([1e-6, 1e-3, 1.0])
    fig = plot.gradient_magnitudes({"w1": per_epoch[:, 0], "w2": per_epoch[:, 1],
                                    "w3": per_epoch[:, 2]})
    render(fig, tmp_path, "lines")
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["w1", "w2", "w3"]
    np.testing.assert_allclose(lines[1].get_ydata(), per_epoch[:, 1])
    many = np.abs(RNG.normal(size=(12, 14)))
    fig = plot.gradient_magnitudes(many, [f"layer{i}" for i in range(14)])
    render(fig, tmp_path, "heat")
    (image,) = fig.axes[0].get_images()
    np.testing.assert_allclose(np.asarray(image.get_array()), many.T)


def test_gradient_magnitudes_rejects_bad_input():
    with pytest.raises(ValueError, match=r"finite and >= 0, got -1.0 at layer 'b'"):
        plot.gradient_magnitudes({"a": 1.0, "b": -1.0})
    with pytest.raises(ValueError, match="got 2 layer_names for 3 layers"):
        plot.gradient_magnitudes(np.ones((4, 3)), ["a", "b"])
    with pytest.raises(ValueError, match="kind='bars' needs one value per layer"):
        plot.gradient_magnitudes(np.ones((4, 3)), kind="bars")
    with pytest.raises(ValueError, match="equally long lists"):
        plot.gradient_magnitudes({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(ValueError, match="every gradient norm is 0"):
        plot.gradient_magnitudes({"a": 0.0})
    with pytest.raises(ValueError, match="kind must be"):
        plot.gradient_magnitudes({"a": 1.0}, kind="pie")


# ---------------------------------------------------------- gradients through time


def test_gradients_through_time_draws_each_models_norms_against_t(tmp_path):
    rnn = 0.8 ** np.arange(12)[::-1]
    gru = np.array([0.0, 1e-3, 1e-2, 0.1, 0.5, 1.0])  # another length; a zero at t=0
    fig = plot.gradients_through_time({"RNN": rnn, "GRU": gru})
    render(fig, tmp_path, "through_time")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    first, second = ax.get_lines()
    np.testing.assert_array_equal(first.get_xdata(), np.arange(12))
    np.testing.assert_allclose(first.get_ydata(), rnn)
    np.testing.assert_array_equal(second.get_xdata(), np.arange(6))
    np.testing.assert_allclose(second.get_ydata(), [np.nan, 1e-3, 1e-2, 0.1, 0.5, 1.0])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        f"RNN (h_0/h_11 {0.8 ** 11:.1e})", "GRU (h_0/h_5 0.0e+00)"]
    fig = plot.gradients_through_time({"LSTM": gru}, log_scale=False, title="after training")
    assert fig.axes[0].get_yscale() == "linear"
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), gru)
    assert "after training" in texts(fig)


# ------------------------------------------------------------- confusion matrices


def test_confusion_counts_matches_a_hand_count():
    y_true = [0, 0, 1, 1, 1, 2, 2, 2, 2]
    y_pred = [0, 1, 1, 1, 2, 2, 2, 0, 2]
    expected = np.array([[1, 1, 0],
                         [0, 2, 1],
                         [1, 0, 3]])
    np.testing.assert_array_equal(plot.confusion_counts(y_true, y_pred, 3), expected)
    np.testing.assert_array_equal(plot.confusion_counts(y_true, y_pred), expected)
    wider = plot.confusion_counts(y_true, y_pred, num_classes=5)
    assert wider.shape == (5, 5) and wider.sum() == 9
    np.testing.assert_array_equal(wider[:3, :3], expected)


def test_confusion_counts_agrees_with_a_loop_on_random_labels():
    y_true, y_pred = RNG.integers(0, 7, 500), RNG.integers(0, 7, 500)
    expected = np.zeros((7, 7), dtype=int)
    for t, p in zip(y_true, y_pred, strict=True):
        expected[t, p] += 1
    np.testing.assert_array_equal(plot.confusion_counts(y_true, y_pred, 7), expected)


def test_confusion_counts_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"y_pred must be in \[0, 3\), got a label 3"):
        plot.confusion_counts([0, 1, 2], [0, 1, 3], num_classes=3)
    with pytest.raises(ValueError, match=r"y_true must be in \[0, 3\), got a label -1"):
        plot.confusion_counts([0, -1, 2], [0, 1, 2], num_classes=3)
    with pytest.raises(ValueError, match="same length, got 3 and 2"):
        plot.confusion_counts([0, 1, 2], [0, 1])
    with pytest.raises(TypeError, match="y_pred must hold integer class labels"):
        plot.confusion_counts([0, 1], [0.0, 1.0])
    with pytest.raises(ValueError, match="argmax over the class axis"):
        plot.confusion_counts([0, 1], np.eye(2))
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        plot.confusion_counts([0, 1], [0, 1], num_classes=0)


def test_confusion_matrix_writes_the_counts_in_the_cells(tmp_path):
    y_true, y_pred = [0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0]
    fig = plot.confusion_matrix(y_true, y_pred, class_names=["cat", "dog", "eel"])
    render(fig, tmp_path, "confusion")
    ax = fig.axes[0]
    cells = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text()
             for t in ax.texts}
    counts = plot.confusion_counts(y_true, y_pred)
    assert cells == {(t, p): str(counts[t, p]) for t in range(3) for p in range(3)}
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog", "eel"]
    assert ax.get_title() == "confusion matrix (accuracy 66.7% of 6)"
    render(plot.confusion_matrix(y_true, y_pred, normalize=True), tmp_path, "normalized")


def test_confusion_matrix_rejects_bad_input():
    with pytest.raises(ValueError, match=r"y_true must be in \[0, 2\), got a label 2"):
        plot.confusion_matrix([0, 2], [0, 1], num_classes=2)
    with pytest.raises(ValueError, match="got 2 class_names for 3 classes"):
        plot.confusion_matrix([0, 2], [0, 1], class_names=["a", "b"])
    with pytest.raises(ValueError, match="same length, got 2 and 3"):
        plot.confusion_matrix([0, 1], [0, 1, 1])


# ---------------------------------------------------------------------- images


def test_image_grid_titles_and_red_mistakes(tmp_path):
    images = RNG.random((5, 784))
    fig = plot.image_grid(images, predicted=[3, 1, 4, 1, 5], true=[3, 1, 4, 7, 5],
                          image_shape=(28, 28), ncols=3)
    render(fig, tmp_path, "grid")
    shown = [ax for ax in fig.axes if ax.get_images()]
    assert len(shown) == 5
    assert [ax.get_title() for ax in shown][3] == "pred 1 / true 7"
    colors = [ax.title.get_color() for ax in shown]
    assert colors == ["black", "black", "black", "red", "black"]
    np.testing.assert_allclose(shown[2].get_images()[0].get_array(),
                               images[2].reshape(28, 28))
    assert fig.get_suptitle() == "1 of 5 misclassified (red)"


def test_image_grid_accepts_channels_and_class_names(tmp_path):
    grey = RNG.random((3, 8, 8, 1))
    fig = plot.image_grid(grey, predicted=[0, 1, 0], class_names=["no", "yes"])
    render(fig, tmp_path, "grey")
    assert [ax.get_title() for ax in fig.axes] == ["pred no", "pred yes", "pred no"]
    rgb = RNG.normal(size=(2, 8, 8, 3))  # outside [0, 1]: rescaled, not clipped
    render(plot.image_grid(rgb, true=[1, 2]), tmp_path, "rgb")


def test_image_grid_rejects_bad_input():
    with pytest.raises(ValueError, match=r"need image_shape, e.g. image_shape=\(28, 28\)"):
        plot.image_grid(np.zeros((2, 784)))
    with pytest.raises(ValueError, match="image_shape \\(20, 20\\) does not fit"):
        plot.image_grid(np.zeros((2, 784)), image_shape=(20, 20))
    with pytest.raises(ValueError, match="got 3 labels for 2 images"):
        plot.image_grid(np.zeros((2, 4, 4)), predicted=[0, 1, 2])
    with pytest.raises(ValueError, match=r"must be in \[0, 2\) to index class_names"):
        plot.image_grid(np.zeros((2, 4, 4)), true=[0, 2], class_names=["a", "b"])
    with pytest.raises(ValueError, match="images is empty"):
        plot.image_grid(np.zeros((0, 4, 4)))


# ------------------------------------------------------------------ histograms


def test_weight_histograms_one_panel_per_leaf_named_by_path(tmp_path):
    # The layout of Sequential([Dense(8), relu, Dense(3)]).init(key, (4,)).
    params = {"dense_0": {"w": RNG.normal(size=(4, 8)), "b": np.zeros(8)}, "relu_1": {},
              "dense_2": {"w": RNG.normal(size=(8, 3)), "b": np.zeros(3)}}
    fig = plot.weight_histograms(params)
    render(fig, tmp_path, "weights")
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["dense_0/b (8,)", "dense_0/w (4, 8)", "dense_2/b (3,)", "dense_2/w (8, 3)"]
    counts = sum(patch.get_height() for patch in fig.axes[1].patches)
    assert counts == 32


def test_weight_histograms_report_non_finite_values(tmp_path):
    fig = plot.weight_histograms({"w": np.array([1.0, np.nan, 2.0, np.inf])})
    render(fig, tmp_path, "nan")
    assert any("2 non-finite" in t for t in texts(fig))


def test_activation_histograms_show_dead_relu_fraction(tmp_path):
    z = np.linspace(-1, 1, 200).reshape(20, 10)
    fig = plot.activation_histograms({"z": z, "relu": np.maximum(z, 0), "tanh": np.tanh(z)},
                                     bins=20, ncols=2)
    render(fig, tmp_path, "activations")
    assert [ax.get_title() for ax in fig.axes[:3]] == ["z (20, 10)", "relu (20, 10)",
                                                       "tanh (20, 10)"]
    assert any("zeros 50%" in t for t in texts(fig))


def test_histograms_reject_bad_input():
    with pytest.raises(ValueError, match="params has no array leaves"):
        plot.weight_histograms({"dense_0": {}, "relu_1": {}})
    with pytest.raises(TypeError, match="activations must be a dict name -> array"):
        plot.activation_histograms([np.ones(3)])
    with pytest.raises(ValueError, match=r"activations \['h'\] are empty"):
        plot.activation_histograms({"h": np.ones((0, 3))})
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        plot.activation_histograms({"h": np.ones(3)}, bins=0)


# ------------------------------------------------------------ expression graph


def test_expression_graph_of_a_neuron_shows_values_and_gradients(tmp_path):
    x1, x2, w1, w2, b = Value(2.0), Value(0.0), Value(-3.0), Value(1.0), Value(6.8813735)
    x1.label = "x1"
    out = (x1 * w1 + x2 * w2 + b).tanh()
    out.backward()
    fig = plot.expression_graph(out, title="tanh neuron")
    path = render(fig, tmp_path, "graph")
    drawn = texts(fig)
    assert "x1\ndata 2\ngrad -1.5" in drawn
    assert f"data {out.data:.4g}\ngrad 1" in drawn
    assert sorted(t for t in drawn if t in {"+", "*", "tanh"}) == ["*", "*", "+", "+", "tanh"]
    assert "tanh neuron" in drawn
    height, width = matplotlib.image.imread(path).shape[:2]
    assert width > 2 * height  # laid out left to right


def test_expression_graph_marks_an_input_used_twice(tmp_path):
    a = Value(3.0)
    square = a * a
    square.backward()
    fig = plot.expression_graph(square)
    render(fig, tmp_path, "square")
    assert "x2" in texts(fig)
    assert "data 3\ngrad 6" in texts(fig)


def test_expression_graph_rejects_what_it_cannot_draw():
    with pytest.raises(TypeError, match=r"expected a scalar autograd value with \.data"):
        plot.expression_graph(3.0)
    total = Value(0.0)
    for i in range(30):
        total = total + Value(float(i))
    with pytest.raises(ValueError, match="more than max_nodes=20"):
        plot.expression_graph(total, max_nodes=20)


def test_loss_curves_labels_a_plain_sequence_so_added_curves_share_the_legend():
    fig = plot.loss_curves([1.0, 0.5, 0.25], label="funcnet")
    fig.axes[0].plot([0, 1, 2], [1.0, 0.5, 0.25], "--", label="reference")
    labels = [t.get_text() for t in fig.axes[0].legend().get_texts()]
    assert labels == ["funcnet", "reference"]


def test_optimizer_paths_takes_colours_by_name_and_refuses_unknown_names():
    bowl = lambda p: p[0] ** 2 + p[1] ** 2  # noqa: E731
    path = np.array([[1.0, 1.0], [0.5, 0.5], [0.1, 0.1]])
    fig = plot.optimizer_paths(bowl, {"gd": path, "adam": path / 2}, colors={"adam": "red"})
    lines = {line.get_label().split(" ")[0]: line.get_color()
             for line in fig.axes[0].get_lines() if not line.get_label().startswith("_")}
    assert lines["adam"] == "red" and lines["gd"] != "red"
    with pytest.raises(ValueError, match=r"optimizer_paths: colors names paths that are not "
                                         r"in paths: \['sgd'\]"):
        plot.optimizer_paths(bowl, {"gd": path}, colors={"sgd": "red"})
