"""``make results``: every figure and table of the README, re-measured from the pretrained models (about 40 minutes).

``make demo`` (:mod:`emocore.demo`) is the quick listen; this is the full evaluation, and it needs the corpora.

1. Execute the notebooks headless into ``build/`` on the pretrained models (01 preprocessing, 02 vocoders,
   04 evaluation of the reference systems and every pretrained model on its held-out words (the multi-speaker
   model on those of every TESS pair), 05 the stream ablation of the models of the first domain pair and, again,
   of the default multi-speaker model with its contour and rhythm streams (:func:`stream_variants`, TESS OAF
   neutral -> happy), 06 the listening test's analysis).
2. Write the results table (``figures/results.csv``, printed as Markdown for the README) from notebook 04's summary.
3. Evaluate each multi-speaker model on TESS's held-out words and on RAVDESS actors it never heard
   (:func:`emocore.evaluation.multispeaker.evaluate_multispeaker`, two judges, baselines, intensity; about
   25 minutes on 2 cores; needs RAVDESS; not at ``--smoke`` size) into ``data/results/multispeaker/<model>/`` and
   print its tables (``figures/results_multispeaker.csv``, ``figures/intensity_multispeaker.csv``); print where
   the audio, tables and figures are.

Run it as ``make results`` or ``python -m emocore.results [--smoke] [--table-only]``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from emocore import paths, pretrained
from emocore.config import PROSODY_WEIGHTS_FILE, SPEAKERS_FILE
from emocore.dsp.speaker_norm import read_speakers
from emocore.evaluation.report import results_rows
from emocore.exceptions import ModelFolderError
from emocore.record import read_record

NOTEBOOKS = ("01_preprocess", "02_vocoder_comparison", "04_evaluate", "05_f0_ablation", "06_listening_test")
#: the results table: (summary column, README header, decimals)
RESULTS_COLUMNS = (("emotion_accuracy_pct", "eGeMAPS judge %", 0), ("emotion_accuracy_logmel_pct", "log-mel judge %", 0),
                   ("judge_ceiling_pct", "eGeMAPS ceiling %", 0), ("judge_ceiling_logmel_pct", "log-mel ceiling %", 0),
                   ("speaker_similarity", "speaker sim.", 3), ("nearest_speaker_correct_pct", "nearest speaker %", 0),
                   ("dnsmos_ovrl", "DNSMOS", 2), ("mcd_db", "MCD dB", 2), ("f0_rmse_hz", "F0 RMSE Hz", 1))
RESULTS_SYSTEMS = ("source", "f0-only", "emocyclegan", "emomunit", "emostargan", "target")
#: the held-out words the multi-speaker model's stream ablation converts (notebook 05, ``TAG="_emostargan"``)
STREAM_PAIR = "tess:OAF:neutral:happy"


def stream_variants(f0_contour: bool = False, learned: bool = False, aperiodicity: bool = False) -> list[str]:
    """Notebook 05's variants for a multi-speaker model: each stream alone (F0 by the speaker-relative log-Gaussian
    transform, by its CWT extension, by the generator's contour channel when the model has one, or by its learned
    prosody when it has one; power likewise; MCEPs; the aperiodicity when the model measured its changes; rhythm),
    then the full model with each F0 method (and, with a learned prosody, its default: the learned F0 with the CWT
    power), with and without rhythm. With ``aperiodicity`` every full variant converts it too, and the model's
    default (the last full variant) is also given without it."""
    methods = ["log-gaussian", "cwt", *(["contour"] if f0_contour else []), *(["learned"] if learned else [])]
    powers = ["log-gaussian", "cwt", *(["learned"] if learned else [])]
    # the power method is always named: a bare "power" is the model's own way (the CWT one)
    alone = ["none", *(f"f0={m}" for m in methods), *(f"power={m}" for m in powers), "mcep",
             *(["ap"] if aperiodicity else []), "rhythm"]
    full = [f"f0={m}+power={m if m in powers else 'cwt'}+mcep" for m in methods]
    if learned:  # the default of a model with a learned prosody: its F0, the transform's power
        full.append("f0=learned+power=cwt+mcep")
    if aperiodicity:
        alone.append(full[-1])  # the default without the aperiodicity: its own row of the ablation
        full = [f"{v}+ap" for v in full]
    return alone + full + [f"{v}+rhythm" for v in full]


def results_table(summary: pd.DataFrame, systems: tuple[str, ...] = RESULTS_SYSTEMS) -> pd.DataFrame:
    """The README's table from an :func:`emocore.evaluation.summarize` frame.

    Args:
        summary: a summary with columns ``system``, ``target_emotion``, ``n``, the metrics and optionally
            ``speaker`` (``summarize(table, by=("system", "speaker", "target_emotion"))``: models are trained
            per speaker, so their rows are compared with the same speaker's reference rows).
        systems: the systems kept, in this order within each group (absent ones are skipped).

    Returns:
        DataFrame: ``target_emotion`` (and ``speaker``), ``system``, ``n``, then the :data:`RESULTS_COLUMNS`
        under their README headers, rounded; sorted by target emotion, speaker, then system as in ``systems``.
    """
    keys = ["target_emotion", "speaker"] if "speaker" in summary else ["target_emotion"]
    return results_rows(summary, keys, systems, RESULTS_COLUMNS)


def to_markdown(table: pd.DataFrame) -> str:
    """A GitHub Markdown table (``nan`` shown as an em dash)."""
    header = "| " + " | ".join(table.columns) + " |"
    numeric = [pd.api.types.is_numeric_dtype(table[c]) for c in table.columns]
    rule = "|" + "|".join("---:" if is_number else "---" for is_number in numeric) + "|"
    lines = [header, rule]
    for row in table.itertuples(index=False):
        cells = ["—" if isinstance(v, float) and v != v else (f"{v:g}" if isinstance(v, float) else str(v)) for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def notebook_runs(models: list[pretrained.PretrainedModel], data_dir: Path) -> list[tuple[str, str, dict]]:
    """What :func:`run_notebooks` executes, in order: ``(notebook, output name, parameters)``.

    04 gets every model (each on every pair it converts); 05 the per-pair models of the first domain pair and then,
    as ``05_f0_ablation_emostargan``, the default multi-speaker model with :func:`stream_variants` on
    :data:`STREAM_PAIR`; 06 the per-pair model types.
    """
    pairs = [m for m in models if len(m.emotions) == 2]  # one speaker's pair: ablated (05) and listened to (06)
    first_pair = [str(m.path) for m in pairs if m.emotions == pairs[0].emotions]
    parameters = {"04_evaluate": {"MODEL_DIRS": [str(m.path) for m in models]},
                  "05_f0_ablation": {"MODEL_DIRS": first_pair},
                  "06_listening_test": {"SYSTEMS": sorted({f"emo{m.model_type}" for m in pairs}) + ["f0-only"],
                                        "MANIFEST_DIR": str(data_dir / "results" / "04_evaluate")}}
    runs = [(name, name, parameters.get(name, {})) for name in NOTEBOOKS if name != "05_f0_ablation" or first_pair]
    multi = next((m for m in models if m.name == pretrained.DEFAULT_PRETRAINED and len(m.emotions) > 2), None)
    if multi is not None:  # the default model's own streams (issue 15), beside the per-pair ablation
        contour = bool((read_record(multi.path).options or {}).get("f0_contour"))
        learned = (multi.path / PROSODY_WEIGHTS_FILE).is_file()
        aperiodicity = _measures_aperiodicity(multi.path)
        runs.insert([r[0] for r in runs].index("06_listening_test"), (
            "05_f0_ablation", "05_f0_ablation_emostargan",
            {"MODEL_DIRS": [str(multi.path)], "PAIR": STREAM_PAIR,
             "VARIANTS": stream_variants(contour, learned, aperiodicity), "TAG": "_emostargan"}))
    return runs


def _measures_aperiodicity(model_dir: Path) -> bool:
    """Whether a multi-speaker model's ``speakers.json`` holds the emotions' aperiodicity changes (the ``ap``
    stream); a folder without a readable one does not (its conversion says why, not this listing)."""
    try:
        return read_speakers(model_dir / SPEAKERS_FILE)[1].prosody.has_aperiodicity
    except ModelFolderError:
        return False


def run_notebooks(models: list[pretrained.PretrainedModel], build_dir: Path, data_dir: Path, fig_dir: Path, *,
                  smoke: bool = False) -> None:
    """Execute :func:`notebook_runs` headless into ``build_dir`` on the pretrained models (outputs in ``data_dir``,
    ``fig_dir``)."""
    import papermill

    build_dir.mkdir(parents=True, exist_ok=True)
    notebooks_dir = paths.repo_root() / "notebooks"
    for name, output, values in notebook_runs(models, data_dir):
        print(f"executing notebooks/{name}.ipynb -> {build_dir / output}.ipynb", flush=True)
        papermill.execute_notebook(str(notebooks_dir / f"{name}.ipynb"), str(build_dir / f"{output}.ipynb"),
                                   cwd=str(notebooks_dir), progress_bar=True,
                                   parameters={**values, "DATA_DIR": str(data_dir),
                                               "FIG_DIR": str(fig_dir), **({"SMOKE": True} if smoke else {})})


def multispeaker_tables(entry: pretrained.PretrainedModel, out_dir: Path, fig_dir: Path, *,
                        evaluate: bool = True) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Evaluate a multi-speaker model into ``out_dir`` (or, with ``evaluate=False``, read that evaluation) and write
    its results and intensity tables into ``fig_dir`` (``results_multispeaker.csv``, ``intensity_multispeaker.csv``
    for the default model, suffixed by the model's name for any other), and the retakes' distances
    (``retakes_multispeaker.csv``: real recordings, the same for every model) where the evaluation wrote them."""
    if evaluate:
        from emocore.evaluation.multispeaker import evaluate_multispeaker

        evaluate_multispeaker(entry.path, out_dir, progress=True)
    results, intensity = pd.read_csv(out_dir / "results.csv"), pd.read_csv(out_dir / "intensity.csv")
    suffix = "" if entry.name == pretrained.DEFAULT_PRETRAINED else f"-{entry.name}"
    fig_dir.mkdir(parents=True, exist_ok=True)
    results.to_csv(fig_dir / f"results_multispeaker{suffix}.csv", index=False)
    intensity.to_csv(fig_dir / f"intensity_multispeaker{suffix}.csv", index=False)
    if (out_dir / "retakes.csv").is_file():  # evaluations since the thirteenth session write it
        pd.read_csv(out_dir / "retakes.csv").to_csv(fig_dir / "retakes_multispeaker.csv", index=False)
    return results, intensity


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m emocore.results", description=__doc__.split("\n\n")[0])
    parser.add_argument("--build-dir", type=Path, default=None, help="default build/ in the checkout")
    parser.add_argument("--table-only", action="store_true",
                        help="only rebuild the results tables from the evaluations already written "
                             "(no conversion, no notebooks)")
    parser.add_argument("--smoke", action="store_true",
                        help="notebooks at smoke size, outputs under <build-dir>/smoke/ (a quick check)")
    args = parser.parse_args(argv)
    root = paths.repo_root()
    build_dir = args.build_dir or root / "build"
    models = pretrained.list_pretrained()
    if not models:
        print(f"no pretrained models in {pretrained.pretrained_dir()}: train one with emocore-train and "
              "write it there with emocore-export", file=sys.stderr)
        return 1
    print("pretrained models:")
    for entry in models:
        print("  " + entry.describe())
    corpora = paths.corpora_dir()
    if not (corpora / "tess").is_dir() and not args.table_only:
        print(f"\nno corpora at {corpora}: the evaluation and the notebooks need them. Get TESS (and RAVDESS) "
              "from the official hosts with `.venv/bin/emocore-download tess ravdess` (non-commercial "
              "licenses, see data/README.md) or point EMOCORE_DATA_DIR at a copy; then run `make results` again.")
        return 1
    data_dir, fig_dir = (build_dir / "smoke" / "data", build_dir / "smoke" / "figures") if args.smoke else (
        root / "data", root / "figures")
    if not args.table_only:
        run_notebooks(models, build_dir, data_dir, fig_dir, smoke=args.smoke)
    summary_csv = data_dir / "results" / "04_evaluate" / "summary.csv"
    from emocore.evaluation import summarize

    evaluated = pd.read_csv(summary_csv.with_name("evaluation.csv"))
    table = results_table(summarize(evaluated, by=("system", "speaker", "target_emotion")))
    table.to_csv(fig_dir / "results.csv", index=False)
    print("\nResults on held-out words (notebook 04; eGeMAPS and log-mel emotion judges, speaker verifier, DNSMOS, "
          "distances to the real target word):\n")
    print(to_markdown(table))
    for entry in (m for m in models if len(m.emotions) > 2):
        out_dir = data_dir / "results" / "multispeaker" / entry.name
        command = f"python -m emocore.evaluation.multispeaker {entry.path} {out_dir}"
        if args.smoke or (args.table_only and not (out_dir / "intensity.csv").is_file()):
            print(f"\n{entry.name}: its evaluation on TESS and on unseen RAVDESS actors (about 25 minutes) is "
                  f"{'not run at smoke size' if args.smoke else 'not written yet'}; run `{command}`")
            continue
        if not args.table_only and not (corpora / "ravdess").is_dir():
            print(f"\n{entry.name}: no RAVDESS at {corpora}: its evaluation on actors it never heard needs it; "
                  "get it with `.venv/bin/emocore-download ravdess`")
            continue
        results, intensity = multispeaker_tables(entry, out_dir, fig_dir, evaluate=not args.table_only)
        print(f"\nThe multi-speaker model {entry.name} on TESS's held-out words (tess) and on RAVDESS actors it never "
              "heard (unseen); eGeMAPS and log-mel judges:\n")
        print(to_markdown(results))
        print("\nProbability of the target emotion by intensity (unseen actors):\n")
        print(to_markdown(intensity))
        if (out_dir / "retakes.csv").is_file():
            print("\nThe floor of the distance columns (unseen actors): each normal-intensity take against the "
                  "actor's other take of the sentence:\n")
            print(to_markdown(pd.read_csv(out_dir / "retakes.csv")))
    print(f"\naudio: {data_dir / 'results'}/*/"
          f"\ntables: {summary_csv.parent}/ (evaluation.csv, summary.csv, summary.json) and {fig_dir / 'results.csv'}"
          f"\nfigures: {fig_dir}/\nexecuted notebooks: {build_dir}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
