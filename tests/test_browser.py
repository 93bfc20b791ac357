"""The listening test in a real browser: notebook 06 in JupyterLab, and the Voilà page of ``emocore-listen``.

Headless Chromium (Debian's ``chromium`` and ``chromedriver``, driven by Selenium) opens each page served on
127.0.0.1 from a temporary folder, checks that the clips' audio elements load with the clips' durations, clicks
through A/B and MOS trials, and checks that each answer lands in the results CSV under the trial shown, that the
CSV and the page name no system (the key alone does), and what the analysis makes of the answers. Screenshots of
the widgets go to ``$EMOCORE_SCREENSHOT_DIR`` when it is set (the README's figures).

Skipped, saying why, without Chromium, its driver or Selenium; ``.ci/run`` installs them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from emocore.dsp import audio
from emocore.evaluation import listening

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
CHROMEDRIVER = shutil.which("chromedriver")
WAIT_S = 300  # page loads, kernel start and notebook runs while make test trains models on both cores (120 s was too short)
SYSTEMS = ("source", "target")  # the smoke test: the real source recording against the real target
AB_ANSWERS, MOS_ANSWERS = ("A", "B", "none"), ("4", "2", "5")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium under Selenium, or a skip that says what is missing."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("browser tests need Chromium and chromedriver on PATH: apt-get install chromium chromium-driver "
                    "(.ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium (pip install selenium)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--autoplay-policy=no-user-gesture-required", "--mute-audio"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _served(command: list[str], url: str, log: Path, env: dict | None = None):
    """Run a server until ``url`` answers (a URL ending in ``/``: until its port takes a connection, since a GET of
    Voila's page would start a kernel); stop it afterwards. Fails with the log's tail if it dies or never answers."""
    with log.open("w") as out:  # a session of its own: the server and its kernels are stopped together
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=str(log.parent),
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + WAIT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"{' '.join(command[:3])} exited with {server.returncode}: {log.read_text()[-3000:]}")
            try:
                if url.endswith("/"):
                    socket.create_connection((urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port),
                                             timeout=2).close()
                else:
                    urllib.request.urlopen(url, timeout=10)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"{url} did not answer in {WAIT_S} s: {log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):  # kernels that outlived their server
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(20)


def _wait(driver, condition, what: str, timeout: float = WAIT_S, log: Path | None = None):
    """Wait for ``condition``; on a time-out, fail with the page's text and the tail of the server's ``log``."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(driver, timeout, poll_frequency=0.25).until(lambda d: condition(d))
    except TimeoutException:
        server = f"\nserver log: {log.read_text(errors='replace')[-4000:]}" if log is not None and log.is_file() else ""
        pytest.fail(f"timed out waiting for {what}; page text: {driver.find_element('tag name', 'body').text[-2000:]}"
                    f"{server}")


def _widget(driver, task: str):
    """The widget of the ``"ab"`` or ``"mos"`` session (:meth:`ListeningSession.widget` marks it with a class)."""
    return driver.find_element("css selector", f".emocore-{task}-session")


def _button(widget, text: str):
    return widget.find_element("xpath", f".//button[normalize-space()='{text}']")


def _audio_durations(driver, widget, n: int) -> list[float]:
    """The durations of the widget's ``n`` audio elements, once all are there with their metadata loaded (the clips
    really arrive)."""
    script = "return Array.from(arguments[0].querySelectorAll('audio')).map(a => a.readyState >= 1 ? a.duration : -1)"
    return _wait(driver, lambda d: (lambda v: v if len(v) == n and min(v) > 0 else None)(
        d.execute_script(script, widget)), f"{n} clips' audio metadata")


def _plays(driver, widget) -> float:
    """Play the widget's first clip until it passes 0.2 s, or for 10 s of wall clock (a loaded machine plays slowly:
    600 ms of wall clock once got 0.04 s into the clip); returns how far it got (s), -1 if it would not play."""
    return driver.execute_async_script(
        "const a = arguments[0].querySelector('audio'), done = arguments[arguments.length - 1], t0 = Date.now();"
        "const wait = () => (a.currentTime > 0.2 || Date.now() - t0 > 10000) ? (a.pause(), done(a.currentTime))"
        " : setTimeout(wait, 100);"
        "a.play().then(wait, e => done(-1));", widget)


def _trial_id(widget) -> str:
    match = re.search(r"\(id ((?:ab|mos)-[0-9a-f]+)\)", widget.text)
    assert match, f"no trial id shown in {widget.text!r}"
    return match.group(1)


def _screenshot(widget, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.png"
    widget.screenshot(str(path))
    assert path.stat().st_size > 5_000
    target = os.environ.get("EMOCORE_SCREENSHOT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(target) / path.name)


def _answer_trials(driver, widget, answers, key: pd.DataFrame, results_csv: Path, listener: str,
                   system_names: tuple[str, ...]) -> list[str]:
    """Click ``answers`` on successive trials, checking what each shows and that each lands in ``results_csv``;
    returns the trial ids answered."""
    answered = []
    for k, answer in enumerate(answers):
        trial_id = _trial_id(widget)
        clips = key[key["trial_id"] == trial_id]
        expected = [len(audio.load_wav(p, listening.LISTENING_SR)) / listening.LISTENING_SR for p in clips["path"]]
        assert _audio_durations(driver, widget, len(expected)) == pytest.approx(expected, abs=0.02)  # these clips
        shown = widget.text.lower()
        assert not any(re.search(rf"\b{re.escape(s)}\b", shown) for s in system_names), shown  # blind
        assert not any(Path(p).stem.lower() in shown for p in clips["path"])
        if k == 0:
            assert _plays(driver, widget) > 0.1
        _button(widget, "no preference" if answer == "none" else answer).click()
        _wait(driver, lambda d: f"(id {trial_id})" not in widget.text, f"the trial after {trial_id}")
        rows = pd.read_csv(results_csv, dtype=str)
        assert list(rows.columns) == list(listening.RESULT_COLUMNS)  # listener, trial, answer, time: no system
        assert rows.iloc[-1][["listener", "trial_id", "answer"]].tolist() == [listener, trial_id, answer]
        answered.append(trial_id)
    return answered


def _check_analysis(out_dir: Path, ab_ids: list[str], mos_ids: list[str]) -> None:
    """The analysis, from the CSVs and keys alone, counts the system behind each clicked label."""
    key_ab, key_mos = (pd.read_csv(out_dir / f"key_{task}.csv", dtype=str) for task in ("ab", "mos"))
    preferred = {}
    for trial_id, answer in zip(ab_ids, AB_ANSWERS):
        behind = key_ab[(key_ab["trial_id"] == trial_id) & (key_ab["label"] == answer)]["system"].tolist()
        preferred[behind[0] if behind else "none"] = preferred.get(behind[0] if behind else "none", 0) + 1
    ab = listening.analyze_ab(out_dir / "results_ab.csv", out_dir / "key_ab.csv", overall=False)
    assert ab.groupby("preferred")["count"].sum().to_dict() == {s: preferred.get(s, 0) for s in (*SYSTEMS, "none")}
    mos = listening.analyze_mos(out_dir / "results_mos.csv", out_dir / "key_mos.csv", overall=False)
    assert mos["n"].sum() == len(mos_ids)
    rated = key_mos[key_mos["trial_id"].isin(mos_ids) & (key_mos["label"] == "clip")]
    assert sorted(mos["system"].unique()) == sorted(rated["system"].unique())


def _jupyter_env(tmp_path: Path) -> dict:
    """A JupyterLab of its own: runtime, workspaces and user settings in ``tmp_path`` (no news pop-up)."""
    settings = tmp_path / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false", "checkForUpdates": false}')
    return dict(os.environ, JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
                JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"), JUPYTERLAB_SETTINGS_DIR=str(settings.parent.parent))


def test_notebook_06_in_jupyterlab_plays_the_clips_and_records_blinded_answers(browser, tmp_path):
    import papermill

    folder, data_dir, listener = tmp_path / "lab", tmp_path / "data", "browser-lab"
    folder.mkdir()
    papermill.execute_notebook(str(REPO / "notebooks" / "06_listening_test.ipynb"), str(folder / "06.ipynb"),
                               prepare_only=True, parameters=dict(
                                   SMOKE=True, SIMULATED_LISTENER=False, LISTENER=listener, N_TRIALS=len(AB_ANSWERS),
                                   DATA_DIR=str(data_dir), FIG_DIR=str(tmp_path / "figures")))
    port = _free_port()
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", "--ServerApp.allow_root=True", f"--ServerApp.root_dir={folder}",
               "--LabApp.extension_manager=readonly"]
    log = tmp_path / "jupyterlab.log"
    with _served(command, f"http://127.0.0.1:{port}/api/status", log, _jupyter_env(tmp_path)):
        browser.get(f"http://127.0.0.1:{port}/lab/tree/06.ipynb")
        _wait(browser, lambda d: d.find_elements("css selector", ".jp-Notebook .jp-Cell"), "the notebook", log=log)
        # the kernel first, as a user sees it in the status bar: a restart sent while it is still starting can leave
        # JupyterLab showing "Starting" for good (CI, under load, once)
        _wait(browser, lambda d: "| Idle" in d.find_element("tag name", "body").text, "the kernel to be idle", log=log)
        _wait(browser, lambda d: d.find_elements("css selector", '[data-command="notebook:restart-run-all"]'),
              "the notebook's toolbar", log=log)[0].click()  # restart the kernel and run every cell, as a user would
        _wait(browser, lambda d: d.find_elements("css selector", ".jp-Dialog-button.jp-mod-accept"),
              "the restart dialog", log=log)[0].click()
        _wait(browser, lambda d: d.find_elements("xpath", "//button[normalize-space()='no preference']") and
              d.find_elements("xpath", "//button[normalize-space()='5']"), "the A/B and MOS widgets", log=log)
        out_dir = data_dir / "results" / "06_listening"
        key_ab, key_mos = (pd.read_csv(out_dir / f"key_{t}.csv", dtype=str) for t in ("ab", "mos"))
        ab_widget, mos_widget = _widget(browser, "ab"), _widget(browser, "mos")
        browser.execute_script("arguments[0].scrollIntoView()", ab_widget)
        _screenshot(ab_widget, "06_listening_ab_jupyterlab", tmp_path)
        ab_ids = _answer_trials(browser, ab_widget, AB_ANSWERS, key_ab, out_dir / "results_ab.csv", listener, SYSTEMS)
        assert "Done, thank you" in ab_widget.text and not _button(ab_widget, "A").is_enabled()
        browser.execute_script("arguments[0].scrollIntoView()", mos_widget)
        _screenshot(mos_widget, "06_listening_mos_jupyterlab", tmp_path)
        mos_ids = _answer_trials(browser, mos_widget, MOS_ANSWERS, key_mos, out_dir / "results_mos.csv", listener,
                                 SYSTEMS)
        assert "Done, thank you" in mos_widget.text
    _check_analysis(out_dir, ab_ids, mos_ids)


def test_the_voila_page_serves_the_same_trials_to_a_named_listener(browser, tmp_path):
    data_dir, port, listener = tmp_path / "data", _free_port(), "listener one"
    command = [str(Path(sys.executable).parent / "emocore-listen"), "--smoke", "--n-trials", str(len(AB_ANSWERS)),
               "--data-dir", str(data_dir), "--port", str(port)]
    log = tmp_path / "voila.log"
    with _served(command, f"http://127.0.0.1:{port}/", log, _jupyter_env(tmp_path)):
        browser.get(f"http://127.0.0.1:{port}/")
        name = _wait(browser, lambda d: d.find_elements("css selector", ".widget-text input"), "the name field", log=log)[0]
        assert not browser.find_elements("css selector", ".jp-InputArea, .jp-CodeMirrorEditor")  # no code shown
        _button(browser, "Start").click()
        _wait(browser, lambda d: listening.page.NAME_FIRST in d.find_element("tag name", "body").text,
              "the request for a name", log=log)  # an empty name is refused
        assert not browser.find_elements("css selector", ".emocore-ab-session")
        name.send_keys(listener)
        _button(browser, "Start").click()
        _wait(browser, lambda d: d.find_elements("xpath", "//button[normalize-space()='no preference']"),
              "the A/B part", log=log)
        out_dir = data_dir / "results" / "06_listening"
        key_ab, key_mos = (pd.read_csv(out_dir / f"key_{t}.csv", dtype=str) for t in ("ab", "mos"))
        source = browser.page_source
        assert "listener_page" not in source and "manifest_dir" not in source  # the code is not sent
        ab_widget, mos_widget = _widget(browser, "ab"), _widget(browser, "mos")
        _screenshot(browser.find_element("css selector", "body"), "06_listening_voila", tmp_path)
        ab_ids = _answer_trials(browser, ab_widget, AB_ANSWERS, key_ab, out_dir / "results_ab.csv", listener, SYSTEMS)
        mos_ids = _answer_trials(browser, mos_widget, MOS_ANSWERS, key_mos, out_dir / "results_mos.csv", listener,
                                 SYSTEMS)
    # the trials are notebook 06's: the same ids from the same manifest and seed
    ab, mos = listening.listening_trials(listening.demo_items(out_dir / "smoke_clips"), SYSTEMS, seed=0,
                                         n_trials=len(AB_ANSWERS))
    assert ab_ids == [t.trial_id for t in ab] and mos_ids == [t.trial_id for t in mos]
    _check_analysis(out_dir, ab_ids, mos_ids)


def test_the_demo_page_plays_its_audio_from_disk(browser, tmp_path):
    """``make demo``'s page, opened from disk: every player loads its file (the durations of the files written)."""
    import numpy as np

    from emocore import demo

    sr, rows = 16000, []
    for k, name in enumerate(("espeak1_en.wav", "my file é.wav")):
        tone = 0.3 * np.sin(2 * np.pi * 200 * np.arange(int(sr * (1.0 + k))) / sr)
        source = audio.save_wav(tmp_path / "demo" / "sources" / name, tone, sr)
        converted = {e: audio.save_wav(tmp_path / "demo" / "converted" / e / name, tone[: len(tone) // (j + 1)], sr)
                     for j, e in enumerate(("angry", "sad"))}
        rows.append(demo.DemoRow(demo.Example(tmp_path / name, "test"), 1.0 + k, source, converted))
    page = demo.write_page(rows, tmp_path / "demo" / "index.html", title="t", summary="s")
    browser.get(page.as_uri())
    body = browser.find_element("tag name", "body")
    expected = [d for k in range(2) for d in (1.0 + k, 1.0 + k, (1.0 + k) / 2)]
    assert _audio_durations(browser, body, len(expected)) == pytest.approx(expected, abs=0.01)
    assert _plays(browser, body) > 0.1
