"""Tests for emocore.dsp.metrics: known answers on synthetic sequences, plus one pyworld round trip."""

import math

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from emocore.dsp import metrics
from emocore.exceptions import ParameterError

DB_PER_NEPER = 10.0 / math.log(10.0)
SR = 16000
FRAME_PERIOD_MS = 5.0


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def _brute_force_dtw_cost(x, y):
    """Textbook O(Tx * Ty) double loop: the optimal accumulated cost, for cross-checking."""
    cost = cdist(x, y)
    acc = np.full((len(x) + 1, len(y) + 1), np.inf)
    acc[0, 0] = 0.0
    for i in range(len(x)):
        for j in range(len(y)):
            acc[i + 1, j + 1] = cost[i, j] + min(acc[i, j], acc[i, j + 1], acc[i + 1, j])
    return acc[-1, -1]


def _assert_valid_path(i, j, len_x, len_y):
    assert i.shape == j.shape and i.ndim == 1
    assert (i[0], j[0]) == (0, 0)
    assert (i[-1], j[-1]) == (len_x - 1, len_y - 1)
    di, dj = np.diff(i), np.diff(j)
    assert np.all((di == 0) | (di == 1)) and np.all((dj == 0) | (dj == 1))
    assert np.all(di + dj >= 1), "a step must advance at least one sequence"


# ---------------------------------------------------------------------------------------------- DTW


def test_dtw_identical_sequences_give_diagonal(rng):
    x = rng.normal(size=(50, 24))
    i, j = metrics.dtw_path(x, x)
    np.testing.assert_array_equal(i, np.arange(50))
    np.testing.assert_array_equal(j, np.arange(50))


def test_dtw_time_stretched_copy_aligns_each_frame_with_its_copies(rng):
    x = rng.normal(size=(40, 24))
    y = np.repeat(x, 2, axis=0)  # every frame twice
    i, j = metrics.dtw_path(x, y)
    np.testing.assert_array_equal(i, np.repeat(np.arange(40), 2))
    np.testing.assert_array_equal(j, np.arange(80))
    assert metrics.mel_cepstral_distortion_db(x, y, align="dtw") == 0.0
    # and the other way round
    i_rev, j_rev = metrics.dtw_path(y, x)
    np.testing.assert_array_equal(i_rev, j)
    np.testing.assert_array_equal(j_rev, i)


@pytest.mark.parametrize("len_x,len_y", [(1, 1), (1, 7), (7, 1), (13, 29), (40, 25)])
def test_dtw_path_is_monotonic_and_optimal(rng, len_x, len_y):
    x, y = rng.normal(size=(len_x, 3)), rng.normal(size=(len_y, 3))
    i, j = metrics.dtw_path(x, y)
    _assert_valid_path(i, j, len_x, len_y)
    path_cost = np.linalg.norm(x[i] - y[j], axis=1).sum()
    assert path_cost == pytest.approx(_brute_force_dtw_cost(x, y), rel=1e-12)


def test_dtw_600_by_600_frames(rng):
    x = rng.normal(size=(600, 24))
    y = x + 1e-3 * rng.normal(size=x.shape)  # tiny noise: the diagonal is the only sensible alignment
    i, j = metrics.dtw_path(x, y)
    np.testing.assert_array_equal(i, np.arange(600))
    np.testing.assert_array_equal(j, np.arange(600))


def test_dtw_accepts_other_cdist_metrics(rng):
    x = rng.normal(size=(10, 4))
    i, j = metrics.dtw_path(x, np.repeat(x, 3, axis=0), metric="cityblock")
    np.testing.assert_array_equal(i, np.repeat(np.arange(10), 3))
    np.testing.assert_array_equal(j, np.arange(30))


# ---------------------------------------------------------------------------------------------- MCD


@pytest.mark.parametrize("align", ["dtw", "none"])
@pytest.mark.parametrize("exclude_c0", [True, False])
def test_mcd_identical_is_exactly_zero(rng, align, exclude_c0):
    mcep = rng.normal(size=(60, 25))
    assert metrics.mel_cepstral_distortion_db(mcep, mcep.copy(), align=align, exclude_c0=exclude_c0) == 0.0


