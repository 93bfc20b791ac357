"""The emotion judge: :class:`EmotionJudge`, an independent classifier of one feature family, and its training.

It is a standardized logistic regression or RBF SVM, whichever cross-validates better over held-apart
*words* (or *speakers*), trained on real recordings only: never on conversions and never on the network
used as a training loss. Its accuracy on real recordings of held-out words or speakers
(:meth:`EmotionJudge.accuracy_on`) is the *ceiling* every result is reported next to.

Two feature families (:data:`FEATURE_FAMILIES`), so that no result rests on one classifier: ``"egemaps"``,
the 88 eGeMAPS functionals (:mod:`~emocore.evaluation.egemaps`, the default and the only family of judges
saved before there were two), and ``"logmel"``, log-mel statistics (:mod:`~emocore.evaluation.melstats`).

- :func:`train_corpus_judge` trains one per corpus, holding out :func:`corpus_held_out_text_ids` (the words
  conversions are evaluated on); :func:`load_or_train_judge` keeps it on disk.
- :func:`train_speaker_independent_judge` trains on every speaker of a corpus but some held-out ones,
  cross-validated across speakers, and measures its ceiling on the held-out speakers;
  :func:`load_or_train_speaker_independent_judge` keeps it on disk.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emocore.data.datasets import Utterance, list_utterances, validation_text_ids
from emocore.data.speakers import HELD_OUT_ACTORS
from emocore.evaluation.egemaps import N_EGEMAPS, _egemaps_rows, egemaps_feature_names, extract_egemaps
from emocore.evaluation.manifest import Item
from emocore.evaluation.melstats import N_LOGMEL, _logmel_rows, extract_logmel_stats, logmel_feature_names
from emocore.exceptions import ParameterError
from emocore.io import atomic_path

log = logging.getLogger(__name__)

JUDGE_FORMAT = 1
DEFAULT_EMOTIONS = ("neutral", "angry", "happy", "sad")
DEFAULT_LOGISTIC_C = (0.01, 0.1, 1.0, 10.0)
DEFAULT_SVM_C = (1.0, 10.0, 100.0)
#: how cross-validation folds may be grouped: by the words said, or by who says them
GROUP_BY = ("text_id", "speaker")


@dataclass(frozen=True)
class FeatureFamily:
    """What a judge needs of one family of per-utterance features.

    Attributes:
        rows: ``(items, cache_dir, progress, desc) -> (x, errors)``: ``(N, n_features)`` rows, ``nan`` where an
            item failed, and the failure reason per item (``None`` where it worked); cached per file.
        extract: ``(items, *, cache_dir) -> x``, raising :class:`~emocore.exceptions.AudioError` on the first
            unusable item.
        feature_names: ``() -> list[str]``, the ``n_features`` column names.
        n_features: the width of a row.
        description: one line for reports and metadata.
        package: the Python package that computes the features, whose version the metadata records.
    """

    rows: Callable
    extract: Callable
    feature_names: Callable[[], list[str]]
    n_features: int
    description: str
    package: str


FEATURE_FAMILIES: dict[str, FeatureFamily] = {
    "egemaps": FeatureFamily(_egemaps_rows, extract_egemaps, egemaps_feature_names, N_EGEMAPS,
                             "eGeMAPSv02 functionals (openSMILE), 16 kHz", "opensmile"),
    "logmel": FeatureFamily(_logmel_rows, extract_logmel_stats, logmel_feature_names, N_LOGMEL,
                            "log-mel statistics (64 bands, 7 statistics each, silence dropped), 16 kHz", "librosa"),
}
DEFAULT_FEATURES = "egemaps"


def feature_family(name: str) -> FeatureFamily:
    """The :data:`FEATURE_FAMILIES` entry called ``name``.

    Raises:
        ParameterError: an unknown family (the message lists the known ones).
    """
    if name not in FEATURE_FAMILIES:
        raise ParameterError(f"unknown judge features {name!r}; known: {', '.join(FEATURE_FAMILIES)}")
    return FEATURE_FAMILIES[name]


def _features_of(metadata: dict) -> str:
    """The family a judge's metadata names; judges saved before there were families are eGeMAPS judges
    (no ``features`` key, or the eGeMAPS description in it)."""
    value = metadata.get("features", DEFAULT_FEATURES)
    if value in FEATURE_FAMILIES:
        return value
    if isinstance(value, str) and value.startswith("eGeMAPS"):
        return "egemaps"
    raise ParameterError(f"the judge's metadata names unknown features {value!r}; known: {', '.join(FEATURE_FAMILIES)}")


def _cv_splits(groups: np.ndarray, n_folds: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index pairs of :class:`~sklearn.model_selection.GroupKFold`: no group on both sides."""
    from sklearn.model_selection import GroupKFold

    return list(GroupKFold(n_folds).split(np.zeros((len(groups), 1)), groups=groups))


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
    """An independent speech-emotion classifier: one feature family + standardization + a scikit-learn model.

    Build it with :meth:`train` (or :func:`train_corpus_judge`, :func:`train_speaker_independent_judge`),
    read it back with :meth:`load`.

    Attributes:
        pipeline: the fitted scikit-learn pipeline ``StandardScaler -> LogisticRegression | SVC``.
        emotions: the class names, sorted.
        metadata: how it was trained: ``features`` (a :data:`FEATURE_FAMILIES` name; absent means
            ``"egemaps"``), ``speakers``, ``corpora``, ``train_text_ids``, ``held_out_text_ids``, ``n_train`` per
            emotion, ``model`` (the chosen candidate), ``cv`` (every candidate's cross-validated accuracy),
            ``cv_grouped_by`` and ``cv_test_groups`` (each fold's held-apart words or speakers), versions,
            ``held_out_speakers`` for a speaker-independent judge, and ``ceiling`` once measured.

    Raises:
        ParameterError: ``metadata`` names an unknown feature family.
    """

    def __init__(self, pipeline, emotions: Sequence[str], metadata: dict | None = None):
        self.pipeline = pipeline
        self.emotions = tuple(emotions)
        self.metadata = dict(metadata or {})
        self.features = _features_of(self.metadata)

    @property
    def family(self) -> FeatureFamily:
        """The judge's :class:`FeatureFamily`."""
        return FEATURE_FAMILIES[self.features]

    @property
    def n_features(self) -> int:
        """The width of the feature rows the judge classifies."""
        return self.family.n_features

    # ------------------------------------------------------------------ training

    @classmethod
    def train(cls, utterances: Sequence[Utterance], emotions: Sequence[str] | None = None, *,
              held_out_text_ids: Iterable[str] = (), cache_dir: str | Path | None = None, cv_folds: int = 5,
              logistic_c: Sequence[float] = DEFAULT_LOGISTIC_C, svm_c: Sequence[float] = DEFAULT_SVM_C,
              seed: int = 0, progress: bool = False, features: str = DEFAULT_FEATURES,
              group_by: str = "text_id") -> "EmotionJudge":
        """Train on real recordings, choosing the classifier by cross-validation over words or speakers.

        Candidates are logistic regression with each of ``logistic_c`` and an RBF SVM with each of
        ``svm_c``, all after standardization. Folds are :class:`~sklearn.model_selection.GroupKFold`
        over ``group_by``, so a candidate is always scored on words (or speakers) it did not train on, as
        the final judge will be; the best mean accuracy wins (ties: the earlier candidate, so the simpler
        model) and is refitted on everything given.

        Args:
            utterances: real recordings; those whose ``text_id`` is in ``held_out_text_ids`` or whose
                emotion is not in ``emotions`` are left out, unusable files are skipped with a warning.
            emotions: the classes; ``None`` for every emotion among ``utterances``.
            held_out_text_ids: words never to train on (recorded in the metadata).
            cache_dir: feature cache root; ``None`` for no cache.
            cv_folds: at most this many folds (fewer when there are fewer words or speakers).
            logistic_c: the logistic-regression candidates' inverse regularization strengths.
            svm_c: the RBF SVM candidates' ones.
            seed: the SVM's random state.
            progress: show a progress bar while features are computed.
            features: the feature family, a :data:`FEATURE_FAMILIES` name.
            group_by: one of :data:`GROUP_BY`: ``"text_id"`` scores candidates on unheard words,
                ``"speaker"`` on unheard speakers (for a judge of speakers it never heard).

        Returns:
            EmotionJudge: fitted on every usable recording given.

        Raises:
            ParameterError: an unknown ``features`` or ``group_by``, fewer than two classes or two groups
                (words or speakers) to train on, or no candidate.
        """
        from sklearn.base import clone
        from sklearn.model_selection import cross_val_score

        family = feature_family(features)
        if group_by not in GROUP_BY:
            raise ParameterError(f"group_by must be one of {', '.join(GROUP_BY)}, got {group_by!r}")
        held_out = frozenset(held_out_text_ids)
        wanted = sorted(set(emotions) if emotions is not None else {u.emotion for u in utterances})
        chosen = [u for u in utterances if u.emotion in wanted and u.text_id not in held_out]
        x, errors = family.rows(chosen, cache_dir, progress, f"{features} (judge)")
        for utt, error in zip(chosen, errors):
            if error is not None:
                log.warning("judge: skipping %s: %s", utt.path, error)
        keep = [i for i, error in enumerate(errors) if error is None]
        chosen, x = [chosen[i] for i in keep], x[keep]
        y = np.array([u.emotion for u in chosen])
        groups = np.array([getattr(u, group_by) for u in chosen])
        present = sorted({str(e) for e in y})
        if len(present) < 2:
            raise ParameterError(f"the judge needs at least two emotions to train on, got {present}")
        if missing := sorted(set(wanted) - set(present)):
            raise ParameterError(f"no usable training recordings of {', '.join(missing)}")
        n_folds = min(cv_folds, len(set(groups)))
        if n_folds < 2:
            what = "words" if group_by == "text_id" else "speakers"
            raise ParameterError(f"the judge needs recordings of at least two different {what} (for cross-validation "
                                 f"grouped by {group_by})")
        splits = _cv_splits(groups, n_folds)
        candidates = _model_candidates(seed, logistic_c, svm_c)
        if not candidates:
            raise ParameterError("no classifier candidates: give logistic_c and/or svm_c")
        cv = {}
        for name, classifier in candidates:
            scores = cross_val_score(_pipeline(clone(classifier)), x, y, cv=splits)
            cv[name] = {"mean": float(scores.mean()), "std": float(scores.std())}
        best_name, best = max(candidates, key=lambda c: cv[c[0]]["mean"])  # max keeps the first of ties
        best = clone(best)
        if "probability" in best.get_params():  # the SVM: Platt-scaled probabilities for p_target_emotion
            best.set_params(probability=True)
        pipeline = _pipeline(best).fit(x, y)
        from importlib.metadata import version

        metadata = {
            "format": JUDGE_FORMAT,
            "features": features, "feature_description": family.description, "n_features": family.n_features,
            "model": best_name, "cv": cv, "cv_folds": n_folds, "cv_grouped_by": group_by,
            "cv_test_groups": [sorted({str(g) for g in groups[test]}) for _, test in splits],
            "corpora": sorted({u.corpus for u in chosen}), "speakers": sorted({u.speaker for u in chosen}),
            "emotions": present, "n_train": {e: int(np.sum(y == e)) for e in present},
            "train_text_ids": sorted({u.text_id for u in chosen}), "held_out_text_ids": sorted(held_out),
            "versions": {"scikit-learn": version("scikit-learn"), family.package: version(family.package)},
            "trained_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        return cls(pipeline, present, metadata)

    # ------------------------------------------------------------------ prediction

    def extract_features(self, items: Sequence[Item], *, cache_dir: str | Path | None = None,
                         progress: bool = False) -> tuple[np.ndarray, list[str | None]]:
        """The judge's features of each item, for :meth:`predict_features`; one unusable item costs its own row.

        Args:
            items: audio paths, Utterances, ``(wav, sr)`` pairs, or 16 kHz waveforms.
            cache_dir: feature cache root; ``None`` for no cache.
            progress: show a progress bar.

        Returns:
            tuple: rows ``(N, n_features)``, ``nan`` where an item failed, and the failure reason per item
            (``None`` where it worked).
        """
        return self.family.rows(list(items), cache_dir, progress, self.features)

    def predict_features(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Classify feature rows of the judge's family (:meth:`extract_features`).

        Args:
            x (ndarray): shape ``(N, n_features)``; ``nan`` rows (failed files) are passed through.

        Returns:
            tuple: predicted emotions ``(N,)`` (``""`` for ``nan`` rows) and class probabilities ``(N, C)``
            in :attr:`emotions` order (Platt-scaled for the SVM; ``nan`` rows stay ``nan``).

        Raises:
            ParameterError: rows of the wrong width (e.g. eGeMAPS rows given to a log-mel judge).
        """
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        if x.shape[1] != self.n_features:
            raise ParameterError(f"expected {self.features} rows of {self.n_features} features for this "
                                 f"{self.features} judge, got shape {x.shape}")
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
            x_from, x_to: rows of the judge's features, shapes ``(N, n_features)`` and ``(M, n_features)``
                (:meth:`extract_features`; :func:`extract_egemaps` for an eGeMAPS judge).
            emotion, versus: two of :attr:`emotions`.
            feature_names: the column names; ``None`` for the family's (:func:`egemaps_feature_names`,
                :func:`~emocore.evaluation.melstats.logmel_feature_names`).

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
        x_from, x_to = (np.atleast_2d(np.asarray(x, dtype=np.float64)) for x in (x_from, x_to))
        for x in (x_from, x_to):
            if x.shape[1] != self.n_features:
                raise ParameterError(f"expected {self.features} rows of {self.n_features} features for this "
                                     f"{self.features} judge, got {x.shape[1]}")
        z_from, z_to = scaler.transform(x_from), scaler.transform(x_to)
        classes = list(classifier.classes_)
        coef = classifier.coef_
        if coef.shape[0] == 1:  # binary: one row, the log-odds of classes[1]
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        weight = coef[classes.index(emotion)] - coef[classes.index(versus)]
        mean_from, mean_to = z_from.mean(0), z_to.mean(0)
        names = list(feature_names) if feature_names is not None else self.family.feature_names()
        if len(names) != self.n_features:
            raise ParameterError(f"expected {self.n_features} feature names, got {len(names)}")
        table = pd.DataFrame({"feature": names, "z_from": mean_from, "z_to": mean_to,
                              "logit_change": (mean_to - mean_from) * weight})
        return table.sort_values("logit_change", kind="stable").reset_index(drop=True)

    def predict(self, items: Sequence[Item], *, cache_dir: str | Path | None = None) -> list[str]:
        """The judged emotion of each item (paths, Utterances, ``(wav, sr)`` pairs, or 16 kHz waveforms).

        Raises:
            AudioError: an item cannot be used.
        """
        labels, _ = self.predict_features(self.family.extract(items, cache_dir=cache_dir))
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
        x, errors = self.family.rows(chosen, cache_dir, progress, f"{self.features} (held out)")
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
        """The held-out result recorded by :func:`train_corpus_judge` or :func:`train_speaker_independent_judge`
        (an :meth:`evaluate_on` dict), if any."""
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
        held_out = self.metadata.get("held_out_speakers")
        tail = f"; held-out speakers {', '.join(held_out)}" if held_out else ""
        tail += f", held-out accuracy {ceiling['accuracy']:.1%}" if ceiling else ""
        return (f"EmotionJudge({self.features}: {', '.join(self.emotions)}; {self.metadata.get('model', '?')}; "
                f"speakers {', '.join(self.metadata.get('speakers', []))}{tail})")


def corpus_held_out_text_ids(corpus: str, *, val_fraction: float = 0.1, seed: int = 0,
                             root: str | Path | None = None) -> frozenset[str]:
    """The words held out of every model of ``corpus``: :func:`~emocore.datasets.validation_text_ids` over all its texts.

    For TESS and RAVDESS every speaker and emotion says the same texts, so this equals what
    :func:`emocore.extraction.prepare_domains` holds out for any pair of domains of the corpus.
    """
    return validation_text_ids({u.text_id for u in list_utterances(corpus, root=root)}, val_fraction, seed)


def train_corpus_judge(corpus: str = "tess", emotions: Sequence[str] = DEFAULT_EMOTIONS, *,
                       speakers: Sequence[str] | None = None, val_fraction: float = 0.1, seed: int = 0,
                       max_train_texts: int | None = None, features: str = DEFAULT_FEATURES,
                       root: str | Path | None = None, cache_dir: str | Path | None = None, progress: bool = False,
                       **train_kwargs) -> EmotionJudge:
    """The judge of one corpus: trained on every given speaker's training words, measured on the held-out words.

    The held-out words are :func:`corpus_held_out_text_ids` (the ones conversions are evaluated on), so
    a conversion of a held-out word is judged by a judge that never heard that word. Its accuracy on the
    real recordings of those words is stored as ``metadata["ceiling"]``.

    Args:
        corpus: corpus name.
        emotions: the classes.
        speakers: ``None`` for all speakers of the corpus.
        max_train_texts: train on only the first this many training words, sorted (tests, quick looks).
        features: the feature family, a :data:`FEATURE_FAMILIES` name.
        train_kwargs: passed to :meth:`EmotionJudge.train` (``cv_folds``, ``logistic_c``, ``svm_c``, ``seed``,
            ``group_by``).

    Returns:
        EmotionJudge: with ``metadata["ceiling"]`` and ``metadata["split"]`` set.
    """
    utterances = list_utterances(corpus, speaker=speakers, emotion=list(emotions), root=root)
    held_out = corpus_held_out_text_ids(corpus, val_fraction=val_fraction, seed=seed, root=root)
    train_utts = [u for u in utterances if u.text_id not in held_out]
    if max_train_texts is not None:
        kept = set(sorted({u.text_id for u in train_utts})[:max_train_texts])
        train_utts = [u for u in train_utts if u.text_id in kept]
    judge = EmotionJudge.train(train_utts, emotions, held_out_text_ids=held_out, cache_dir=cache_dir,
                               progress=progress, features=features, **train_kwargs)
    held_out_utts = [u for u in utterances if u.text_id in held_out]
    judge.metadata.update(split={"val_fraction": val_fraction, "seed": seed, "corpus": corpus})
    judge.metadata["ceiling"] = judge.evaluate_on(held_out_utts, cache_dir=cache_dir, progress=progress)
    return judge


def _features_suffix(features: str) -> str:
    """``""`` for eGeMAPS (the names of judges saved before there were families), ``-<family>`` otherwise."""
    feature_family(features)
    return "" if features == "egemaps" else f"-{features}"


def default_judge_path(corpus: str, emotions: Sequence[str], *, val_fraction: float = 0.1, seed: int = 0,
                       features: str = DEFAULT_FEATURES) -> Path:
    """Where :func:`load_or_train_judge` keeps a corpus judge.

    ``data/models/judges/<corpus>-<emotions>-val<f>-seed<s>.joblib`` for an eGeMAPS judge, with
    ``-<features>`` before ``.joblib`` for another family.

    Raises:
        ParameterError: an unknown ``features``.
    """
    from emocore import paths

    return paths.models_dir() / "judges" / (f"{corpus}-{'_'.join(sorted(emotions))}-val{val_fraction:g}-seed{seed}"
                                           f"{_features_suffix(features)}.joblib")


def _check_loaded(judge: EmotionJudge, path: Path, features: str) -> EmotionJudge:
    if judge.features != features:
        raise ParameterError(f"{path} holds a judge of {judge.features} features, not of {features}; "
                             "give another path or the features it was trained on")
    return judge


def load_or_train_judge(path: str | Path, corpus: str = "tess", emotions: Sequence[str] = DEFAULT_EMOTIONS, *,
                        val_fraction: float = 0.1, seed: int = 0, features: str = DEFAULT_FEATURES,
                        **kwargs) -> EmotionJudge:
    """The judge saved at ``path``, or a new :func:`train_corpus_judge` saved there when there is none.

    ``kwargs`` go to :func:`train_corpus_judge` (``root``, ``cache_dir``, ``progress``, ...).

    Raises:
        ParameterError: the judge at ``path`` is of other features than ``features``.
    """
    path = Path(path)
    if path.is_file():
        return _check_loaded(EmotionJudge.load(path), path, features)
    judge = train_corpus_judge(corpus, emotions, val_fraction=val_fraction, seed=seed, features=features, **kwargs)
    judge.save(path)
    return judge


def load_or_train_judges(path: str | Path, corpus: str = "tess", emotions: Sequence[str] = DEFAULT_EMOTIONS, *,
                         families: Sequence[str] = ("egemaps", "logmel"), **kwargs) -> list[EmotionJudge]:
    """One judge per feature family, each by :func:`load_or_train_judge` on the same words: the first family's at
    ``path``, every other's beside it as ``<stem>-<family>.joblib`` (``tess-neutral_angry.joblib`` and
    ``tess-neutral_angry-logmel.joblib``). The notebooks' two judges: a result counts where both agree.

    ``kwargs`` go to :func:`load_or_train_judge` (``cache_dir``, ``progress``, ``max_train_texts``, ...).

    Raises:
        ParameterError: no family, one named twice, or a judge on disk of another family than its name says.
    """
    families, path = list(families), Path(path)
    if not families or len(set(families)) != len(families):
        raise ParameterError(f"give each feature family once, got {families}")
    paths = [path] + [path.with_name(f"{path.stem}-{family}{path.suffix}") for family in families[1:]]
    return [load_or_train_judge(where, corpus, emotions, features=family, **kwargs)
            for where, family in zip(paths, families)]


def train_speaker_independent_judge(corpus: str = "ravdess", emotions: Sequence[str] = DEFAULT_EMOTIONS, *,
                                    held_out_speakers: Sequence[str] = HELD_OUT_ACTORS,
                                    speakers: Sequence[str] | None = None, features: str = DEFAULT_FEATURES,
                                    root: str | Path | None = None, cache_dir: str | Path | None = None,
                                    progress: bool = False, **train_kwargs) -> EmotionJudge:
    """A judge of speakers it never heard: trained on the corpus's other speakers, measured on ``held_out_speakers``.

    It trains on every recording of ``emotions`` by every speaker of the corpus but the held-out ones
    (all their words: with RAVDESS's two sentences no word could be held out anyway), choosing its
    classifier by cross-validation grouped by speaker, so candidates too are scored on speakers they did
    not train on. Its :meth:`~EmotionJudge.evaluate_on` of the held-out speakers' real recordings of
    ``emotions`` is stored as ``metadata["ceiling"]``, and the held-out speakers as
    ``metadata["held_out_speakers"]``.

    Args:
        corpus: corpus name.
        emotions: the classes.
        held_out_speakers: speakers never to train on, the test speakers (RAVDESS: ``"Actor_13"``, ...).
        speakers: the training speakers; ``None`` for every speaker of the corpus not held out (fewer for
            tests and quick looks).
        features: the feature family, a :data:`FEATURE_FAMILIES` name.
        root: the corpora folder; ``None`` for :func:`emocore.paths.corpora_dir`.
        cache_dir: feature cache root; ``None`` for no cache.
        progress: show progress bars.
        train_kwargs: passed to :meth:`EmotionJudge.train` (``cv_folds``, ``logistic_c``, ``svm_c``, ``seed``);
            ``group_by`` is always ``"speaker"``.

    Returns:
        EmotionJudge: with ``metadata["held_out_speakers"]``, ``metadata["split"]`` and ``metadata["ceiling"]``.

    Raises:
        ParameterError: no held-out speaker, a training speaker who is also held out, no speaker left to
            train on, or ``group_by`` other than ``"speaker"``.
        DatasetError: a speaker is not in the corpus (the message lists those that are).
    """
    held_out = sorted(set(held_out_speakers))
    if not held_out:
        raise ParameterError("a speaker-independent judge needs at least one held-out speaker")
    if train_kwargs.setdefault("group_by", "speaker") != "speaker":
        raise ParameterError(f"a speaker-independent judge is cross-validated by speaker, not {train_kwargs['group_by']!r}")
    test_utts = list_utterances(corpus, speaker=held_out, emotion=list(emotions), root=root)
    if speakers is None:
        all_utts = list_utterances(corpus, emotion=list(emotions), root=root)
        train_utts = [u for u in all_utts if u.speaker not in held_out]
    else:
        if both := sorted(set(speakers) & set(held_out)):
            raise ParameterError(f"{', '.join(both)} cannot be both a training and a held-out speaker")
        train_utts = list_utterances(corpus, speaker=list(speakers), emotion=list(emotions), root=root)
    if not train_utts:
        raise ParameterError(f"no speaker of {corpus} is left to train on without {', '.join(held_out)}")
    judge = EmotionJudge.train(train_utts, emotions, cache_dir=cache_dir, progress=progress, features=features,
                               **train_kwargs)
    judge.metadata.update(held_out_speakers=held_out, split={"corpus": corpus, "held_out_speakers": held_out})
    judge.metadata["ceiling"] = judge.evaluate_on(test_utts, cache_dir=cache_dir, progress=progress)
    return judge


def default_speaker_independent_judge_path(corpus: str = "ravdess", emotions: Sequence[str] = DEFAULT_EMOTIONS,
                                           held_out_speakers: Sequence[str] = HELD_OUT_ACTORS,
                                           features: str = DEFAULT_FEATURES) -> Path:
    """Where :func:`load_or_train_speaker_independent_judge` keeps a judge.

    ``data/models/judges/<corpus>-<emotions>-without-<speaker>+<speaker>...joblib``, with ``-<features>``
    before ``.joblib`` for a family other than eGeMAPS.

    Raises:
        ParameterError: an unknown ``features``.
    """
    from emocore import paths

    return paths.models_dir() / "judges" / (f"{corpus}-{'_'.join(sorted(emotions))}-without-"
                                           f"{'+'.join(sorted(set(held_out_speakers)))}"
                                           f"{_features_suffix(features)}.joblib")


def load_or_train_speaker_independent_judge(path: str | Path, corpus: str = "ravdess",
                                            emotions: Sequence[str] = DEFAULT_EMOTIONS, *,
                                            held_out_speakers: Sequence[str] = HELD_OUT_ACTORS,
                                            features: str = DEFAULT_FEATURES, **kwargs) -> EmotionJudge:
    """The judge saved at ``path``, or a new :func:`train_speaker_independent_judge` saved there when there is none.

    ``kwargs`` go to :func:`train_speaker_independent_judge` (``root``, ``cache_dir``, ``progress``, ...).

    Raises:
        ParameterError: the judge at ``path`` is of other features, or held out other speakers, than asked.
    """
    path = Path(path)
    if path.is_file():
        judge = _check_loaded(EmotionJudge.load(path), path, features)
        if judge.metadata.get("held_out_speakers") != sorted(set(held_out_speakers)):
            raise ParameterError(f"{path} holds a judge that held out {judge.metadata.get('held_out_speakers')}, "
                                 f"not {sorted(set(held_out_speakers))}")
        return judge
    judge = train_speaker_independent_judge(corpus, emotions, held_out_speakers=held_out_speakers, features=features,
                                            **kwargs)
    judge.save(path)
    return judge
