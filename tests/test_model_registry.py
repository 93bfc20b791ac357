"""The model registry is the only seam: a model type defined here, outside the package, trains, converts and exports.

"toy-shift" is a throw-away model type: per direction, a tiny residual map of kernel-size-1 convolutions on
normalized MCEPs, trained as a :class:`~emocore.models.base.TwoDomainGAN` with an adversarial and an L1 cycle
term, and a converter that converts log F0 its own way (the log-F0 mean moved to the target's, the source's
spread kept, plus a fixed shift from its options) while the power envelope keeps the log-Gaussian transform.
It is registered by a fixture and unregistered afterwards, so no other test sees it; no module of the
package names it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import harmonic_tone
from keras import layers, ops

from emocore import cli, models
from emocore.config import FeatureConfig, ModelConfig
from emocore.conversion import ConversionModel
from emocore.dsp import audio, features, prosody
from emocore.dsp.features import WorldFeatures
from emocore.dsp.prosody import DomainStats
from emocore.exceptions import ParameterError
from emocore.models import losses
from emocore.models.base import Emotion, MappingConverter, ModelSpec, TwoDomainGAN, compile_gan, pair_index
from emocore.models.discriminator import build_discriminator
from emocore.record import EmotionEntry, RunRecord, stats_file_name

TOY = "toy-shift"
NEUTRAL, ANGRY = "tess:OAF:neutral", "tess:OAF:angry"

# ---------------------------------------------------------------------- the toy model type (test code only)


@dataclass(frozen=True)
class ToyOptions:
    """The toy's own settings: recorded as ``config.json["options"]`` and given back to its converter."""

    hidden: int = 32
    f0_shift: float = 0.1  # added to the converted log F0 (natural log: about +10.5 %)
    lambda_cycle: float = 10.0

    def smoke(self) -> "ToyOptions":
        return replace(self, hidden=8)


def _build_map(mcep_dim: int, hidden: int, name: str) -> keras.Model:
    """``x + conv(tanh(conv(x)))`` with kernel size 1: ``(B, T, D) -> (B, T, D)``, any ``T``."""
    inputs = keras.Input(shape=(None, mcep_dim), name="mcep")
    x = layers.Conv1D(hidden, 1, activation="tanh", name="hidden")(inputs)
    x = layers.Conv1D(mcep_dim, 1, kernel_initializer="zeros", name="delta")(x)
    return keras.Model(inputs, layers.Add(name="residual")([inputs, x]), name=name)


class ToyConverter(MappingConverter):
    """One small map per direction for the MCEPs; log F0 by its own rule, power by the log-Gaussian transform."""

    def __init__(self, a2b: keras.Model, b2a: keras.Model, options: ToyOptions):
        self.maps = {(0, 1): a2b, (1, 0): b2a}
        self.options = options

    def networks(self) -> dict[str, keras.Model]:
        return {"shift_a2b": self.maps[0, 1], "shift_b2a": self.maps[1, 0]}

    def convert_mcep(self, mcep: np.ndarray, source: Emotion, target: Emotion, **options) -> np.ndarray:
        self.check_options(options)
        net = self.maps[pair_index(source, target)]
        normalized = source.stats.mcep.normalize(mcep).astype(np.float32)
        converted = ops.convert_to_numpy(net(normalized[None], training=False))[0]
        return target.stats.mcep.denormalize(converted.astype(np.float64))

    def convert_prosody(self, feats: WorldFeatures, source: Emotion, target: Emotion, *, f0: bool,
                        power: bool) -> WorldFeatures:
        out = prosody.convert_prosody(feats, source.stats, target.stats, f0=False, power=power)
        if f0:
            out = out.replace(f0_hz=toy_f0(feats.f0_hz, source.stats, target.stats, self.options.f0_shift))
        return out


def toy_f0(f0_hz: np.ndarray, source: DomainStats, target: DomainStats, shift: float) -> np.ndarray:
    """The toy's F0 rule: voiced log F0 moved by the difference of the means plus ``shift``; unvoiced stays 0."""
    f0_hz = np.asarray(f0_hz, dtype=np.float64)
    voiced, out = f0_hz > 0, np.zeros_like(f0_hz)
    out[voiced] = np.exp(np.log(f0_hz[voiced]) + target.log_f0.mean - source.log_f0.mean + shift)
    return out


