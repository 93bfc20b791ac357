"""Watching a run: TensorBoard scalars, audio and envelope images, validation conversions, the history CSV.

Also where training meets the machine: which accelerator it runs on, how many CPU threads it may use.
"""

from __future__ import annotations

import csv
import datetime
import logging
from pathlib import Path

import numpy as np

from emocore.config import PARALLEL_OPS, FeatureConfig
from emocore.conversion import ConversionModel, usable_cores
from emocore.dsp import audio, features
from emocore.dsp.features import WorldFeatures
from emocore.exceptions import ParameterError
from emocore.io import atomic_write

logger = logging.getLogger(__name__)


def accelerator_summary() -> str:
    """Which devices the training step will run on, e.g. ``"CPU only (2 cores)"`` or ``"GPU: NVIDIA H100 ..."``."""
    import os

    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return f"CPU only ({os.cpu_count()} cores); install tensorflow[and-cuda] on a GPU box to use its GPU"
    names = [tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus]
    return "GPU: " + ", ".join(names)


def thread_split(n_threads: int, parallel_ops: int = PARALLEL_OPS) -> tuple[int, int]:
    """How :func:`limit_cpu_threads` sets TensorFlow's two thread pools for ``n_threads``: ``(intra-op, inter-op)``.

    The inter-op pool runs whole ops, as many at once as it has threads: ``parallel_ops`` (at most ``n_threads``).
    The intra-op pool, one pool shared by every op, splits an op's work (a convolution's rows) among its threads:
    ``n_threads // parallel_ops`` of them, so that ``parallel_ops`` ops split at once keep about ``n_threads`` busy;
    1 means ops are not split. 2 threads -> ``(1, 2)``: two ops at once, neither split (the fastest measured on this
    repository's 2 cores); ``parallel_ops=1`` -> ``(2, 1)``: one op at a time, split over both; 1 -> ``(1, 1)``;
    16 -> ``(8, 2)`` (not measured on such a machine); 3 -> ``(1, 2)``, one thread left idle.

    Raises:
        ParameterError: ``n_threads`` or ``parallel_ops`` below 1.
    """
    if n_threads < 1:
        raise ParameterError(f"n_threads must be at least 1, got {n_threads}")
    if parallel_ops < 1:
        raise ParameterError(f"parallel_ops must be at least 1, got {parallel_ops}")
    inter = min(parallel_ops, n_threads)
    return n_threads // inter, inter


def limit_cpu_threads(n_threads: int | None = None, parallel_ops: int | None = None, *,
                      required: bool | None = None) -> tuple[int, int]:
    """Give TensorFlow's ops about ``n_threads`` CPU threads, ``parallel_ops`` ops at once (:func:`thread_split`).

    Call it before TensorFlow runs its first op (``emocore-train`` does, from ``--threads`` and ``--parallel-ops``);
    calling it again with the same split is harmless. Before, training left TensorFlow's defaults (both pools as
    large as the machine has cores: on 2 cores every op split over both, two at once) or, with ``--threads N``, set
    both pools to N.

    Args:
        n_threads (int | None): threads in all (default: the cores this process may run on).
        parallel_ops (int | None): ops at once (default :data:`~emocore.config.PARALLEL_OPS`).
        required (bool | None): if TensorFlow is already running with another split, which it cannot change then,
            raise (True) or log a warning and keep the split it has (False). Default: raise when ``n_threads`` or
            ``parallel_ops`` was given, keep when both are defaults that nobody asked for.

    Returns:
        tuple[int, int]: TensorFlow's intra-op and inter-op thread counts (0: TensorFlow's own choice).

    Raises:
        ParameterError: bad counts, or (``required``) TensorFlow already running with another split.
    """
    import tensorflow as tf

    if required is None:
        required = n_threads is not None or parallel_ops is not None
    intra, inter = thread_split(usable_cores() if n_threads is None else n_threads,
                                PARALLEL_OPS if parallel_ops is None else parallel_ops)
    threading = tf.config.threading
    current = threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()
    if current == (intra, inter):
        return current
    try:
        threading.set_intra_op_parallelism_threads(intra)
        threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError as err:
        message = (f"TensorFlow has already started, so its threads cannot become {inter} ops at once, each split "
                   f"over {intra}")
        if not required:
            logger.warning("%s; they stay as they are", message)
            return current
        raise ParameterError(f"{message}: call limit_cpu_threads before the first TensorFlow op ({err})") from None
    return intra, inter


