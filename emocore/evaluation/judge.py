"""The emotion judge: :class:`EmotionJudge`, an independent classifier of eGeMAPS functionals, and its training.

It is a standardized logistic regression or RBF SVM, whichever cross-validates better over held-apart
*words*, trained on real recordings only: never on conversions and never on the network used as a
training loss. Its accuracy on real recordings of held-out words (:meth:`EmotionJudge.accuracy_on`) is
the *ceiling* every result is reported next to. :func:`train_corpus_judge` trains one per corpus, holding
out :func:`corpus_held_out_text_ids` (the words conversions are evaluated on); :func:`load_or_train_judge`
keeps it on disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from emocore.data.datasets import Utterance, list_utterances, validation_text_ids
from emocore.evaluation.egemaps import N_EGEMAPS, _egemaps_rows, egemaps_feature_names, extract_egemaps
from emocore.evaluation.manifest import Item
from emocore.exceptions import ParameterError
from emocore.io import atomic_path

log = logging.getLogger(__name__)

JUDGE_FORMAT = 1
DEFAULT_EMOTIONS = ("neutral", "angry", "happy", "sad")
DEFAULT_LOGISTIC_C = (0.01, 0.1, 1.0, 10.0)
DEFAULT_SVM_C = (1.0, 10.0, 100.0)


def _model_candidates(seed: int, logistic_c: Sequence[float], svm_c: Sequence[float]) -> list[tuple[str, object]]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    return ([(f"logistic C={c:g}", LogisticRegression(C=c, max_iter=5000)) for c in logistic_c]
            + [(f"svm-rbf C={c:g}", SVC(C=c, kernel="rbf", gamma="scale", random_state=seed)) for c in svm_c])


def _pipeline(classifier):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), classifier)


class EmotionJudge:
    """An independent speech-emotion classifier: eGeMAPS functionals + standardization + a scikit-learn model.

    Build it with :meth:`train` (or :func:`train_corpus_judge`), read it back with :meth:`load`.

    Attributes:
        pipeline: the fitted scikit-learn pipeline ``StandardScaler -> LogisticRegression | SVC``.
        emotions: the class names, sorted.
        metadata: how it was trained: ``speakers``, ``corpora``, ``train_text_ids``, ``held_out_text_ids``,
            ``n_train`` per emotion, ``model`` (the chosen candidate), ``cv`` (every candidate's
            cross-validated accuracy), versions, and ``ceiling`` once measured.
    """

    def __init__(self, pipeline, emotions: Sequence[str], metadata: dict | None = None):
        self.pipeline = pipeline
        self.emotions = tuple(emotions)
        self.metadata = dict(metadata or {})

    # ------------------------------------------------------------------ training

    @classmethod
    def train(cls, utterances: Sequence[Utterance], emotions: Sequence[str] | None = None, *,
              held_out_text_ids: Iterable[str] = (), cache_dir: str | Path | None = None, cv_folds: int = 5,
              logistic_c: Sequence[float] = DEFAULT_LOGISTIC_C, svm_c: Sequence[float] = DEFAULT_SVM_C,
              seed: int = 0, progress: bool = False) -> "EmotionJudge":
        """Train on real recordings, choosing the classifier by cross-validation over words.

        Candidates are logistic regression with each of ``logistic_c`` and an RBF SVM with each of
        ``svm_c``, all after standardization. Folds are :class:`~sklearn.model_selection.GroupKFold`
        over ``text_id``, so a candidate is always scored on words it did not train on, as the final
        judge will be; the best mean accuracy wins (ties: the earlier candidate, so the simpler model)
        and is refitted on everything given.

        Args:
            utterances: real recordings; those whose ``text_id`` is in ``held_out_text_ids`` or whose
                emotion is not in ``emotions`` are left out, unusable files are skipped with a warning.
            emotions: the classes; ``None`` for every emotion among ``utterances``.
            held_out_text_ids: words never to train on (recorded in the metadata).
            cache_dir: eGeMAPS cache root; ``None`` for no cache.
            cv_folds: at most this many folds (fewer when there are fewer words).

        Raises:
            ParameterError: fewer than two classes or two words to train on, or no candidate.
        """
        from sklearn.base import clone
        from sklearn.model_selection import GroupKFold, cross_val_score

        held_out = frozenset(held_out_text_ids)
        wanted = sorted(set(emotions) if emotions is not None else {u.emotion for u in utterances})
        chosen = [u for u in utterances if u.emotion in wanted and u.text_id not in held_out]
        x, errors = _egemaps_rows(chosen, cache_dir, progress, "eGeMAPS (judge)")
        for utt, error in zip(chosen, errors):
            if error is not None:
                log.warning("judge: skipping %s: %s", utt.path, error)
        keep = [i for i, error in enumerate(errors) if error is None]
        chosen, x = [chosen[i] for i in keep], x[keep]
        y = np.array([u.emotion for u in chosen])
        groups = np.array([u.text_id for u in chosen])
        present = sorted({str(e) for e in y})
        if len(present) < 2:
            raise ParameterError(f"the judge needs at least two emotions to train on, got {present}")
        if missing := sorted(set(wanted) - set(present)):
            raise ParameterError(f"no usable training recordings of {', '.join(missing)}")
        n_folds = min(cv_folds, len(set(groups)))
        if n_folds < 2:
            raise ParameterError("the judge needs recordings of at least two different words (for cross-validation)")
        candidates = _model_candidates(seed, logistic_c, svm_c)
        if not candidates:
            raise ParameterError("no classifier candidates: give logistic_c and/or svm_c")
        cv = {}
        for name, classifier in candidates:
            scores = cross_val_score(_pipeline(clone(classifier)), x, y, groups=groups, cv=GroupKFold(n_folds))
            cv[name] = {"mean": float(scores.mean()), "std": float(scores.std())}
        best_name, best = max(candidates, key=lambda c: cv[c[0]]["mean"])  # max keeps the first of ties
        best = clone(best)
        if "probability" in best.get_params():  # the SVM: Platt-scaled probabilities for p_target_emotion
            best.set_params(probability=True)
        pipeline = _pipeline(best).fit(x, y)
        from importlib.metadata import version

        metadata = {
            "format": JUDGE_FORMAT,
            "features": "eGeMAPSv02 functionals (openSMILE), 16 kHz",
            "model": best_name, "cv": cv, "cv_folds": n_folds, "cv_grouped_by": "text_id",
            "corpora": sorted({u.corpus for u in chosen}), "speakers": sorted({u.speaker for u in chosen}),
            "emotions": present, "n_train": {e: int(np.sum(y == e)) for e in present},
            "train_text_ids": sorted(set(groups)), "held_out_text_ids": sorted(held_out),
            "versions": {"scikit-learn": version("scikit-learn"), "opensmile": version("opensmile")},
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        return cls(pipeline, present, metadata)

    # ------------------------------------------------------------------ prediction

    def predict_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Classify eGeMAPS rows.

        Args:
            x (ndarray): shape ``(N, 88)``; ``nan`` rows (failed files) are passed through.

        Returns:
            tuple: predicted emotions ``(N,)`` (``""`` for ``nan`` rows) and class probabilities ``(N, C)``
            in :attr:`emotions` order (Platt-scaled for the SVM; ``nan`` rows stay ``nan``).
        """
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != N_EGEMAPS:
            raise ParameterError(f"expected eGeMAPS rows of {N_EGEMAPS} features, got shape {x.shape}")
        ok = np.all(np.isfinite(x), axis=1)
        labels = np.full(len(x), "", dtype=object)
        scores = np.full((len(x), len(self.emotions)), np.nan)
        if ok.any():
            labels[ok] = self.pipeline.predict(x[ok])
            classes = list(self.pipeline.classes_)
            order = [classes.index(e) for e in self.emotions]
            if hasattr(self.pipeline, "predict_proba"):
                raw = self.pipeline.predict_proba(x[ok])
            else:
                raw = self.pipeline.decision_function(x[ok])
                raw = raw[:, None] if raw.ndim == 1 else raw
                if raw.shape[1] == 1:  # binary SVM: one column, positive = classes[1]
                    raw = np.hstack([-raw, raw])
            scores[ok] = raw[:, order]
        return labels, scores

    @property
    def is_linear(self) -> bool:
        """Whether the judge's log-odds are linear in the standardized features (logistic regression)."""
        classifier = self.pipeline[-1]
        return hasattr(classifier, "coef_") and getattr(classifier, "kernel", "linear") == "linear"

    def explain_shift(self, x_from: np.ndarray, x_to: np.ndarray, emotion: str, versus: str,
                      feature_names: Sequence[str] | None = None) -> pd.DataFrame:
        """Which features move the judge from ``emotion`` toward ``versus`` between two sets of files.

        For a logistic-regression judge the log-odds of ``emotion`` against ``versus`` are linear in the
        standardized features ``z``, so the change of their mean from the ``x_from`` files (e.g. the F0-only
        conversions) to the ``x_to`` files (e.g. a model's conversions of the same words) splits exactly into
        one term per feature: ``(mean z_to - mean z_from) * (w_emotion - w_versus)``.

        Args:
            x_from, x_to: eGeMAPS rows, shapes ``(N, 88)`` and ``(M, 88)`` (:func:`extract_egemaps`).
            emotion, versus: two of :attr:`emotions`.
            feature_names: the 88 column names (default :func:`egemaps_feature_names`).

        Returns:
            DataFrame: ``feature``, ``z_from``, ``z_to`` (mean standardized values), ``logit_change``; sorted
            with the features that push most toward ``versus`` (most negative change) first. The column sums
            to the change of the mean log-odds.

        Raises:
            ParameterError: a non-linear (SVM) judge, an unknown emotion, or rows of the wrong width.
        """
        for name in (emotion, versus):
            if name not in self.emotions:
                raise ParameterError(f"{name!r} is not one of the judge's emotions {self.emotions}")
        scaler, classifier = self.pipeline[:-1], self.pipeline[-1]
        if not self.is_linear:
            raise ParameterError(f"explain_shift needs a linear judge, this one is {type(classifier).__name__}")
        z_from, z_to = (scaler.transform(np.atleast_2d(np.asarray(x, dtype=np.float64))) for x in (x_from, x_to))
        if z_from.shape[1] != N_EGEMAPS:
            raise ParameterError(f"expected eGeMAPS rows of {N_EGEMAPS} features, got {z_from.shape[1]}")
        classes = list(classifier.classes_)
        coef = classifier.coef_
        if coef.shape[0] == 1:  # binary: one row, the log-odds of classes[1]
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        weight = coef[classes.index(emotion)] - coef[classes.index(versus)]
        mean_from, mean_to = z_from.mean(0), z_to.mean(0)
        names = list(feature_names) if feature_names is not None else egemaps_feature_names()
        table = pd.DataFrame({"feature": names, "z_from": mean_from, "z_to": mean_to,
                              "logit_change": (mean_to - mean_from) * weight})
        return table.sort_values("logit_change", kind="stable").reset_index(drop=True)

    def predict(self, items: Sequence[Item], *, cache_dir: str | Path | None = None) -> list[str]:
        """The judged emotion of each item (paths, Utterances, ``(wav, sr)`` pairs, or 16 kHz waveforms).

        Raises:
            AudioError: an item cannot be used.
        """
        labels, _ = self.predict_features(extract_egemaps(items, cache_dir=cache_dir))
        return [str(label) for label in labels]

    def evaluate_on(self, utterances: Sequence[Utterance], *, cache_dir: str | Path | None = None,
                    progress: bool = False) -> dict:
        """Accuracy on real recordings labelled with their emotion (only those of the judge's emotions).

        Returns:
            dict: ``accuracy`` and ``n`` overall, ``recall`` per emotion, ``confusion`` (true -> predicted
            -> count), and ``speakers``, ``text_ids`` it was measured on. A recording of one of
            :attr:`metadata` ``train_text_ids`` counts too; keep held-out words apart for a ceiling.

        Raises:
            ParameterError: no usable utterance of the judge's emotions.
        """
        chosen = [u for u in utterances if u.emotion in self.emotions]
        x, errors = _egemaps_rows(chosen, cache_dir, progress, "eGeMAPS (held out)")
        keep = [i for i, error in enumerate(errors) if error is None]
        if not keep:
            raise ParameterError(f"no usable utterance of the judge's emotions {self.emotions}")
        chosen, x = [chosen[i] for i in keep], x[keep]
        truth = np.array([u.emotion for u in chosen])
        predicted, _ = self.predict_features(x)
        recall = {e: float(np.mean(predicted[truth == e] == e)) for e in self.emotions if np.any(truth == e)}
        confusion = {e: {p: int(np.sum((truth == e) & (predicted == p))) for p in self.emotions}
                     for e in self.emotions if np.any(truth == e)}
        return {"accuracy": float(np.mean(predicted == truth)), "n": len(truth), "recall": recall,
                "confusion": confusion, "speakers": sorted({u.speaker for u in chosen}),
                "text_ids": sorted({u.text_id for u in chosen})}

    def accuracy_on(self, utterances: Sequence[Utterance], *, cache_dir: str | Path | None = None) -> float:
        """Accuracy on real recordings, in ``[0, 1]``: on held-out words, the ceiling to report next to results."""
        return self.evaluate_on(utterances, cache_dir=cache_dir)["accuracy"]

    @property
    def ceiling(self) -> dict | None:
        """The held-out result recorded by :func:`train_corpus_judge` (an :meth:`evaluate_on` dict), if any."""
        return self.metadata.get("ceiling")

    def heard_text(self, text_id: str) -> bool:
        """Whether ``text_id`` was among the training words."""
        return text_id in set(self.metadata.get("train_text_ids", ()))

    # ------------------------------------------------------------------ files

    def save(self, path: str | Path) -> Path:
        """Write the pipeline and metadata with joblib (atomically); returns ``path``."""
        import joblib

        with atomic_path(path) as tmp:
            joblib.dump({"format": JUDGE_FORMAT, "pipeline": self.pipeline, "emotions": list(self.emotions),
                         "metadata": self.metadata}, tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> "EmotionJudge":
        """Read a judge written by :meth:`save` (a joblib pickle: load only files you trust).

        Raises:
            ParameterError: the file is not a judge of a known format.
        """
        import joblib

        data = joblib.load(path)
        if not isinstance(data, dict) or data.get("format") != JUDGE_FORMAT or "pipeline" not in data:
            raise ParameterError(f"{path} is not an emocore emotion judge (format {JUDGE_FORMAT})")
        return cls(data["pipeline"], data["emotions"], data["metadata"])

    def __repr__(self) -> str:
        ceiling = self.ceiling
        tail = f", held-out accuracy {ceiling['accuracy']:.1%}" if ceiling else ""
        return (f"EmotionJudge({', '.join(self.emotions)}; {self.metadata.get('model', '?')}; speakers "
                f"{', '.join(self.metadata.get('speakers', []))}{tail})")


def corpus_held_out_text_ids(corpus: str, *, val_fraction: float = 0.1, seed: int = 0,
                             root: str | Path | None = None) -> frozenset[str]:
    """The words held out of every model of ``corpus``: :func:`~emocore.datasets.validation_text_ids` over all its texts.

    For TESS and RAVDESS every speaker and emotion says the same texts, so this equals what
    :func:`emocore.extraction.prepare_domains` holds out for any pair of domains of the corpus.
    """
    return validation_text_ids({u.text_id for u in list_utterances(corpus, root=root)}, val_fraction, seed)


def train_corpus_judge(corpus: str = "tess", emotions: Sequence[str] = DEFAULT_EMOTIONS, *,
                       speakers: Sequence[str] | None = None, val_fraction: float = 0.1, seed: int = 0,
                       max_train_texts: int | None = None, root: str | Path | None = None,
                       cache_dir: str | Path | None = None, progress: bool = False, **train_kwargs) -> EmotionJudge:
    """The judge of one corpus: trained on every given speaker's training words, measured on the held-out words.

    The held-out words are :func:`corpus_held_out_text_ids` (the ones conversions are evaluated on), so
    a conversion of a held-out word is judged by a judge that never heard that word. Its accuracy on the
    real recordings of those words is stored as ``metadata["ceiling"]``.

    Args:
        corpus: corpus name.
        emotions: the classes.
        speakers: ``None`` for all speakers of the corpus.
        max_train_texts: train on only the first this many training words, sorted (tests, quick looks).
        train_kwargs: passed to :meth:`EmotionJudge.train` (``cv_folds``, ``logistic_c``, ``svm_c``, ``seed``).
    """
    utterances = list_utterances(corpus, speaker=speakers, emotion=list(emotions), root=root)
    held_out = corpus_held_out_text_ids(corpus, val_fraction=val_fraction, seed=seed, root=root)
    train_utts = [u for u in utterances if u.text_id not in held_out]
    if max_train_texts is not None:
        kept = set(sorted({u.text_id for u in train_utts})[:max_train_texts])
        train_utts = [u for u in train_utts if u.text_id in kept]
    judge = EmotionJudge.train(train_utts, emotions, held_out_text_ids=held_out, cache_dir=cache_dir,
                               progress=progress, **train_kwargs)
    held_out_utts = [u for u in utterances if u.text_id in held_out]
    judge.metadata.update(split={"val_fraction": val_fraction, "seed": seed, "corpus": corpus})
    judge.metadata["ceiling"] = judge.evaluate_on(held_out_utts, cache_dir=cache_dir, progress=progress)
    return judge


def default_judge_path(corpus: str, emotions: Sequence[str], *, val_fraction: float = 0.1, seed: int = 0) -> Path:
    """Where :func:`load_or_train_judge` keeps a corpus judge: ``data/models/judges/<corpus>-<emotions>-val<f>-seed<s>.joblib``."""
    from emocore import paths

    return paths.models_dir() / "judges" / f"{corpus}-{'_'.join(sorted(emotions))}-val{val_fraction:g}-seed{seed}.joblib"


def load_or_train_judge(path: str | Path, corpus: str = "tess", emotions: Sequence[str] = DEFAULT_EMOTIONS, *,
                        val_fraction: float = 0.1, seed: int = 0, **kwargs) -> EmotionJudge:
    """The judge saved at ``path``, or a new :func:`train_corpus_judge` saved there when there is none.

    ``kwargs`` go to :func:`train_corpus_judge` (``root``, ``cache_dir``, ``progress``, ...).
    """
    path = Path(path)
    if path.is_file():
        return EmotionJudge.load(path)
    judge = train_corpus_judge(corpus, emotions, val_fraction=val_fraction, seed=seed, **kwargs)
    judge.save(path)
    return judge
