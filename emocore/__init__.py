"""emocore: emotional voice conversion on WORLD features.

Modules, in the order a reader meets them:
``config`` (frozen dataclass configs), ``paths``, ``datasets`` (corpora, splits, downloader),
``audio`` (loading with clear errors), ``features`` (WORLD analysis and synthesis),
``prosody`` (log-Gaussian transforms of log F0 and power), ``extraction`` (parallel cached
feature extraction), ``models`` and ``losses`` (the networks and their losses, backend-neutral Keras 3),
``training`` (EmoCycleGAN training and checkpoints), ``conversion`` (the one conversion path),
``metrics``, ``vocoders``, ``plotting``.
"""

__version__ = "0.1.0"
