import numpy as np
import pytest

from emocore.config import FeatureConfig
from emocore.dsp import audio, vocoders
from emocore.exceptions import ParameterError


def test_default_grid_names():
    grid = vocoders.default_vocoders(16000, (24, 36))
    assert {"world-harvest-uncoded", "world-harvest-world24", "world-harvest-sptk36", "world-dio-world24",
            "griffin-lim-mel80"} <= set(grid)


def test_measure_identity_is_zero(tone):
    scores = vocoders.measure_resynthesis(tone, tone.copy())
    assert scores["mcd_db"] == 0.0 and scores["f0_rmse_hz"] == 0.0 and scores["vuv_error"] == 0.0
    with pytest.raises(ParameterError):
        vocoders.measure_resynthesis(tone, tone[:-10])


def test_compare_orders_vocoders_sensibly_on_real_speech(tess_file):
    """On a real TESS word every WORLD variant re-synthesizes far closer than Griffin-Lim from a mel spectrogram."""
    wav = audio.load_wav(tess_file, 16000)
    grid = vocoders.default_vocoders(16000, (24, 60))
    chosen = {k: grid[k] for k in ("world-harvest-uncoded", "world-harvest-sptk24", "world-harvest-sptk60",
                                   "griffin-lim-mel80")}
    table, resynth = vocoders.compare_vocoders({"bar": wav}, chosen, with_dnsmos=False, progress=False)
    assert len(table) == 4 and set(table.columns) >= {"mcd_db", "f0_rmse_hz", "vuv_error", "rtf"}
    mcd = table.set_index("vocoder")["mcd_db"]
    world = mcd.drop("griffin-lim-mel80")
    assert (world < 4.0).all() and (world < mcd["griffin-lim-mel80"] - 0.5).all()
    assert all(out.shape == wav.shape for out in resynth.values())
    assert np.all(table["rtf"] > 0)


def test_world_vocoder_keeps_length(tone):
    out = vocoders.world_vocoder(FeatureConfig(f0_method="dio"))(tone[:12345])
    assert out.shape == (12345,)