class ToyShiftGAN(TwoDomainGAN):
    """The toy's training model: adversarial (LSGAN) + L1 cycle, both directions."""

    loss_names = ("gen_total", "adversarial", "cycle", "disc_a", "disc_b")

    def __init__(self, a2b, b2a, disc_a, disc_b, options: ToyOptions, **kwargs):
        super().__init__(disc_a, disc_b, None, 0.0, **kwargs)
        self.a2b, self.b2a, self.options = a2b, b2a, options

    @property
    def generator_variables(self) -> list:
        return self.a2b.trainable_variables + self.b2a.trainable_variables

    def call(self, mcep, training=False):
        return self.a2b(mcep, training=training)

    def generator_pass(self, real_a, real_b, log_f0_a, log_f0_b):
        fake_b, fake_a = self.a2b(real_a, training=True), self.b2a(real_b, training=True)
        cycle_a, cycle_b = self.b2a(fake_b, training=True), self.a2b(fake_a, training=True)
        fake_a_scores, fake_b_scores = self.disc_a(fake_a, training=True), self.disc_b(fake_b, training=True)
        adversarial = losses.lsgan_generator_loss(fake_a_scores) + losses.lsgan_generator_loss(fake_b_scores)
        cycle = losses.l1_loss(real_a, cycle_a) + losses.l1_loss(real_b, cycle_b)
        terms = {"adversarial": adversarial, "cycle": cycle,
                 "total": adversarial + self.options.lambda_cycle * cycle}
        return terms, fake_a_scores, fake_b_scores

    def generator_networks(self) -> dict[str, keras.Model]:
        return {"shift_a2b": self.a2b, "shift_b2a": self.b2a}

    def converter(self) -> ToyConverter:
        return ToyConverter(self.a2b, self.b2a, self.options)


def build_toy_converter(model_cfg: ModelConfig, options: ToyOptions | None = None) -> ToyConverter:
    options = options or ToyOptions()
    return ToyConverter(_build_map(model_cfg.mcep_dim, options.hidden, "shift_a2b"),
                        _build_map(model_cfg.mcep_dim, options.hidden, "shift_b2a"), options)


def build_toy_training(model_cfg, train_cfg, options: ToyOptions | None = None, *, run_eagerly: bool = False):
    options = options or ToyOptions()
    keras.utils.set_random_seed(train_cfg.seed)
    model = ToyShiftGAN(_build_map(model_cfg.mcep_dim, options.hidden, "shift_a2b"),
                        _build_map(model_cfg.mcep_dim, options.hidden, "shift_b2a"),
                        build_discriminator(model_cfg, "disc_a"), build_discriminator(model_cfg, "disc_b"),
                        options, name="toy_shift")
    return compile_gan(model, train_cfg, run_eagerly=run_eagerly)


TOY_SPEC = ModelSpec(name=TOY, title="ToyShift", build_training=build_toy_training,
                     build_converter=build_toy_converter, options=ToyOptions,
                     loss_panels=(("adversarial", "disc_a", "disc_b"), ("cycle",)))


@pytest.fixture
def toy_registered():
    """``toy-shift`` in the registry for one test, and gone afterwards."""
    assert TOY not in models.MODELS
    models.register(TOY_SPEC)
    yield TOY_SPEC
    models.unregister(TOY)
    assert TOY not in models.MODELS


# ---------------------------------------------------------------------- synthetic emotions (no corpus)

FEATURE_CFG = FeatureConfig().smoke()


def _tone_feats(f0_hz: float, gain: float, seed: int) -> WorldFeatures:
    rng = np.random.default_rng(seed)
    silence = 1e-3 * rng.standard_normal(int(0.1 * FEATURE_CFG.sr))
    wav = np.concatenate([silence, gain * harmonic_tone(f0_hz, 0.5, sr=FEATURE_CFG.sr, vibrato_depth=0.04 * (1 + seed)),
                          silence])
    return features.extract_features(wav, FEATURE_CFG)


@pytest.fixture(scope="module")
def tone_emotions():
    """Statistics of two synthetic emotions ("calm" ~140 Hz, "loud" ~230 Hz, wider vibrato) and one calm utterance."""
    calm = [_tone_feats(140 * (1 + 0.05 * i), 0.3, i) for i in range(2)]
    loud = [_tone_feats(230 * (1 + 0.08 * i), 0.6, 2 + i) for i in range(2)]
    return DomainStats.fit("calm", calm), DomainStats.fit("loud", loud), calm[0]


def _toy_model(stats_calm, stats_loud, options=ToyOptions().smoke()) -> ConversionModel:
    model_cfg = ModelConfig().smoke()
    record = RunRecord(model_type=TOY, feature=FEATURE_CFG, model=model_cfg,
                       emotions=tuple(EmotionEntry(s.name, stats_file_name(s.name)) for s in (stats_calm, stats_loud)),
                       options=asdict(options))
    return ConversionModel(FEATURE_CFG, [stats_calm, stats_loud], build_toy_converter(model_cfg, options), TOY,
                           record=record)


# ---------------------------------------------------------------------- fast tests