@pytest.mark.parametrize("d", [1, 5, 24])
@pytest.mark.parametrize("delta", [0.1, -0.37, 2.0])
def test_mcd_constant_offset_in_one_coefficient(rng, d, delta):
    ref = rng.normal(size=(80, 25))
    test = ref.copy()
    test[:, d] += delta
    expected = DB_PER_NEPER * math.sqrt(2.0) * abs(delta)
    got = metrics.mel_cepstral_distortion_db(ref, test, align="none")
    assert got == pytest.approx(expected, rel=1e-12)


def test_mcd_c0_ignored_unless_asked(rng):
    ref = rng.normal(size=(30, 25))
    test = ref.copy()
    test[:, 0] += 3.0
    assert metrics.mel_cepstral_distortion_db(ref, test, align="none") == 0.0
    assert metrics.mel_cepstral_distortion_db(ref, test, align="dtw") == 0.0
    counted = metrics.mel_cepstral_distortion_db(ref, test, align="none", exclude_c0=False)
    assert counted == pytest.approx(DB_PER_NEPER * math.sqrt(2.0) * 3.0, rel=1e-12)


def test_mcd_frames_mask_selects_reference_frames(rng):
    ref = rng.normal(size=(40, 25))
    test = ref.copy()
    test[:10, 3] += 0.5  # only the first 10 frames differ
    speech = np.ones(40, dtype=bool)
    speech[:10] = False
    assert metrics.mel_cepstral_distortion_db(ref, test, align="none", frames=speech) == 0.0
    only_diff = metrics.mel_cepstral_distortion_db(ref, test, align="none", frames=~speech)
    assert only_diff == pytest.approx(DB_PER_NEPER * math.sqrt(2.0) * 0.5, rel=1e-12)
    everything = metrics.mel_cepstral_distortion_db(ref, test, align="none")
    assert everything == pytest.approx(only_diff * 10 / 40, rel=1e-12)
    assert math.isnan(metrics.mel_cepstral_distortion_db(ref, test, frames=np.zeros(40, dtype=bool)))


# ---------------------------------------------------------------------------------------------- F0


def _two_level_contour():
    """100 Hz then 200 Hz, 50 frames each, with a few unvoiced (0) frames."""
    f0 = np.concatenate([np.full(50, 100.0), np.full(50, 200.0)])
    f0[[0, 1, 49, 98, 99]] = 0.0
    return f0


def test_f0_rmse_of_a_two_semitone_shift():
    ref = np.concatenate([np.full(50, 100.0), np.full(50, 200.0)])
    ratio = 2.0 ** (2 / 12)
    test = ref * ratio
    # RMSE of (ratio - 1) * f0 over equally many 100 Hz and 200 Hz frames
    expected = (ratio - 1.0) * math.sqrt((100.0**2 + 200.0**2) / 2)
    assert metrics.f0_rmse_hz(ref, test) == pytest.approx(expected, rel=1e-12)


def test_f0_rmse_excludes_frames_unvoiced_in_either():
    ref = np.concatenate([np.full(50, 100.0), np.full(50, 200.0)])
    test = ref * 2.0 ** (2 / 12)
    ref[[0, 1, 2, 3]] = 0.0  # 4 of the 100 Hz frames unvoiced in ref
    test[[50, 51, 52, 53]] = 0.0  # 4 of the 200 Hz frames unvoiced in test
    expected = (2.0 ** (2 / 12) - 1.0) * math.sqrt((100.0**2 + 200.0**2) / 2)  # still 46 + 46 frames
    assert metrics.f0_rmse_hz(ref, test) == pytest.approx(expected, rel=1e-12)
    # an unvoiced frame counted as 0 Hz would add a ~100-200 Hz error
    assert metrics.f0_rmse_hz(ref, test) < 30.0


def test_f0_rmse_nothing_voiced_in_both_is_nan():
    ref = np.array([100.0, 0.0, 120.0, 0.0])
    test = np.array([0.0, 110.0, 0.0, 130.0])
    assert math.isnan(metrics.f0_rmse_hz(ref, test))
    assert math.isnan(metrics.f0_rmse_hz(np.zeros(5), np.zeros(5)))


