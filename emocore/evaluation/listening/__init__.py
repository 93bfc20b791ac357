"""Listening tests: blinded A/B preference and MOS trials, a resumable results CSV, widgets and analysis.

A test has three parts that never mix:

- **Trials** (:class:`Trial`), built from the items of an evaluation manifest by :func:`make_ab_trials`
  (two systems' conversions of the same text by the same speaker: which sounds more <emotion>, which
  more natural) and :func:`make_mos_trials` (one clip rated 1-5 for naturalness, for how much it sounds
  like the target emotion, and for speaker similarity to the source recording). The order and the A/B
  assignment come from a seeded generator, so one seed always gives the same test.
- **What the listener sees**: an opaque trial id, a prompt, clips labelled ``"A"``/``"B"`` (or ``"clip"``
  and ``"reference"``) played from re-encoded, loudness-matched bytes, and answer buttons.
  :class:`ABSession` and :class:`MOSSession` hold the state; their :meth:`~ListeningSession.answer` is
  what the buttons call, so tests drive them without a browser.
- **The key** (:func:`save_key`): which system and file is behind every clip label, written to its own
  CSV. The results CSV (:class:`ResultsLog`) holds only listener, trial id, answer and time, one row
  appended and fsynced per answer; a new session on the same CSV continues with the trials still to do.

:func:`analyze_ab` and :func:`analyze_mos` read the results CSV(s) and the key, nothing else, and return
tidy tables: preference shares with Wilson intervals, and MOS with t intervals.

The modules, whose public names are all here as ``listening.<name>``:

- :mod:`~emocore.evaluation.listening.trials`: the items heard, the trials, and the key;
- :mod:`~emocore.evaluation.listening.results`: the results CSV (:class:`ResultsLog`, :func:`read_results`);
- :mod:`~emocore.evaluation.listening.sessions`: clips as played, sessions and their widgets;
- :mod:`~emocore.evaluation.listening.analysis`: :func:`analyze_ab`, :func:`analyze_mos`, :func:`write_summary`;
- :mod:`~emocore.evaluation.listening.page`: the same trials as a web page for listeners (:func:`listener_page`,
  served by Voilà through ``emocore-listen``).
"""

from __future__ import annotations

from emocore.evaluation.listening.analysis import (
    AB_RESULT_COLUMNS,
    ALL,
    MOS_RESULT_COLUMNS,
    analyze_ab,
    analyze_mos,
    t_interval,
    wilson_interval,
    write_summary,
)
from emocore.evaluation.listening.page import listener_page, write_page_notebook
from emocore.evaluation.listening.results import RESULT_COLUMNS, ResultsLog, default_listener, read_results
from emocore.evaluation.listening.sessions import (
    ABSession,
    ListeningSession,
    MOSSession,
    ab_widget,
    clip_bytes,
    mos_widget,
    simulate_answers,
)
from emocore.evaluation.listening.trials import (
    AB_CHOICES,
    AB_QUESTIONS,
    AB_TASK,
    EVALUATION_CSV,
    KEY_COLUMNS,
    LISTENING_SR,
    MOS_CHOICES,
    MOS_LABELS,
    MOS_QUESTIONS,
    MOS_TASK,
    NO_PREFERENCE,
    SOURCE_SYSTEM,
    Clip,
    Trial,
    demo_items,
    items_from_evaluation_csv,
    key_table,
    listening_trials,
    load_items,
    load_key,
    make_ab_trials,
    make_mos_trials,
    save_key,
)

__all__ = [
    # trials
    "AB_CHOICES", "AB_QUESTIONS", "AB_TASK", "EVALUATION_CSV", "KEY_COLUMNS", "LISTENING_SR", "MOS_CHOICES",
    "MOS_LABELS", "MOS_QUESTIONS", "MOS_TASK", "NO_PREFERENCE", "SOURCE_SYSTEM", "Clip", "Trial", "demo_items",
    "items_from_evaluation_csv", "key_table", "listening_trials", "load_items", "load_key", "make_ab_trials", "make_mos_trials",
    "save_key",
    # results
    "RESULT_COLUMNS", "ResultsLog", "default_listener", "read_results",
    # sessions
    "ABSession", "ListeningSession", "MOSSession", "ab_widget", "clip_bytes", "mos_widget", "simulate_answers",
    # page
    "listener_page", "write_page_notebook",
    # analysis
    "AB_RESULT_COLUMNS", "ALL", "MOS_RESULT_COLUMNS", "analyze_ab", "analyze_mos", "t_interval", "wilson_interval",
    "write_summary",
]