class TensorBoard:
    """tf.summary writer for losses, learning rates and validation audio/images."""

    def __init__(self, log_dir: str | Path):
        import tensorflow as tf

        self.tf = tf
        self.writer = tf.summary.create_file_writer(str(log_dir))

    def scalars(self, step: int, values: dict) -> None:
        with self.writer.as_default(step=step):
            for name, value in values.items():
                self.tf.summary.scalar(name, value)

    def audio(self, step: int, name: str, wav: np.ndarray, sr: int) -> None:
        with self.writer.as_default(step=step):
            clipped = np.clip(np.asarray(wav, dtype=np.float32), -1, 1)
            self.tf.summary.audio(name, clipped[None, :, None], sr)

    def image(self, step: int, name: str, rgba: np.ndarray) -> None:
        with self.writer.as_default(step=step):
            self.tf.summary.image(name, rgba[None])

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()


def spectrogram_image(source: WorldFeatures, converted: WorldFeatures, cfg: FeatureConfig, title: str = "") -> np.ndarray:
    """RGBA image ``(H, W, 4)`` uint8: the source and converted spectral envelopes (dB) above each other."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5), dpi=80)
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 1, sharex=True)
    t_end = source.n_frames * cfg.frame_period_ms / 1000
    for ax, feats, label in zip(axes, (source, converted), ("source", "converted")):
        sp_db = 10 * np.log10(np.maximum(features.decode_mcep(feats.mcep, cfg), 1e-12))
        ax.imshow(sp_db.T, origin="lower", aspect="auto", cmap="magma", extent=(0, t_end, 0, cfg.sr / 2000))
        ax.set(ylabel="kHz", title=f"{title} {label}".strip())
    axes[-1].set_xlabel("time (s)")
    fig.tight_layout()
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def validate(conv: ConversionModel, pairs: dict, iteration: int, n_files: int, output_dir: Path | None,
             tensorboard: TensorBoard | None) -> None:
    """Convert validation utterances with the live networks, through the one conversion path.

    Args:
        conv: the live model.
        pairs: ``{label: (direction, [(Utterance, WorldFeatures), ...])}``, e.g. ``{"A2B": ((0, 1), ...)}``.
        iteration: written as ``output_dir/iteration-NNNNNNNN/<label>/<stem>.wav`` and TensorBoard's step.
        n_files: how many utterances of each direction.
    """
    for label, (direction, validation) in pairs.items():
        for k, (utt, feats) in enumerate(validation[:n_files]):
            converted = conv.convert_features(feats, direction)
            wav = conv.synthesize(converted, power=True)
            if output_dir is not None:
                audio.save_wav(output_dir / f"iteration-{iteration:08d}" / label / f"{Path(utt.path).stem}.wav",
                               wav, conv.feature_cfg.sr)
            if tensorboard is not None and k == 0:
                tensorboard.audio(iteration, f"validation/{label}", wav, conv.feature_cfg.sr)
                tensorboard.image(iteration, f"validation/{label}_envelope",
                                  spectrogram_image(feats, converted, conv.feature_cfg, f"{label} {utt.uid}"))


def write_history_csv(history: list[dict], path: str | Path) -> Path:
    """Write the training history (one dict per logged iteration) as CSV, atomically."""
    fields = list(dict.fromkeys(k for row in history for k in row))
    with atomic_write(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(history)
    return Path(path)


def now() -> str:
    """The current UTC time, ISO 8601 to the second (for the run record)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