def test_f0_rmse_identical_is_zero():
    f0 = np.abs(np.sin(np.linspace(0, 6, 200))) * 150
    assert metrics.f0_rmse_hz(f0, f0) == 0.0


def test_log_f0_pearson_scaled_copy_is_one():
    t = np.linspace(0, 1, 200)
    ref = 180.0 * (1 + 0.2 * np.sin(2 * np.pi * 3 * t))
    ref[::7] = 0.0
    assert metrics.log_f0_pearson(ref, ref * 1.5) == pytest.approx(1.0, abs=1e-12)


def test_log_f0_pearson_inverted_contour_is_negative():
    t = np.linspace(0, 1, 200)
    ref = 180.0 * (1 + 0.2 * np.sin(2 * np.pi * 3 * t))
    inverted = ref.max() * ref.min() / ref  # log mirrored about its mid-range
    assert metrics.log_f0_pearson(ref, inverted) == pytest.approx(-1.0, abs=1e-12)
    assert metrics.log_f0_pearson(ref, ref[::-1]) < 0  # reversed in time: opposite phase of sin


def test_log_f0_pearson_needs_three_voiced_frames_and_variance():
    ref = np.array([100.0, 110.0, 0.0, 0.0])
    test = np.array([100.0, 120.0, 130.0, 0.0])
    assert math.isnan(metrics.log_f0_pearson(ref, test))
    assert math.isnan(metrics.log_f0_pearson(np.full(10, 100.0), np.linspace(90, 120, 10)))


def test_vuv_error_rate_known_fraction():
    ref = np.array([100.0, 100.0, 0.0, 0.0, 120.0, 0.0, 130.0, 140.0, 0.0, 90.0])
    test = np.array([110.0, 0.0, 0.0, 95.0, 125.0, 0.0, 0.0, 150.0, 0.0, 80.0])
    # mismatches at frames 1, 3, 6; voiced-voiced pairs with different F0 do not count
    assert metrics.vuv_error_rate(ref, test) == pytest.approx(0.3)
    assert metrics.vuv_error_rate(ref, ref) == 0.0
    assert metrics.vuv_error_rate(ref, (ref == 0) * 100.0) == 1.0


def test_the_f0_rmse_splits_into_the_level_and_the_rest():
    ref = _two_level_contour()
    voiced = ref > 0
    # the same shape, four semitones lower: all level
    assert metrics.f0_level_st(ref, ref * 2.0 ** (-4 / 12)) == pytest.approx(-4.0, abs=1e-9)
    assert metrics.f0_rmse_level_matched_hz(ref, ref * 2.0 ** (-4 / 12)) == pytest.approx(0.0, abs=1e-9)
    # a flat contour at the reference's geometric mean: no level difference, all shape
    flat = np.where(voiced, np.exp(np.mean(np.log(ref[voiced]))), 0.0)
    assert metrics.f0_level_st(ref, flat) == pytest.approx(0.0, abs=1e-9)
    assert metrics.f0_rmse_level_matched_hz(ref, flat) == pytest.approx(metrics.f0_rmse_hz(ref, flat), rel=1e-12)
    assert metrics.f0_rmse_level_matched_hz(ref, flat * 1.5) == pytest.approx(metrics.f0_rmse_hz(ref, flat), rel=1e-9)
    assert metrics.f0_rmse_level_matched_hz(ref, flat) > 1.0
    # frames unvoiced in either are left out; none voiced in both: nan
    assert math.isnan(metrics.f0_level_st(ref, np.where(voiced, 0.0, 100.0)))
    assert math.isnan(metrics.f0_rmse_level_matched_hz(ref, np.zeros_like(ref)))


def test_f0_metrics_follow_the_path():
    ref = _two_level_contour()
    stretched = np.repeat(ref * 2.0 ** (2 / 12), 2)  # twice as long and two semitones up
    path = (np.repeat(np.arange(100), 2), np.arange(200))
    voiced = ref[ref > 0]
    expected = (2.0 ** (2 / 12) - 1.0) * math.sqrt(np.mean(voiced**2))
    assert metrics.f0_rmse_hz(ref, stretched, path=path) == pytest.approx(expected, rel=1e-12)
    assert metrics.log_f0_pearson(ref, stretched, path=path) == pytest.approx(1.0, abs=1e-12)
    assert metrics.vuv_error_rate(ref, stretched, path=path) == 0.0


