"""Tests of emocore.models.stargan: one conditional generator for every emotion, speaker-relative conversion."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from conftest import espeak_wav

from emocore import cli, training
from emocore.config import FeatureConfig, ModelConfig, StarGanConfig, TrainConfig
from emocore.conversion import ConversionModel
from emocore.data.datasets import list_utterances
from emocore.dsp import audio
from emocore.dsp.features import MeanStd, WorldFeatures
from emocore.dsp.prosody import DomainStats, LogGaussian, fit_log_f0
from emocore.dsp.speaker_norm import SpeakerNormalizer
from emocore.exceptions import ModelFolderError, ParameterError
from emocore.models.base import Emotion
from emocore.models.stargan import (
    LOSS_NAMES,
    SPEAKERS_FILE,
    EmoStarGAN,
    SpeakerRelativeConverter,
    build_conditional_generator,
    build_stargan,
    condition,
    head_scores,
)

EMOTIONS = ("neutral", "angry", "happy", "sad")
MODEL_CFG = replace(ModelConfig().smoke(), n_emotions=4)
TRAIN_CFG = TrainConfig().smoke()
FEATURE_CFG = FeatureConfig().smoke()


def _stats(name, f0_hz, mean=0.0, std=1.0, d=24) -> DomainStats:
    return DomainStats(name, LogGaussian(math.log(f0_hz), 0.1, 500), LogGaussian(-8.0, 1.5, 500),
                       MeanStd(np.full(d, mean), np.full(d, std)), 10)


@pytest.fixture(scope="module")
def normalizer() -> SpeakerNormalizer:
    rises = {"neutral": 1.0, "angry": 1.3, "happy": 1.4, "sad": 0.9}
    stats = {(s, e): _stats(f"{s}-{e}", f0 * r, mean=0.2 * i) for s, f0 in (("m", 110.0), ("f", 220.0))
             for i, (e, r) in enumerate(rises.items())}
    return SpeakerNormalizer.fit(stats)


@pytest.fixture(scope="module")
def converter(normalizer):
    import keras

    keras.utils.set_random_seed(3)
    generator = build_conditional_generator(MODEL_CFG, 4)
    out = generator.get_layer("output_conv")  # trained networks change their input: give the change a size
    out.set_weights([np.random.default_rng(0).normal(0, 0.05, w.shape).astype("float32") for w in out.get_weights()])
    return SpeakerRelativeConverter(generator, 4, normalizer, EMOTIONS)


def _emotions():
    return [Emotion(i, _stats(f"pooled-{e}", 1.0, mean=0.1 * i, std=1.0 + 0.1 * i)) for i, e in enumerate(EMOTIONS)]


def _voice(rng, n_frames=203, f0_hz=95.0) -> WorldFeatures:
    f0 = np.exp(rng.normal(math.log(f0_hz), 0.08, n_frames))
    f0[:20] = 0.0
    return WorldFeatures(f0_hz=f0, mcep=rng.normal(0.0, 1.0, (n_frames, 24)), coded_ap=np.zeros((n_frames, 1)),
                         log_power=rng.normal(-8.0, 1.0, n_frames), n_samples=n_frames * 80)


def test_condition_names_source_and_a_target_moved_by_intensity():
    c = condition(np.array([0, 2]), np.array([1, 3]), 4, intensity=0.25)
    np.testing.assert_allclose(c[0], [1, 0, 0, 0, 0.75, 0.25, 0, 0])
    np.testing.assert_allclose(c[1], [0, 0, 1, 0, 0, 0, 0.75, 0.25])
    np.testing.assert_allclose(condition(np.array([1]), np.array([2]), 4, intensity=0.0)[0, 4:], [0, 1, 0, 0])


def test_every_crop_goes_to_another_emotion_and_every_pair_recurs_evenly():
    model = EmoStarGAN.__new__(EmoStarGAN)
    model.n_emotions = 4
    sources = np.repeat(np.arange(4), 2)
    pairs = [(s, t) for step in range(6) for s, t in zip(sources, model.targets(sources, step))]
    assert all(s != t for s, t in pairs)
    counts = {(s, t): pairs.count((s, t)) for s in range(4) for t in range(4) if s != t}
    assert set(counts.values()) == {4}  # 6 steps x 8 crops over 12 ordered pairs


def test_one_model_gives_each_target_emotion_its_own_output(converter, rng):
    feats, emotions = _voice(rng), _emotions()
    outputs = {e.name: converter.convert(feats, emotions[0], e, f0=False, power=False).mcep for e in emotions[1:]}
    names = list(outputs)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(outputs[a] - outputs[b]).mean() > 1e-3, (a, b)
    with pytest.raises(ParameterError, match="same emotion"):
        converter.convert(feats, emotions[1], emotions[1])


@pytest.mark.parametrize("n_frames", [5, 37, 128, 203])
def test_any_length_converts_to_the_same_number_of_frames(converter, rng, n_frames):
    feats = _voice(rng, n_frames)
    out = converter.convert(feats, _emotions()[0], _emotions()[2])
    assert out.mcep.shape == feats.mcep.shape and out.f0_hz.shape == feats.f0_hz.shape
    assert np.all(np.isfinite(out.mcep)) and np.array_equal(out.f0_hz > 0, feats.f0_hz > 0)


def test_intensity_0_returns_the_source_and_pitch_rises_with_it(converter, rng):
    feats, emotions = _voice(rng), _emotions()
    same = converter.convert(feats, emotions[0], emotions[1], intensity=0.0)
    np.testing.assert_array_equal(same.mcep, feats.mcep)
    np.testing.assert_allclose(same.f0_hz, feats.f0_hz, rtol=1e-12)
    means = [fit_log_f0([converter.convert(feats, emotions[0], emotions[1], intensity=a).f0_hz]).mean
             for a in (0.0, 0.5, 1.0)]
    assert means[0] < means[1] < means[2]
    # relative to the speaker: a 95 Hz voice is raised by angry's measured change (x1.3), not sent to 110-220 Hz
    assert math.exp(means[2] - means[0]) == pytest.approx(1.3, rel=1e-6)
    with pytest.raises(ParameterError, match="intensity"):
        converter.convert(feats, emotions[0], emotions[1], intensity=1.5)
    with pytest.raises(ParameterError, match="style"):
        converter.convert(feats, emotions[0], emotions[1], style="mean")


def test_familiarity_judges_the_register_against_the_training_speakers(converter, rng):
    # training speakers: 110 and 220 Hz neutral (z = -1 and +1); a 150 Hz voice lies between them
    between = _voice(rng, f0_hz=150.0)
    near = converter.familiarity(between.f0_hz, between.mcep, _emotions()[0])
    assert not near.far and abs(near.pitch_z) < 1 and math.isnan(near.spectral_distance)
    # an angry 143 Hz voice is a 110 Hz voice once angry's measured rise (x1.3) is taken back: z = -1
    angry = converter.familiarity(_voice(rng, f0_hz=143.0).f0_hz, between.mcep, _emotions()[1])
    assert angry.pitch_z == pytest.approx(-1.0, abs=0.05)
    # a 30 Hz "voice" lies 4.7 spreads below: far
    low = _voice(rng, f0_hz=30.0)
    assert converter.familiarity(low.f0_hz, low.mcep, _emotions()[0]).far


def test_an_enrolled_speaker_moves_by_their_own_change_any_other_voice_by_the_average(converter, rng):
    rises = {"m": 1.2, "f": 1.6}  # how much each training speaker raises their pitch when angry
    stats = {(s, e): _stats(f"{s}-{e}", f0 * (rises[s] if e == "angry" else 1.0), mean=0.2 * i)
             for s, f0 in (("m", 110.0), ("f", 220.0)) for i, e in enumerate(EMOTIONS)}
    enrolled = SpeakerRelativeConverter(converter.generator, 4, SpeakerNormalizer.fit(stats), EMOTIONS)
    assert enrolled.enrolled_speakers == ("f", "m")
    feats, emotions = _voice(rng), _emotions()

    def rise(**options) -> float:
        out = enrolled.convert(feats, emotions[0], emotions[1], **options)
        return math.exp(fit_log_f0([out.f0_hz]).mean - fit_log_f0([feats.f0_hz]).mean)

    assert rise() == pytest.approx(math.sqrt(1.2 * 1.6), rel=1e-6)  # the average over speakers (in log)
    assert rise(speaker="m") == pytest.approx(1.2, rel=1e-6) and rise(speaker="f") == pytest.approx(1.6, rel=1e-6)
    with pytest.raises(ParameterError, match="'x' is not one of the model's training speakers; enrolled: f, m"):
        enrolled.convert(feats, emotions[0], emotions[1], speaker="x")


def test_an_enrolled_speakers_mceps_are_mapped_by_their_own_emotion_statistics(rng):
    # angry moves m's c0 by +0.5 of their neutral spread, f's by +1.5; the generator passes its input through
    shifts = {"m": 0.5, "f": 1.5}
    stats = {(s, e): DomainStats(f"{s}-{e}", LogGaussian(math.log(f0), 0.1, 500), LogGaussian(-8.0, 1.5, 500),
                                 MeanStd(np.eye(24)[0] * (shifts[s] if e == "angry" else 0.0), np.ones(24)), 10)
             for s, f0 in (("m", 110.0), ("f", 220.0)) for e in EMOTIONS}
    import keras

    keras.utils.set_random_seed(5)
    identity = SpeakerRelativeConverter(build_conditional_generator(MODEL_CFG, 4), 4, SpeakerNormalizer.fit(stats),
                                        EMOTIONS)
    feats, (neutral, angry, _, _) = _voice(rng), _emotions()
    spread = feats.mcep.std(axis=0)  # a neutral input's own spread is the speaker's neutral one

    def change(**options) -> np.ndarray:
        return (identity.convert(feats, neutral, angry, f0=False, power=False, **options).mcep - feats.mcep).mean(axis=0)

    for speaker, shift in shifts.items():
        np.testing.assert_allclose(change(speaker=speaker), np.eye(24)[0] * shift * spread, atol=1e-4)
        np.testing.assert_allclose(identity.convert_mcep(feats.mcep, neutral, angry, speaker=speaker).mean(axis=0)
                                   - feats.mcep.mean(axis=0), np.eye(24)[0] * shift * spread, atol=1e-4)
    # any other voice: the pooled emotions' statistics (neutral 0 and 1, angry 0.1 and 1.1 in every dimension)
    np.testing.assert_allclose(change(), 0.1 * spread, atol=1e-4)


# ---------------------------------------------------------------------- learned F0 contour, CWT F0, rhythm (issue 15)


def _contour_converter(normalizer, *, untrained: bool = False) -> SpeakerRelativeConverter:
    import keras

    keras.utils.set_random_seed(4)
    generator = build_conditional_generator(MODEL_CFG, 4, n_channels=MODEL_CFG.mcep_dim + 1)
    if not untrained:  # an untrained generator passes its input through (zero output layer, skip connection)
        out = generator.get_layer("output_conv")
        out.set_weights([np.random.default_rng(1).normal(0, 0.05, w.shape).astype("float32") for w in out.get_weights()])
    return SpeakerRelativeConverter(generator, 4, normalizer, EMOTIONS, f0_contour=True)


def test_an_f0_channel_converts_the_contour_and_keeps_the_voicing(normalizer, converter, rng):
    feats, (neutral, _, happy, _) = _voice(rng), _emotions()
    voiced = feats.f0_hz > 0
    # untrained, the channel comes out as it went in: normalized by the speaker and the source emotion, read back
    # with the target emotion's statistics
    identity = _contour_converter(normalizer, untrained=True)
    out = identity.convert(feats, neutral, happy, mcep=False, power=False)
    assert np.array_equal(out.f0_hz > 0, voiced) and out.mcep is feats.mcep
    ref = normalizer.reference_stats(identity.speaker_stats(feats), "neutral").log_f0
    z = (np.log(feats.f0_hz[voiced]) - ref.mean) / ref.std
    x = (z - neutral.stats.log_f0.mean) / neutral.stats.log_f0.std
    expected = ref.mean + ref.std * (x * happy.stats.log_f0.std + happy.stats.log_f0.mean)
    np.testing.assert_allclose(np.log(out.f0_hz[voiced]), expected, rtol=1e-5)
    # trained (here: random output weights), the contour differs from the log-Gaussian fallback's
    model = _contour_converter(normalizer)
    contour, fallback = model.convert(feats, neutral, happy), model.convert(feats, neutral, happy, f0="log-gaussian")
    assert np.array_equal(contour.f0_hz > 0, voiced) and np.array_equal(fallback.f0_hz > 0, voiced)
    assert not np.allclose(contour.f0_hz[voiced], fallback.f0_hz[voiced], rtol=1e-3)
    np.testing.assert_array_equal(model.convert(feats, neutral, happy, f0=False).f0_hz, feats.f0_hz)
    np.testing.assert_allclose(contour.mcep, model.convert(feats, neutral, happy, f0=False).mcep)  # same MCEPs
    with pytest.raises(ParameterError, match="without the F0 channel"):
        converter.convert(feats, neutral, happy, f0="contour")
    with pytest.raises(ParameterError, match="f0="):
        model.convert(feats, neutral, happy, f0="melody")


def test_the_cwt_and_rhythm_streams_need_the_measured_contours_and_cwt_is_then_the_models_way(normalizer, converter, rng):
    spans = {"neutral": 100, "angry": 80, "happy": 90, "sad": 125}

    def words(n_voiced, speaker_rng):
        out = []
        for _ in range(3):
            f0 = np.concatenate([np.zeros(10), 150 * np.exp(0.1 * np.sin(np.arange(n_voiced) / 7.0)
                                                            + 0.02 * speaker_rng.standard_normal(n_voiced)), np.zeros(10)])
            power = np.where(f0 > 0, -6.0 + 0.3 * speaker_rng.standard_normal(len(f0)), -12.0)
            out.append(WorldFeatures(f0_hz=f0, mcep=np.zeros((len(f0), 24)), coded_ap=np.zeros((len(f0), 1)),
                                     log_power=power, n_samples=len(f0) * 80))
        return out

    utterances = {(s, e): words(n, rng) for s in ("m", "f") for e, n in spans.items()}
    measured = SpeakerRelativeConverter(converter.generator, 4, normalizer.with_contours(utterances, 5.0), EMOTIONS)
    feats, (neutral, _, _, sad) = _voice(rng), _emotions()
    slow = measured.convert(feats, neutral, sad, rhythm=True)
    assert slow.n_frames == round(feats.n_frames * 1.25)  # sad words last 1.25 times as long for both speakers
    assert slow.n_samples == round(feats.n_samples * slow.n_frames / feats.n_frames)
    assert measured.convert(feats, neutral, sad, rhythm=True, intensity=0.0).n_frames == feats.n_frames
    shaped = measured.convert(feats, neutral, sad, f0="cwt", power="cwt", mcep=False)
    assert np.array_equal(shaped.f0_hz > 0, feats.f0_hz > 0) and np.all(np.isfinite(shaped.log_power))
    for switches in ({"rhythm": True}, {"f0": "cwt"}, {"power": "cwt"}):  # a model whose speakers.json predates the contours
        with pytest.raises(ParameterError, match="contour shapes or tempo"):
            converter.convert(feats, neutral, sad, **switches)
    # the model's own way is then the CWT transform of both contours; without the shapes, the log-Gaussian one
    assert measured.has_contour_shapes and not converter.has_contour_shapes
    assert (measured.f0_method(True), measured.power_method(True)) == ("cwt", "cwt")
    assert (converter.f0_method(True), converter.power_method(True)) == ("log-gaussian", "log-gaussian")
    own_way = measured.convert(feats, neutral, sad, mcep=False)
    np.testing.assert_array_equal(own_way.f0_hz, shaped.f0_hz)
    np.testing.assert_array_equal(own_way.log_power, shaped.log_power)
    logg = measured.convert(feats, neutral, sad, f0="log-gaussian", power="log-gaussian", mcep=False)
    assert not np.allclose(own_way.f0_hz, logg.f0_hz)
    np.testing.assert_array_equal(converter.convert(feats, neutral, sad, mcep=False).f0_hz,
                                  converter.convert(feats, neutral, sad, f0="log-gaussian", mcep=False).f0_hz)


def test_the_ap_stream_moves_breathiness_by_the_average_or_the_enrolled_speakers_own_change(normalizer, converter,
                                                                                            rng):
    # both speakers' voiced frames at -10 dB of aperiodicity when neutral; sad: m +2 dB, f +6 dB; angry: both -2 dB
    breath = {("m", "sad"): 2.0, ("f", "sad"): 6.0, ("m", "angry"): -2.0, ("f", "angry"): -2.0}

    def words(speaker, emotion):
        out = []
        for _ in range(3):
            f0 = np.concatenate([np.zeros(10), 150 * np.exp(0.1 * np.sin(np.arange(100) / 7.0)), np.zeros(10)])
            ap = np.where(f0 > 0, -10.0 + breath.get((speaker, emotion), 0.0), 0.0)[:, None]
            out.append(WorldFeatures(f0_hz=f0, mcep=np.zeros((len(f0), 24)), coded_ap=ap,
                                     log_power=np.where(f0 > 0, -6.0 + 0.2 * np.cos(np.arange(len(f0)) / 5.0), -12.0),
                                     n_samples=len(f0) * 80))
        return out

    utterances = {(s, e): words(s, e) for s in ("m", "f") for e in EMOTIONS}
    measured = SpeakerRelativeConverter(converter.generator, 4, normalizer.with_contours(utterances, 5.0), EMOTIONS)
    assert measured.has_aperiodicity and not converter.has_aperiodicity
    feats, (neutral, angry, _, sad) = _voice(rng), _emotions()
    feats = feats.replace(coded_ap=np.where(feats.voiced, -12.0, 0.0)[:, None])
    voiced = feats.voiced

    def moved(model, source=neutral, target=sad, **options):
        out = model.convert(feats, source, target, mcep=False, **options).coded_ap[:, 0]
        assert np.array_equal(out[~voiced], feats.coded_ap[~voiced, 0])  # unvoiced frames stay fully aperiodic
        return out[voiced] - feats.coded_ap[voiced, 0]

    np.testing.assert_allclose(moved(measured), 4.0)  # the average over speakers
    np.testing.assert_allclose(moved(measured, speaker="f"), 6.0)  # her own
    np.testing.assert_allclose(moved(measured, speaker="m"), 2.0)
    np.testing.assert_allclose(moved(measured, angry, sad), 6.0)
    np.testing.assert_allclose(moved(measured, intensity=0.25), 1.0)
    np.testing.assert_allclose(moved(measured, ap=False), 0.0)
    np.testing.assert_allclose(moved(converter), 0.0)  # a speakers.json measured before the stream: copied
    # the other streams are the same with or without it
    with_ap, without = (measured.convert(feats, neutral, sad, ap=a) for a in (True, False))
    np.testing.assert_array_equal(with_ap.f0_hz, without.f0_hz)
    np.testing.assert_array_equal(with_ap.mcep, without.mcep)


# ---------------------------------------------------------------------- real data


@pytest.fixture(scope="module")
def speaker_data(smoke_stargan):
    return smoke_stargan[2]


@pytest.fixture(scope="module")
def trained(smoke_stargan):
    return smoke_stargan[0], smoke_stargan[1]


def test_train_writes_a_model_that_converts_a_held_out_actor(trained, corpora_root):
    folder, history = trained
    assert {SPEAKERS_FILE, "generator.weights.h5", "config.json"} <= {p.name for p in folder.iterdir()}
    assert set(LOSS_NAMES) <= set(history[-1]) and all(math.isfinite(history[-1][k]) for k in LOSS_NAMES)
    model = ConversionModel.load(folder)
    assert model.model_type == "emostargan" and len(model.emotions) == 4
    record = json.loads((folder / "config.json").read_text())
    assert record["training"]["speakers"] == ["ravdess:Actor_01", "tess:OAF"]
    source = list_utterances("ravdess", speaker="Actor_15", emotion="neutral", root=corpora_root)[0]
    result = model.convert_path(source.path, ("neutral", "happy"))
    assert np.all(np.isfinite(result.wav)) and np.max(np.abs(result.wav)) > 1e-3
    assert not result.familiarity.far


def test_convert_mcep_alone_matches_the_mcep_stream_of_a_conversion(trained, corpora_root):
    model = ConversionModel.load(trained[0])
    source = list_utterances("ravdess", speaker="Actor_15", emotion="neutral", root=corpora_root)[0]
    feats = model.analyze_file(source.path)
    alone = model.convert_mcep(feats.mcep, ("neutral", "sad"))  # the speaker's statistics from these MCEPs
    stream = model.convert_features(feats, ("neutral", "sad"), f0=False, power=False).mcep
    np.testing.assert_allclose(alone, stream, rtol=1e-5, atol=1e-5)
    assert alone.shape == feats.mcep.shape and not np.allclose(alone, feats.mcep)
    assert not np.allclose(model.convert_mcep(feats.mcep, ("neutral", "angry")), alone)
    half = model.convert_mcep(feats.mcep, ("neutral", "sad"), intensity=0.5)
    assert np.abs(half - feats.mcep).mean() < np.abs(alone - feats.mcep).mean()
    with pytest.raises(ParameterError, match="EmoMUNIT's"):
        model.convert_mcep(feats.mcep, ("neutral", "sad"), seed=1)
    own = model.converter.speaker_stats(feats)
    source, target = model.emotion_pair(("neutral", "sad"))
    with pytest.raises(ParameterError, match="not both"):
        model.converter.convert_mcep(feats.mcep, source, target, ref=own, speaker_stats=own)


def test_resume_after_a_kill_matches_the_uninterrupted_run(speaker_data, trained, tmp_path):
    import h5py

    def kill_during_iteration_3(iteration, logs, model):
        if iteration == 3:
            raise KeyboardInterrupt

    kwargs = dict(model_type="emostargan", progress=False, run_eagerly=True)
    with pytest.raises(KeyboardInterrupt):
        training.train(speaker_data.emotions, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path,
                       callbacks=[kill_during_iteration_3], **kwargs)
    resumed = training.train(speaker_data.emotions, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, resume=True, **kwargs)

    def weights(path: Path) -> list[np.ndarray]:
        with h5py.File(path, "r") as f:
            out = []
            f.visititems(lambda name, obj: out.append(np.asarray(obj)) if isinstance(obj, h5py.Dataset) else None)
            return out

    for a, b in zip(weights(trained[0] / "generator.weights.h5"), weights(tmp_path / "generator.weights.h5")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for row, again in zip(trained[1], resumed):
        assert again["gen_total"] == pytest.approx(row["gen_total"], rel=1e-5, abs=1e-6)
    assert json.loads((tmp_path / "config.json").read_text())["training"]["resumed"] == [2]
    by_corpus = [replace(d, balance="corpus") for d in speaker_data.emotions]  # crops drawn otherwise: refused
    with pytest.raises(ParameterError, match="balanced its crops over each speaker, not each corpus"):
        training.train(by_corpus, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, resume=True, **kwargs)


def test_a_model_folder_with_a_damaged_speaker_normalization_is_refused(trained, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(trained[0], folder)
    (folder / SPEAKERS_FILE).write_text("{\"emotions\": [\"neutral\"]}")
    with pytest.raises(ModelFolderError, match=SPEAKERS_FILE):
        ConversionModel.load(folder)


def test_training_refuses_emotions_of_one_speaker(speaker_data, tmp_path):
    one = speaker_data.per_speaker["tess:OAF"]
    with pytest.raises(ParameterError, match="pooled over speakers"):
        training.train([one[e] for e in EMOTIONS], FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path,
                       model_type="emostargan", progress=False, run_eagerly=True)
    with pytest.raises(ParameterError, match="n_emotions"):
        training.train(speaker_data.emotions[:3], FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path,
                       model_type="emostargan", progress=False, run_eagerly=True)


@pytest.mark.parametrize("map_shape", [(3, 5), (3,)])
def test_each_crop_is_scored_by_its_own_emotions_head(rng, map_shape):
    """The 2-D discriminator's ``(B, H, W, n)`` maps and the 1-D one's ``(B, T, n)``."""
    scores = rng.normal(size=(2,) + map_shape + (4,)).astype("float32")
    one_hot = np.eye(4, dtype="float32")[[2, 0]]
    picked = np.asarray(head_scores(scores, one_hot))
    assert picked.shape == (2,) + map_shape + (1,)
    np.testing.assert_allclose(picked[0, ..., 0], scores[0, ..., 2])
    np.testing.assert_allclose(picked[1, ..., 0], scores[1, ..., 0])


@pytest.mark.parametrize(("kind", "rank"), [("1d", 3), ("2d-light", 4)])
def test_the_lighter_discriminators_train_with_one_head_per_emotion(rng, kind, rank):
    model = build_stargan(MODEL_CFG, TRAIN_CFG, StarGanConfig(discriminator=kind))
    assert len(model.discriminator.output.shape) == rank and model.discriminator.output.shape[-1] == 4
    before = [np.array(v) for v in model.discriminator_variables]
    crops = [(rng.standard_normal((2, 32, MODEL_CFG.mcep_dim)).astype("float32"),
              rng.standard_normal((2, 32)).astype("float32")) for _ in EMOTIONS]
    terms = model.train_on_segments(crops)
    assert all(np.isfinite(v) for v in terms.values()) and terms["disc"] > 0
    assert any(np.abs(np.array(v) - b).max() > 0 for v, b in zip(model.discriminator_variables, before))


def test_the_generator_objective_weighs_its_terms_and_asks_the_frozen_classifier_for_each_crops_target(rng):
    """StarGAN-VC2's objective on one batch: adversarial + cycle + identity (its phase) + the emotion classifier's
    cross-entropy of each converted crop against that crop's own target emotion."""
    from keras import ops

    from emocore.models.classifier import classifier_input

    model = build_stargan(MODEL_CFG, TRAIN_CFG)
    assert model.use_classifier and not model.classifier.trainable
    real = rng.standard_normal((4, 32, MODEL_CFG.mcep_dim)).astype("float32")
    log_f0 = rng.standard_normal((4, 32)).astype("float32")
    sources, targets = np.array([0, 1, 2, 3], np.int32), np.array([1, 3, 0, 2], np.int32)
    terms, _ = model.generator_losses(real, log_f0, sources, targets, 0, training=False, identity=True)
    value = {k: float(ops.convert_to_numpy(v)) for k, v in terms.items()}
    cfg = model.cfg
    assert value["total"] == pytest.approx(value["adversarial"] + cfg.lambda_cycle * value["cycle"]
                                           + cfg.lambda_identity * value["identity"]
                                           + cfg.lambda_class * value["classification"], rel=1e-5)

    one_hot = np.eye(4, dtype="float32")
    same = ops.convert_to_numpy(model.generator([real, np.concatenate([one_hot[sources]] * 2, axis=1)]))
    assert value["identity"] == pytest.approx(np.abs(real - same).mean(), rel=1e-4)
    fake = model.generator([real, np.concatenate([one_hot[sources], one_hot[targets]], axis=1)])
    logits = ops.convert_to_numpy(model.classifier(classifier_input(fake, log_f0))).astype("float64")
    log_p = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    assert value["classification"] == pytest.approx(-log_p[np.arange(4), targets].mean(), rel=1e-4)
    other = (targets + 1) % 4  # another target per crop: another cross-entropy
    moved, _ = model.generator_losses(real, log_f0, sources, other, 0, training=False, identity=True)
    assert abs(float(ops.convert_to_numpy(moved["classification"])) - value["classification"]) > 1e-4

    off, _ = model.generator_losses(real, log_f0, sources, targets, 0, training=False, identity=False)
    assert float(ops.convert_to_numpy(off["identity_weight"])) == 0.0
    assert float(ops.convert_to_numpy(off["total"])) == pytest.approx(
        value["total"] - cfg.lambda_identity * value["identity"], rel=1e-5)

    frozen = [np.array(v) for v in model.classifier.weights]
    trained = [np.array(v) for v in model.generator_variables]
    model.train_on_segments([(real[i:i + 1], log_f0[i:i + 1]) for i in range(4)])
    assert any(np.abs(np.array(v) - w).max() > 0 for v, w in zip(model.generator_variables, trained))  # a real step
    assert all(np.array_equal(np.array(v), w) for v, w in zip(model.classifier.weights, frozen))


