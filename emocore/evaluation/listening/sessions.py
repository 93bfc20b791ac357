"""What the listener sees and does: loudness-matched clips, and sessions with their ipywidgets UI.

:class:`ABSession` and :class:`MOSSession` hold one listener's state over some trials; their
:meth:`~ListeningSession.answer` is what the buttons call, so tests drive them without a browser.
Clips are played from re-encoded, loudness-matched bytes (:func:`clip_bytes`), labelled ``"A"``/``"B"``
(or ``"clip"`` and ``"reference"``), so neither a file's name nor its loudness gives a system away.
:func:`simulate_answers` stands in for a listener in smoke runs.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from emocore.dsp import audio
from emocore.evaluation.listening.results import ResultsLog
from emocore.evaluation.listening.trials import (
    AB_CHOICES,
    AB_TASK,
    LISTENING_SR,
    MOS_CHOICES,
    MOS_LABELS,
    MOS_TASK,
    NO_PREFERENCE,
    Trial,
)
from emocore.exceptions import DuplicateAnswerError, ParameterError


def clip_bytes(path: str | Path, *, sr: int = LISTENING_SR, rms_dbfs: float = -26.0, peak: float = 0.99) -> bytes:
    """A clip as the listener gets it: 16-bit WAV bytes at ``sr``, scaled to ``rms_dbfs`` (peak at most ``peak``).

    Re-encoding drops whatever the file's name or metadata might say, and equal loudness keeps a louder
    system from winning for being louder.
    """
    wav = audio.load_wav(path, sr)
    rms = float(np.sqrt(np.mean(wav ** 2)))
    wav = wav * min(10 ** (rms_dbfs / 20) / rms, peak / float(np.max(np.abs(wav))))
    buffer = io.BytesIO()
    import soundfile as sf

    sf.write(buffer, wav, sr, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


class ListeningSession:
    """One listener working through trials of one task, answers recorded in ``results_csv``.

    A session built on a CSV that already holds some of this listener's answers starts at the first
    trial still to do. :meth:`answer` is what the widget's buttons call.

    Args:
        trials: from :func:`make_ab_trials` (:class:`ABSession`) or :func:`make_mos_trials` (:class:`MOSSession`).
        results_csv: where answers go; the same file for every listener is fine.
        listener: the listener's id; empty for :func:`default_listener`.
    """

    task = ""
    choices: tuple[str, ...] = ()

    def __init__(self, trials: Sequence[Trial], results_csv: str | Path, listener: str = "", *,
                 sr: int = LISTENING_SR):
        self.trials = list(trials)
        wrong = sorted({t.task for t in self.trials} - {self.task})
        if wrong:
            raise ParameterError(f"{type(self).__name__} takes {self.task!r} trials, got {wrong}")
        self.log = ResultsLog(results_csv, listener)
        self.listener, self.sr = self.log.listener, sr
        self.remaining = self.log.remaining(self.trials)
        self.buttons: dict[str, object] = {}
        self._ui = None

    @property
    def current(self) -> Trial | None:
        """The trial being asked, ``None`` when all are answered."""
        return self.remaining[0] if self.remaining else None

    @property
    def done(self) -> bool:
        return not self.remaining

    @property
    def progress(self) -> str:
        n = len(self.trials)
        return f"all {n} trials answered" if self.done else f"trial {n - len(self.remaining) + 1} of {n}"

    def normalize_answer(self, value) -> str:
        value = str(value).strip()
        if value not in self.choices:
            raise ParameterError(f"an answer is one of {self.choices}, got {value!r}")
        return value

    def answer(self, value) -> dict:
        """Record ``value`` for the current trial, move to the next one, and return the row written.

        Raises:
            ParameterError: not one of :attr:`choices`, or no trial left.
            DuplicateAnswerError: the trial was answered meanwhile (another session of this listener);
                it is skipped.
        """
        value = self.normalize_answer(value)
        trial = self.current
        if trial is None:
            raise ParameterError(f"{self.listener} has answered all {len(self.trials)} trials")
        try:
            row = self.log.record(trial.trial_id, value)
        except DuplicateAnswerError:
            self.remaining.pop(0)
            self._render()
            raise
        self.remaining.pop(0)
        self._render()
        return row

    # -- the widget: built from ipywidgets only when asked for, so the logic above needs no frontend

    def choice_labels(self) -> dict[str, str]:
        """Button text per answer value."""
        return {c: c for c in self.choices}

    def instructions(self, trial: Trial) -> str:
        return ""

    def widget(self):
        """The UI: prompt, progress, the clips and one button per answer, wired to :meth:`answer`."""
        import ipywidgets as widgets

        self.prompt = widgets.HTML()
        self.status = widgets.Label(value=f"listener: {self.listener}")
        self.progress_label = widgets.Label()
        self.clips_box = widgets.HBox()
        self.buttons = {}
        for value, text in self.choice_labels().items():
            button = widgets.Button(description=text, layout=widgets.Layout(width="auto"))
            button.on_click(lambda _button, value=value: self._on_click(value))
            self.buttons[value] = button
        self._ui = widgets.VBox([self.prompt, self.progress_label, self.clips_box,
                                 widgets.HBox(list(self.buttons.values())), self.status])
        self._ui.add_class(f"emocore-{self.task}-session")  # a handle for pages' styles and the browser tests
        self._render()
        return self._ui

    def _on_click(self, value: str) -> None:
        try:
            row = self.answer(value)
            self.status.value = f"saved answer {row['answer']!r} to trial {row['trial_id']}"
        except (ParameterError, DuplicateAnswerError) as error:
            self.status.value = str(error)

    def _render(self) -> None:
        if self._ui is None:
            return
        import ipywidgets as widgets

        trial = self.current
        old_clips, self.clips_box.children = self.clips_box.children, ()
        for box in old_clips:  # close the played clips, or every trial's audio stays in the kernel and the notebook
            for child in box.children:
                child.close()
            box.close()
        self.progress_label.value = self.progress if trial is None else f"{self.progress} (id {trial.trial_id})"
        for button in self.buttons.values():
            button.disabled = trial is None
        if trial is None:
            self.prompt.value = "<b>Done, thank you.</b> Your answers are saved."
            return
        note = self.instructions(trial)
        self.prompt.value = f"<b>{html.escape(trial.prompt)}</b>" + (f"<br>{html.escape(note)}" if note else "")
        self.clips_box.children = [
            widgets.VBox([widgets.Label(value=clip.label),
                          widgets.Audio(value=clip_bytes(clip.path, sr=self.sr), format="wav", autoplay=False,
                                        loop=False)])
            for clip in trial.clips]


class ABSession(ListeningSession):
    """A/B preference: answers ``"A"``, ``"B"`` or ``"none"`` (no preference)."""

    task, choices = AB_TASK, AB_CHOICES

    def choice_labels(self) -> dict[str, str]:
        return {"A": "A", "B": "B", NO_PREFERENCE: "no preference"}

    def instructions(self, trial: Trial) -> str:
        return "Listen to both clips, then choose."


class MOSSession(ListeningSession):
    """MOS: answers ``1`` to ``5`` (stored as text); what each grade means depends on the question."""

    task, choices = MOS_TASK, MOS_CHOICES

    def normalize_answer(self, value) -> str:
        if isinstance(value, (int, np.integer, float)) and float(value).is_integer():
            value = int(value)
        return super().normalize_answer(value)

    def instructions(self, trial: Trial) -> str:
        labels = MOS_LABELS[trial.question]
        return "  ".join(f"{k} = {label}" for k, label in enumerate(labels, start=1))


def ab_widget(trials: Sequence[Trial], results_csv: str | Path, listener: str = ""):
    """The A/B widget of a new :class:`ABSession` (its session is ``widget.session``)."""
    session = ABSession(trials, results_csv, listener)
    ui = session.widget()
    ui.session = session
    return ui


def mos_widget(trials: Sequence[Trial], results_csv: str | Path, listener: str = ""):
    """The MOS widget of a new :class:`MOSSession` (its session is ``widget.session``)."""
    session = MOSSession(trials, results_csv, listener)
    ui = session.widget()
    ui.session = session
    return ui


def simulate_answers(session: ListeningSession, seed: int = 0, *, weights: Sequence[float] | None = None) -> int:
    """Answer every remaining trial at random, as a stand-in listener for smoke runs; returns how many.

    Args:
        weights: probability of each of ``session.choices``; ``None`` for uniform.
    """
    rng = np.random.default_rng(seed)
    n = 0
    while not session.done:
        session.answer(rng.choice(session.choices, p=weights))
        n += 1
    return n