def test_aligned_metrics_on_stretched_shifted_copy(rng):
    mcep = rng.normal(size=(60, 25))
    t = np.arange(60) / 60
    f0 = 150.0 * (1 + 0.1 * np.sin(2 * np.pi * 2 * t))
    f0[:5] = 0.0
    ratio = 2.0 ** (3 / 12)
    mcep_test = np.repeat(mcep, 2, axis=0)
    mcep_test[:, 0] += 4.0  # louder: c0 does not affect the alignment or the MCD
    f0_test = np.repeat(f0 * ratio, 2)
    out = metrics.aligned_metrics(mcep, f0, mcep_test, f0_test)
    assert set(out) == {"mcd_db", "f0_rmse_hz", "log_f0_pearson", "vuv_error", "f0_level_st",
                        "f0_rmse_level_matched_hz"}
    assert all(isinstance(v, float) for v in out.values())
    assert out["mcd_db"] == 0.0
    assert out["f0_rmse_hz"] == pytest.approx((ratio - 1) * math.sqrt(np.mean(f0[f0 > 0] ** 2)), rel=1e-12)
    assert out["log_f0_pearson"] == pytest.approx(1.0, abs=1e-12)
    assert out["vuv_error"] == 0.0
    assert out["f0_level_st"] == pytest.approx(3.0, abs=1e-9)  # three semitones up, nothing else
    assert out["f0_rmse_level_matched_hz"] == pytest.approx(0.0, abs=1e-9)


# ------------------------------------------------------------------------------------- real audio


def _vibrato_tone(base_f0_hz, duration_s=1.0, n_harmonics=10):
    """Harmonic tone whose F0 is ``base * (1 + 0.02 sin(2 pi 5 t))``; returns (wav, f0_hz per sample)."""
    t = np.arange(int(duration_s * SR)) / SR
    f0_hz = base_f0_hz * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0_hz) / SR
    wav = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1))
    return 0.3 * wav / np.max(np.abs(wav)), f0_hz


@pytest.fixture(scope="module")
def harvested_pair():
    pyworld = pytest.importorskip("pyworld")
    contours = []
    for base in (150.0, 150.0 * 2.0 ** (3 / 12)):
        wav, _ = _vibrato_tone(base)
        f0, _ = pyworld.harvest(wav, SR, frame_period=FRAME_PERIOD_MS)
        contours.append(f0)
    return contours


def test_harvest_three_semitone_shift_rmse_and_correlation(harvested_pair):
    f0_ref, f0_test = harvested_pair
    ratio = 2.0 ** (3 / 12)
    # test = ratio * ref, so RMSE = (ratio - 1) * rms(ref) = (ratio - 1) * 150 * sqrt(1 + 0.02**2 / 2)
    expected = (ratio - 1.0) * 150.0 * math.sqrt(1 + 0.02**2 / 2)
    assert np.count_nonzero((f0_ref > 0) & (f0_test > 0)) > 0.8 * len(f0_ref)
    assert metrics.f0_rmse_hz(f0_ref, f0_test) == pytest.approx(expected, rel=0.10)
    assert metrics.log_f0_pearson(f0_ref, f0_test) > 0.9
    assert metrics.vuv_error_rate(f0_ref, f0_test) < 0.1


# ------------------------------------------------------------------------------------- bad input

_GOOD_MCEP = np.zeros((10, 5))


@pytest.mark.parametrize(
    "x,y,kwargs",
    [
        (np.zeros(10), _GOOD_MCEP, {}),  # 1-D
        (np.zeros((10, 5, 1)), _GOOD_MCEP, {}),  # 3-D
        (np.zeros((0, 5)), _GOOD_MCEP, {}),  # no frames
        (np.zeros((10, 4)), _GOOD_MCEP, {}),  # D differs
        (np.full((10, 5), np.nan), _GOOD_MCEP, {}),  # non-finite
        (_GOOD_MCEP, _GOOD_MCEP, {"metric": "no-such-metric"}),
        (_GOOD_MCEP, _GOOD_MCEP, {"metric": 3}),
    ],
)
def test_dtw_bad_input_raises(x, y, kwargs):
    with pytest.raises(ParameterError):
        metrics.dtw_path(x, y, **kwargs)


