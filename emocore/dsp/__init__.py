"""Signal processing, with no neural network in it (no Keras import): everything between a waveform and features.

- :mod:`~emocore.dsp.audio`: loading and validating audio files, with errors that name the file;
- :mod:`~emocore.dsp.features`: WORLD analysis and synthesis (F0, MCEPs, aperiodicity, power envelope);
- :mod:`~emocore.dsp.prosody`: per-emotion statistics and the log-Gaussian transforms of log F0 and power;
- :mod:`~emocore.dsp.relative_prosody`: each emotion's prosody change measured across speakers, applied relative
  to any speaker's own statistics (a low voice stays low);
- :mod:`~emocore.dsp.cwt`: the continuous wavelet transform of a log-F0 contour (ten octave scales) and its synthesis;
- :mod:`~emocore.dsp.rhythm`: voiced-run and pause durations per emotion, and a time warp of WORLD frames;
- :mod:`~emocore.dsp.segments`: cutting long inputs at quiet places and joining them with crossfades;
- :mod:`~emocore.dsp.metrics`: objective measures (MCD, F0 RMSE, ...);
- :mod:`~emocore.dsp.vocoders`: the vocoders compared in notebook 02.
"""
