"""Speech from espeak-ng: voices in neither corpus, for ``make demo`` and for out-of-domain tests.

espeak-ng comes as a library with the ``espeakng-loader`` package (no system install). Each synthesis runs in
a fresh Python process: espeak-ng keeps global state, and once in a full test run an in-process synthesis came
back silent. A silent result is tried again.

Example:
    >>> from emocore.data import espeak
    >>> espeak.synthesize("Good morning, how are you today?", "hello.wav")  # doctest: +SKIP
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from emocore.exceptions import EspeakError, ParameterError

#: exit status of the synthesis process when espeak-ng has no such voice, and when no sample came back
_NO_VOICE, _NO_SAMPLES = 3, 4
#: a synthesis whose int16 peak stays below this is taken for silence and tried again
_SILENT_PEAK = 1000
#: seconds one synthesis may take
TIMEOUT_S = 120


def available() -> bool:
    """Whether ``espeakng-loader`` (espeak-ng's library and voices) is installed."""
    import importlib.util

    return importlib.util.find_spec("espeakng_loader") is not None


def synthesize(text: str, path: str | Path, voice: str = "en", *, tries: int = 3) -> np.ndarray:
    """Speak ``text`` with espeak-ng into the WAV file ``path`` (22,050 Hz, 16 bit); returns its int16 samples.

    Args:
        voice: an espeak-ng voice name, optionally with a variant (``"en"``, ``"en+f3"``, ``"de"``).
        tries: syntheses attempted before a silent result is an error.

    Raises:
        EspeakError: espeak-ng is not installed, failed, or spoke only silence ``tries`` times.
        ParameterError: espeak-ng has no voice ``voice``.
    """
    import soundfile as sf

    if not available():
        raise EspeakError("espeak-ng is not installed: pip install espeakng-loader")
    path = Path(path)
    code = "import sys; from emocore.data.espeak import _speak; sys.exit(_speak(*sys.argv[1:4]))"
    for _ in range(tries):
        try:
            done = subprocess.run([sys.executable, "-c", code, text, str(path), voice], capture_output=True, text=True,
                                  timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired as error:
            raise EspeakError(f"espeak-ng did not finish {text!r} in {TIMEOUT_S} s") from error
        if done.returncode == _NO_VOICE:
            raise ParameterError(f"espeak-ng has no voice {voice!r}")
        if done.returncode == _NO_SAMPLES:
            continue
        if done.returncode != 0:
            raise EspeakError(f"espeak-ng failed on {text!r}: {done.stderr[-2000:]}")
        samples, _ = sf.read(str(path), dtype="int16")
        if np.abs(samples.astype(np.int32)).max() > _SILENT_PEAK:
            return samples
    raise EspeakError(f"espeak-ng synthesized silence {tries} times for {text!r}")


def _speak(text: str, path: str, voice: str) -> int:
    """The synthesis of :func:`synthesize`, in the process that runs it: 0 done, 1 failed, 3 no such voice, 4 no sample
    came back (tried again)."""
    import ctypes

    import espeakng_loader
    import soundfile as sf

    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    synchronous = 2  # AUDIO_OUTPUT_SYNCHRONOUS: samples arrive through the callback before espeak_Synth returns
    rate = lib.espeak_Initialize(synchronous, 0, espeakng_loader.get_data_path().encode(), 0)
    chunks = []

    def on_samples(samples, n, events):
        if n > 0:
            chunks.append(np.ctypeslib.as_array(samples, shape=(n,)).copy())
        return 0

    callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)(on_samples)
    lib.espeak_SetSynthCallback(callback)
    if lib.espeak_SetVoiceByName(voice.encode()) != 0:
        return _NO_VOICE
    encoded = text.encode()
    position_character = 1
    if lib.espeak_Synth(encoded, len(encoded) + 1, 0, position_character, 0, 0, None, None) != 0:
        return 1
    lib.espeak_Synchronize()
    if not chunks:
        return _NO_SAMPLES
    sf.write(path, np.concatenate(chunks), rate, subtype="PCM_16")
    return 0