def test_register_get_unregister_and_an_unknown_model_folder(toy_registered, tone_emotions, tmp_path, capsys):
    assert models.get(TOY) is TOY_SPEC
    with pytest.raises(ParameterError, match="already registered"):
        models.register(replace(TOY_SPEC, title="Another"))
    assert models.get(TOY).title == "ToyShift"
    other = models.register(replace(TOY_SPEC, title="Another"), replace=True)
    assert models.get(TOY) is other
    models.register(TOY_SPEC, replace=True)
    with pytest.raises(ParameterError, match="unknown model type 'nope'") as error:
        models.get("nope")
    for name in ("cyclegan", "munit", TOY):
        assert name in str(error.value)

    # a toy model folder round-trips while the type is registered ...
    stats_calm, stats_loud, _ = tone_emotions
    folder = _toy_model(stats_calm, stats_loud).save(tmp_path / "toy")
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == TOY and config["options"] == asdict(ToyOptions().smoke())
    loaded = ConversionModel.load(folder)
    assert isinstance(loaded.converter, ToyConverter) and loaded.converter.options == ToyOptions().smoke()
    assert sorted(p.name for p in folder.glob("*.weights.h5")) == ["shift_a2b.weights.h5", "shift_b2a.weights.h5"]

    # ... and is refused, naming the model type, once it is not
    models.unregister(TOY)
    models.unregister(TOY)  # no error when absent
    assert TOY not in models.MODELS
    with pytest.raises(ParameterError, match="unknown model_type 'toy-shift'"):
        ConversionModel.load(folder)
    wav = tmp_path / "calm.wav"
    audio.save_wav(wav, harmonic_tone(140, 0.5, sr=FEATURE_CFG.sr), FEATURE_CFG.sr)
    assert cli.convert_main([str(wav), "--model_dir", str(folder), "-o", str(tmp_path / "out"), "--quiet"]) == 1
    assert "unknown model_type 'toy-shift'" in capsys.readouterr().err


def test_the_converters_own_prosody_is_used_and_the_switches_hold(toy_registered, tone_emotions):
    stats_calm, stats_loud, feats = tone_emotions
    model = _toy_model(stats_calm, stats_loud)
    voiced = feats.f0_hz > 0
    assert voiced.sum() > 20

    out = model.convert_features(feats, ("calm", "loud"), f0=True, power=True, mcep=True)
    expected = toy_f0(feats.f0_hz, stats_calm, stats_loud, ToyOptions().f0_shift)
    np.testing.assert_allclose(out.f0_hz, expected, rtol=1e-12)
    np.testing.assert_array_equal(out.f0_hz[~voiced], 0.0)
    log_gaussian = prosody.convert_f0(feats.f0_hz, stats_calm.log_f0, stats_loud.log_f0)
    assert np.abs(np.log(out.f0_hz[voiced]) - np.log(log_gaussian[voiced])).max() > 0.05  # not the package's rule
    # power: the log-Gaussian transform of MappingConverter, as the toy keeps it
    np.testing.assert_allclose(out.log_power, prosody.convert_log_power(
        feats.log_power, feats.f0_hz, stats_calm.log_power, stats_loud.log_power))

    kept_f0 = model.convert_features(feats, ("calm", "loud"), f0=False)
    np.testing.assert_array_equal(kept_f0.f0_hz, feats.f0_hz)
    np.testing.assert_allclose(kept_f0.log_power, out.log_power)
    kept_power = model.convert_features(feats, ("calm", "loud"), power=False)
    np.testing.assert_array_equal(kept_power.log_power, feats.log_power)
    np.testing.assert_allclose(kept_power.f0_hz, expected, rtol=1e-12)
    nothing = model.convert_features(feats, ("calm", "loud"), f0=False, power=False, mcep=False)
    for name in ("f0_hz", "log_power", "mcep", "coded_ap"):
        np.testing.assert_array_equal(getattr(nothing, name), getattr(feats, name))
    # the untrained residual maps are the identity on normalized MCEPs: source-normalized, target-denormalized
    np.testing.assert_allclose(out.mcep, stats_loud.mcep.denormalize(stats_calm.mcep.normalize(feats.mcep)),
                               rtol=1e-4, atol=1e-4)
    # the other direction uses the other network and the toy's F0 rule back
    back = model.convert_features(feats, "B2A", mcep=False)
    np.testing.assert_allclose(back.f0_hz, toy_f0(feats.f0_hz, stats_loud, stats_calm, ToyOptions().f0_shift),
                               rtol=1e-12)
    with pytest.raises(ParameterError, match="MUNIT"):
        model.convert_features(feats, "A2B", style="random")


# ---------------------------------------------------------------------- the acceptance test: train, convert, export


def _samples(path: Path, sr: int) -> np.ndarray:
    return audio.load_wav(path, sr)


