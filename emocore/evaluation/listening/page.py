"""The listening test as a web page for listeners who are not researchers (served by Voilà: ``emocore-listen``).

The page holds only what a listener needs: a field for their name, then the A/B trials, then the MOS trials. They are
the trials notebook 06 builds from the same manifest, systems and seed (:func:`listening_trials`), answered into the
same results CSVs, with the same keys, so notebook 06 analyses them; the page shows no code, no system name and no
result. Each visitor gets a kernel of their own; answers of several listeners at once are appended under a lock.

:func:`write_page_notebook` writes the one-cell notebook Voilà renders; :func:`listener_page` is what that cell
calls, so tests drive the page without a browser too. :func:`write_keys` writes the keys, once, before the page is
served (``emocore-listen`` does).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from emocore.evaluation.listening.sessions import ABSession, MOSSession
from emocore.evaluation.listening.trials import demo_items, listening_trials, load_items, save_key
from emocore.exceptions import ParameterError

#: where notebook 06 and the page keep a test's keys and answers, under the data folder
LISTENING_DIR = Path("results") / "06_listening"
NAME_FIRST = "Please type your name first, then press Start."
WELCOME = ("<h2>Listening test</h2><p>Thank you for taking part. Please use headphones in a quiet room. "
           "Type your name (or the id you were given) and press <b>Start</b>. Every answer is saved at once: "
           "you can stop and come back later with the same name.</p>")


def page_trials(manifest_dir: str | Path, data_dir: str | Path, systems: Sequence[str], *, seed: int = 0,
                n_trials: int = 0, smoke: bool = False):
    """The A/B and MOS trials of the test, as notebook 06 builds them, and the folder of its CSVs.

    Nothing is written but, for a smoke test without the corpus, its tones; ``emocore-listen`` writes the keys once,
    before the page is served (every visitor's kernel builds the trials again).

    Raises:
        DatasetError: no manifest in ``manifest_dir`` (see :func:`load_items`).
        ParameterError: ``systems`` not in the manifest (see :func:`make_ab_trials`).
    """
    out_dir = Path(data_dir) / LISTENING_DIR
    items = demo_items(out_dir / "smoke_clips") if smoke else load_items(manifest_dir)
    ab, mos = listening_trials(items, systems, seed=seed, n_trials=n_trials)
    return ab, mos, out_dir


def write_keys(ab, mos, out_dir: str | Path) -> None:
    """The keys of the page's trials, beside their results (``key_ab.csv``, ``key_mos.csv``; see :func:`save_key`)."""
    save_key(ab, Path(out_dir) / "key_ab.csv")
    save_key(mos, Path(out_dir) / "key_mos.csv")


def listener_page(manifest_dir: str | Path, data_dir: str | Path, systems: Sequence[str], *, seed: int = 0,
                  n_trials: int = 0, smoke: bool = False, listener: str = ""):
    """The page's widget: a name field and *Start*, then the A/B part and the MOS part for that listener.

    Args:
        manifest_dir, systems, seed, n_trials, smoke: what notebook 06's parameters of the same names mean.
        data_dir: the data folder; answers go to ``data_dir/results/06_listening/results_{ab,mos}.csv``.
        listener: a name to fill in the field with.

    Returns:
        ipywidgets.VBox: with ``start(name)``, what *Start* calls, and, once started, ``sessions`` (the
        :class:`ABSession` and the :class:`MOSSession`).
    """
    import ipywidgets as widgets

    ab, mos, out_dir = page_trials(manifest_dir, data_dir, systems, seed=seed, n_trials=n_trials, smoke=smoke)
    # the name reaches the kernel when the field loses focus (pressing Start), before Start's click does; typed
    # keystrokes sent one by one could still be on their way when the click arrives (a name cut to its first letter)
    name = widgets.Text(value=listener, placeholder="your name or listener id", description="Name:",
                        continuous_update=False)
    start_button = widgets.Button(description="Start", button_style="primary")
    message = widgets.Label()
    parts = widgets.VBox()
    page = widgets.VBox([widgets.HTML(WELCOME), widgets.HBox([name, start_button]), message, parts])
    page.sessions = ()

    def start(value: str) -> None:
        value = value.strip()
        if not value or any(ch in value for ch in "\r\n"):
            message.value = NAME_FIRST
            return
        try:
            sessions = (ABSession(ab, out_dir / "results_ab.csv", value),
                        MOSSession(mos, out_dir / "results_mos.csv", value))
        except ParameterError as error:
            message.value = str(error)
            return
        name.disabled = start_button.disabled = True
        message.value = f"Welcome, {value}."
        parts.children = [widgets.HTML(f"<h3>Part 1 of 2: which of two clips ({len(ab)} pairs)</h3>"),
                          sessions[0].widget(),
                          widgets.HTML(f"<h3>Part 2 of 2: one clip at a time, rated 1 to 5 ({len(mos)} clips)</h3>"),
                          sessions[1].widget()]
        page.sessions = sessions

    start_button.on_click(lambda _button: start(name.value))
    page.start = start
    return page


def write_page_notebook(path: str | Path, manifest_dir: str | Path, data_dir: str | Path, systems: Sequence[str], *,
                        seed: int = 0, n_trials: int = 0, smoke: bool = False) -> Path:
    """Write the notebook Voilà serves: one cell that shows :func:`listener_page` with these arguments.

    The paths are made absolute (the kernel starts in the notebook's folder). Returns ``path``.
    """
    import nbformat

    arguments = dict(manifest_dir=str(Path(manifest_dir).resolve()), data_dir=str(Path(data_dir).resolve()),
                     systems=list(systems), seed=int(seed), n_trials=int(n_trials), smoke=bool(smoke))
    code = ("from emocore.evaluation import listening\n\n"
            f"listening.listener_page(**{arguments!r})")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(path))
    return path