@pytest.mark.parametrize(
    "ref,test,kwargs",
    [
        (np.zeros(10), _GOOD_MCEP, {}),
        (np.zeros((10, 4)), _GOOD_MCEP, {}),
        (np.zeros((8, 5)), _GOOD_MCEP, {"align": "none"}),  # lengths differ without alignment
        (_GOOD_MCEP, _GOOD_MCEP, {"align": "linear"}),
        (np.zeros((10, 1)), np.zeros((10, 1)), {}),  # nothing left after dropping c0
        (_GOOD_MCEP, _GOOD_MCEP, {"frames": np.ones(9, dtype=bool)}),
        (_GOOD_MCEP, _GOOD_MCEP, {"frames": np.ones(10)}),  # not boolean
    ],
)
def test_mcd_bad_input_raises(ref, test, kwargs):
    with pytest.raises(ParameterError):
        metrics.mel_cepstral_distortion_db(ref, test, **kwargs)


_F0 = np.full(10, 100.0)


@pytest.mark.parametrize("fn", [metrics.f0_rmse_hz, metrics.log_f0_pearson, metrics.vuv_error_rate,
                                metrics.f0_level_st, metrics.f0_rmse_level_matched_hz])
@pytest.mark.parametrize(
    "ref,test,path",
    [
        (np.zeros((10, 1)), _F0, None),  # 2-D
        (np.zeros(0), np.zeros(0), None),  # empty
        (np.full(9, 100.0), _F0, None),  # lengths differ without a path
        (np.r_[_F0[:-1], -1.0], _F0, None),  # negative
        (np.r_[_F0[:-1], np.nan], _F0, None),  # NaN for unvoiced
        (_F0, _F0, (np.arange(10), np.arange(9))),  # path arrays differ in length
        (_F0, _F0, (np.arange(11), np.arange(11))),  # out of range
        (_F0, _F0, (np.arange(10.0), np.arange(10.0))),  # float indices
        (_F0, _F0, np.arange(10)),  # not a pair
    ],
)
def test_f0_metrics_bad_input_raises(fn, ref, test, path):
    with pytest.raises(ParameterError):
        fn(ref, test, path=path)


@pytest.mark.parametrize(
    "args",
    [
        (_GOOD_MCEP, np.full(9, 100.0), _GOOD_MCEP, np.full(10, 100.0)),  # ref f0 vs mcep length
        (_GOOD_MCEP, np.full(10, 100.0), _GOOD_MCEP, np.full(12, 100.0)),  # test f0 vs mcep length
        (_GOOD_MCEP, np.full(10, 100.0), np.zeros((10, 6)), np.full(10, 100.0)),  # D differs
        (np.zeros((10, 1)), np.full(10, 100.0), np.zeros((10, 1)), np.full(10, 100.0)),  # only c0
    ],
)
def test_aligned_metrics_bad_input_raises(args):
    with pytest.raises(ParameterError):
        metrics.aligned_metrics(*args)


@pytest.mark.skipif(not metrics.dnsmos_available(), reason="needs the eval extra (speechmos, onnxruntime)")
def test_dnsmos_prefers_real_speech_over_noise(tess_file):
    from emocore.dsp import audio

    speech = audio.load_wav(tess_file, 16000)
    noise = np.random.default_rng(0).normal(0, 0.1, len(speech))
    clean, noisy = metrics.dnsmos(speech, 16000), metrics.dnsmos(noise, 16000)
    assert set(clean) == {"dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak", "dnsmos_p808"}
    assert 1.0 <= clean["dnsmos_ovrl"] <= 5.0
    assert clean["dnsmos_ovrl"] > noisy["dnsmos_ovrl"] + 0.5
    resampled = metrics.dnsmos(audio.resample(speech, 16000, 24000), 24000)
    assert resampled["dnsmos_ovrl"] == pytest.approx(clean["dnsmos_ovrl"], abs=0.15)