@pytest.mark.slow
@pytest.mark.real_data
def test_a_registered_model_trains_converts_and_exports_through_the_clis(toy_registered, corpora_root, tmp_path,
                                                                          monkeypatch, capsys):
    from emocore.data.datasets import list_utterances

    model_dir = tmp_path / "model"
    rc = cli.train_main(["--domain-a", NEUTRAL, "--domain-b", ANGRY, "--model", TOY, "--smoke", "--eager",
                         "--quiet", "--processed-dir", str(tmp_path / "processed"), "--max-utterances", "2",
                         "--jobs", "1", "--model_dir", str(model_dir), "--random_seed", "3",
                         "--output_dir", str(tmp_path / "validation")])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "tess-OAF-neutral <-> tess-OAF-angry" in captured.out

    config = json.loads((model_dir / "config.json").read_text())
    assert config["model_type"] == TOY and config["schema_version"] == 2
    assert config["options"] == asdict(ToyOptions().smoke())  # --smoke took the options' smoke() too
    assert config["training"]["status"] == "complete" and config["training"]["iterations_done"] == 4
    assert [e["emotion"] for e in config["emotions"]] == ["neutral", "angry"]
    assert sorted(p.name for p in model_dir.glob("*.weights.h5")) == ["shift_a2b.weights.h5", "shift_b2a.weights.h5"]
    checkpoint = sorted((model_dir / "checkpoints").glob("step-*"))[-1]
    assert {"shift_a2b.weights.h5", "disc_a.weights.h5", "disc_b.weights.h5"} <= {p.name for p in checkpoint.iterdir()}
    history = (model_dir / "history.csv").read_text().splitlines()
    assert history[0].split(",")[:6] == ["iteration", "gen_total", "adversarial", "cycle", "disc_a", "disc_b"]
    assert len(list((tmp_path / "validation").rglob("*.wav"))) == 2  # A2B and B2A, through the toy converter

    # a held-out word of the neutral emotion
    held_out_ids = config["emotions"][0]["validation_text_ids"]
    assert held_out_ids
    word = next(u for u in list_utterances("tess", "OAF", "neutral", root=corpora_root) if u.text_id == held_out_ids[0])
    sr = config["feature"]["sr"]
    original = _samples(word.path, sr)

    out_dir = tmp_path / "converted"
    rc = cli.convert_main([str(word.path), "--model_dir", str(model_dir), "--source-emotion", "neutral",
                           "--target-emotion", "angry", "-o", str(out_dir), "--quiet"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "tess-OAF-neutral -> tess-OAF-angry: converted 1 of 1" in captured.out
    converted = _samples(out_dir / f"{word.path.stem}.wav", sr)
    assert len(converted) == len(original)
    assert np.sqrt(np.mean(converted ** 2)) > 1e-3 and np.abs(converted).max() > 1e-2

    # the toy's F0 rule reached the output: the converted word's median F0 moves up by the means' gap + shift
    model = ConversionModel.load(model_dir)
    assert isinstance(model.converter, ToyConverter) and model.converter.options == ToyOptions().smoke()
    feats = model.analyze_file(word.path)
    conv = model.convert_features(feats, ("neutral", "angry"))
    source_stats, target_stats = model.stats
    np.testing.assert_allclose(conv.f0_hz, toy_f0(feats.f0_hz, source_stats, target_stats, ToyOptions().f0_shift))

    # emocore-export, then the export converts the word to nearly the same samples (float16 weights)
    root = tmp_path / "pretrained"
    assert cli.export_main([str(model_dir), "toy-export", "--root", str(root)]) == 0
    capsys.readouterr()
    export = root / "toy-export"
    exported_config = json.loads((export / "config.json").read_text())
    assert exported_config["model_type"] == TOY and exported_config["options"] == config["options"]
    assert exported_config["pretrained"]["weights_dtype"] == "float16"
    assert sorted(p.name for p in export.glob("*.weights.h5")) == ["shift_a2b.weights.h5", "shift_b2a.weights.h5"]
    assert not list(export.glob("disc_*")) and not (export / "checkpoints").exists()

    exported = ConversionModel.load(export)
    assert isinstance(exported.converter, ToyConverter)
    direct = model.convert_analyzed(feats, ("neutral", "angry"))
    from_export = exported.convert_analyzed(feats, ("neutral", "angry"))
    assert len(from_export) == len(direct) == len(original)
    assert np.corrcoef(direct, from_export)[0, 1] > 0.99

    monkeypatch.setenv("EMOCORE_PRETRAINED_DIR", str(root))
    rc = cli.convert_main([str(word.path), "--pretrained", "toy-export", "--source-emotion", "neutral",
                           "--target-emotion", "angry", "-o", str(tmp_path / "from-export"), "--quiet"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    via_cli = _samples(tmp_path / "from-export" / f"{word.path.stem}.wav", sr)
    assert len(via_cli) == len(converted)
    assert np.corrcoef(converted, via_cli)[0, 1] > 0.99