def test_the_discriminator_option_names_a_known_kind():
    assert StarGanConfig().discriminator == "2d"
    with pytest.raises(ParameterError, match="discriminator must be one of 2d, 2d-light, 1d, got '3d'"):
        StarGanConfig(discriminator="3d")


def test_build_refuses_options_of_another_type():
    with pytest.raises(ParameterError, match="StarGanConfig"):
        build_stargan(MODEL_CFG, TRAIN_CFG, options={"x": 1})


def test_convert_cli_converts_a_voice_in_neither_corpus_and_an_unseen_actor(trained, corpora_root, tmp_path, capsys):
    espeak_wav("Please bring the books back to the library.", tmp_path / "espeak.wav")
    actor = list_utterances("ravdess", speaker="Actor_16", emotion="neutral", root=corpora_root)
    argv = ["--model_dir", str(trained[0]), "--target-emotion", "happy", "--quiet"]
    assert cli.convert_main([*argv, str(tmp_path / "espeak.wav"), str(actor[0].path), "-o", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "neutral -> happy: converted 2 of 2" in captured.out.replace("ravdess+tess-", "")
    assert "far from" not in captured.err, captured.err
    # a few recordings of the speaker, and a softer emotion
    rc = cli.convert_main([*argv, str(actor[0].path), "-o", str(tmp_path / "soft.wav"), "--intensity", "0.5",
                           "--speaker-recordings", *(str(u.path) for u in actor[1:3])])
    assert rc == 0, capsys.readouterr().err
    assert np.isfinite(audio.load_wav(tmp_path / "soft.wav", 16000)).all()
    rc = cli.convert_main([*argv, str(actor[0].path), "-o", str(tmp_path / "bad.wav"), "--style", "mean"])
    assert rc == 1 and "--style: not for the 'emostargan' model" in capsys.readouterr().err
    rc = cli.convert_main([*argv, str(actor[0].path), "-o", str(tmp_path / "bad.wav"), "--strength", "1"])
    assert rc == 1 and "has no learned prosody" in capsys.readouterr().err  # nothing would read it
    assert not (tmp_path / "bad.wav").exists()


def test_convert_cli_converts_an_enrolled_speaker_by_their_own_changes(trained, corpora_root, tmp_path, capsys):
    word = list_utterances("tess", speaker="OAF", emotion="neutral", root=corpora_root)[0]
    argv = ["--model_dir", str(trained[0]), "--target-emotion", "happy", "--quiet", str(word.path)]
    assert cli.convert_main([*argv, "-o", str(tmp_path / "own.wav"), "--speaker", "tess:OAF"]) == 0
    assert cli.convert_main([*argv, "-o", str(tmp_path / "average.wav")]) == 0
    own, average = (audio.load_wav(tmp_path / f"{name}.wav", 16000) for name in ("own", "average"))
    assert own.shape == average.shape and not np.allclose(own, average, atol=1e-3)
    capsys.readouterr()
    assert cli.convert_main([*argv, "-o", str(tmp_path / "bad.wav"), "--speaker", "tess:XYZ"]) == 1
    err = capsys.readouterr().err
    assert "--speaker" in err and "'tess:XYZ'" in err and "ravdess:Actor_01, tess:OAF" in err, err
    assert not (tmp_path / "bad.wav").exists()


def test_an_f0_channel_model_warm_starts_from_one_without_and_converts_the_contour(speaker_data, trained, corpora_root,
                                                                                    tmp_path):
    history = training.train(speaker_data.emotions, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, model_type="emostargan",
                             options=StarGanConfig(f0_contour=True), init_from=trained[0], progress=False,
                             run_eagerly=True)
    assert all(math.isfinite(row["f0_smooth"]) and row["f0_smooth"] >= 0 for row in history)
    record = json.loads((tmp_path / "config.json").read_text())
    assert record["options"]["f0_contour"] is True
    assert record["training"]["initialized_from"]["grown"] == ["generator"]  # the discriminator's weights fit as they are
    model = ConversionModel.load(tmp_path)
    assert model.converter.f0_contour
    source = list_utterances("ravdess", speaker="Actor_15", emotion="neutral", root=corpora_root)[0]
    feats = model.analyze_file(source.path)
    contour = model.convert_features(feats, ("neutral", "happy"))
    fallback = model.convert_features(feats, ("neutral", "happy"), f0="log-gaussian")
    assert np.array_equal(contour.f0_hz > 0, feats.f0_hz > 0) and np.all(np.isfinite(contour.f0_hz))
    assert not np.allclose(contour.f0_hz, fallback.f0_hz)
    assert np.all(np.isfinite(model.convert_file(source.path, ("neutral", "happy"))))
    import shutil

    from emocore.record import read_record, write_record

    old = tmp_path / "no-options"  # the shipped model's record predates EmoStarGAN's options
    shutil.copytree(trained[0], old)
    write_record(old / "config.json", replace(read_record(old), options=None))
    assert ConversionModel.load(old).converter.f0_contour is False  # a record without options: the defaults


@pytest.mark.parametrize("kind", ["1d", "2d-light"])
def test_a_lighter_discriminator_run_warm_starts_from_a_2d_one_with_its_discriminator_fresh(speaker_data, trained,
                                                                                              tmp_path, kind):
    from emocore import models
    from emocore.record import read_record

    assert read_record(trained[0] / "config.json").options["discriminator"] == "2d"
    training.train(speaker_data.emotions, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, tmp_path, model_type="emostargan",
                   options=StarGanConfig(discriminator=kind), init_from=trained[0], progress=False, run_eagerly=True)
    record = json.loads((tmp_path / "config.json").read_text())
    assert record["options"]["discriminator"] == kind
    assert record["training"]["initialized_from"]["fresh"] == ["discriminator"]
    assert record["training"]["initialized_from"]["grown"] == []  # the generator loaded as it is
    # a record written before the option (f0_contour and lambda_f0_smooth only) is the 2-D discriminator's
    assert models.get("emostargan").parse_options({"f0_contour": False, "lambda_f0_smooth": 1.0}).discriminator == "2d"


def test_a_generator_average_run_converts_with_the_average_and_resumes_exactly(speaker_data, tmp_path):
    options = StarGanConfig(generator_average=0.6)
    online = []  # the trained generator's weights after each iteration

    def keep_online(iteration, logs, model):
        online.append([np.array(w) for w in model.generator.weights])

    def kill_during_iteration_3(iteration, logs, model):
        if iteration == 3:
            raise KeyboardInterrupt

    def loaded(path: Path) -> list[np.ndarray]:  # in the order of the network's weights
        network = build_conditional_generator(MODEL_CFG, 4)
        network.load_weights(path)
        return [np.array(w) for w in network.weights]

    kwargs = dict(model_type="emostargan", options=options, progress=False, run_eagerly=True)
    whole = tmp_path / "whole"
    training.train(speaker_data.emotions, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, whole, callbacks=[keep_online], **kwargs)
    expected = online[0]
    for weights in online[1:]:
        expected = [0.6 * a + 0.4 * w for a, w in zip(expected, weights)]
    saved = loaded(whole / "generator.weights.h5")
    last = training.latest_checkpoint(whole)
    for a, b in zip(saved, expected):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for a, b in zip(loaded(last / "generator_online.weights.h5"), online[-1]):  # what training goes on from
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(saved, online[-1]))  # the average is not the last weights
    for a, b in zip(saved, loaded(last / "generator.weights.h5")):  # a checkpoint converts with the average too
        np.testing.assert_array_equal(a, b)
    for a, b in zip(saved, ConversionModel.load(whole).converter.generator.weights):
        np.testing.assert_array_equal(a, np.array(b))
    # warm start from it: a run with an average trains on from the trained weights and starts its average from the
    # average (until its first update resets it, as Keras does); a run without one trains on from the average
    with_average = build_stargan(MODEL_CFG, TRAIN_CFG, options)
    training.warm_start(with_average, last, MODEL_CFG)
    for a, b in zip(online[-1], with_average.generator.weights):
        np.testing.assert_allclose(a, np.array(b), rtol=1e-5, atol=1e-6)
    for a, b in zip(saved, with_average.average.weights):
        np.testing.assert_array_equal(a, np.array(b))
    plain = build_stargan(MODEL_CFG, TRAIN_CFG, StarGanConfig())
    training.warm_start(plain, last, MODEL_CFG)
    for a, b in zip(saved, plain.generator.weights):
        np.testing.assert_array_equal(a, np.array(b))

    resumed = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        training.train(speaker_data.emotions, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, resumed,
                       callbacks=[kill_during_iteration_3], **kwargs)
    training.train(speaker_data.emotions, FEATURE_CFG, MODEL_CFG, TRAIN_CFG, resumed, resume=True, **kwargs)
    for a, b in zip(saved, loaded(resumed / "generator.weights.h5")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_generator_average_run_warm_starts_both_generators_from_a_run_without(trained, tmp_path):
    import shutil

    source = ConversionModel.load(trained[0]).converter.generator.weights
    pretrained = tmp_path / "pretrained"  # a model folder: the conversion networks only, no checkpoints
    pretrained.mkdir()
    for name in ("config.json", "generator.weights.h5"):
        shutil.copy(trained[0] / name, pretrained / name)
    for folder in (trained[0], pretrained):
        model = build_stargan(MODEL_CFG, TRAIN_CFG, StarGanConfig(generator_average=0.9))
        info = training.warm_start(model, folder, MODEL_CFG)
        assert "generator_online" not in info.get("fresh", []) and "generator_online" in model.networks()
        for network in (model.generator, model.average):
            for a, b in zip(source, network.weights):
                np.testing.assert_array_equal(np.array(a), np.array(b))
    with pytest.raises(ParameterError, match="generator_average"):
        StarGanConfig(generator_average=1.0)


def test_convert_cli_rhythm_and_f0_methods(trained, corpora_root, tmp_path, capsys):
    actor = list_utterances("ravdess", speaker="Actor_16", emotion="neutral", root=corpora_root)[0]
    argv = ["--model_dir", str(trained[0]), "--target-emotion", "sad", "--quiet", str(actor.path)]
    assert cli.convert_main([*argv, "-o", str(tmp_path / "slow.wav"), "--rhythm", "--f0-method", "cwt",
                             "--power-method", "cwt"]) == 0
    err = capsys.readouterr().err
    model = ConversionModel.load(trained[0])
    ratio = model.converter.normalizer.prosody.tempo_ratio("neutral", "sad")
    sr = model.feature_cfg.sr
    n_in, n_out = len(audio.load_wav(actor.path, sr)), len(audio.load_wav(tmp_path / "slow.wav", sr))
    assert n_out / n_in == pytest.approx(ratio, rel=0.01) and "rhythm: duration" in err
    assert cli.convert_main([*argv, "-o", str(tmp_path / "c.wav"), "--f0-method", "contour"]) == 1
    assert "without the F0 channel" in capsys.readouterr().err and not (tmp_path / "c.wav").exists()
    with pytest.raises(SystemExit) as exit_info:
        cli.convert_main([*argv, "-o", str(tmp_path / "n.wav"), "--no-f0", "--f0-method", "cwt"])
    assert exit_info.value.code == 2


def test_contours_and_enrolled_speakers_are_added_to_a_model_trained_before_them(trained, corpora_root, tmp_path):
    import shutil

    from emocore.pretrained import remeasure_speakers

    folder = tmp_path / "old"
    shutil.copytree(trained[0], folder)
    values = json.loads((folder / SPEAKERS_FILE).read_text())
    for entry in values["normalizer"]["prosody"]["shifts"].values():  # as written before issue 15
        entry.pop("f0_scale_log_ratio"), entry.pop("tempo_log_ratio"), entry.pop("power_scale_log_ratio")
    values["normalizer"]["prosody"].pop("frame_period_ms")
    values["normalizer"].pop("enrolled")  # as written before the training speakers were enrolled
    (folder / SPEAKERS_FILE).write_text(json.dumps(values))
    with pytest.raises(ModelFolderError, match=SPEAKERS_FILE):  # the fingerprint no longer matches
        ConversionModel.load(folder)
    from emocore.record import read_record, write_record

    write_record(folder / "config.json", replace(read_record(folder), fingerprint=None))
    old = ConversionModel.load(folder).converter
    assert not old.normalizer.prosody.has_contours and old.enrolled_speakers == ()
    with pytest.raises(ParameterError, match="same data"):  # fewer utterances: not what the smoke run trained on
        remeasure_speakers(folder, processed_dir=tmp_path / "processed", corpora_root=corpora_root, n_jobs=1,
                             max_utterances=2)
    remeasure_speakers(folder, processed_dir=tmp_path / "processed", corpora_root=corpora_root, n_jobs=1,
                         max_utterances=3)
    model = ConversionModel.load(folder)  # the fingerprint is renewed
    original = ConversionModel.load(trained[0]).converter
    assert model.converter.normalizer.prosody == original.normalizer.prosody
    assert model.converter.enrolled_speakers == original.enrolled_speakers == tuple(sorted(
        read_record(trained[0]).training["speakers"]))
    assert model.converter.normalizer.to_dict() == original.normalizer.to_dict()
