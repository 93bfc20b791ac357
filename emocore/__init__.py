"""emocore: emotional voice conversion on WORLD features.

Modules, in the order a reader meets them:
``config`` (frozen dataclass configs), ``paths``, ``io`` (atomic writes, digests), ``datasets`` (corpora,
splits, downloader), ``audio`` (loading with clear errors), ``features`` (WORLD analysis and synthesis),
``prosody`` (log-Gaussian transforms of log F0 and power), ``extraction`` (parallel cached feature
extraction), ``models`` and ``losses`` (the networks and their losses, backend-neutral Keras 3), ``gan``
(the shared GAN step, optimizers), ``munit`` (EmoMUNIT), ``conversion`` (the one conversion path),
``training`` (EmoCycleGAN, checkpoints and the loop of every model), ``segments`` (long inputs in bounded
memory), ``batch`` (a batch's inputs and outputs), ``metrics``, ``evaluation``, ``vocoders``, ``plotting``.
"""

__version__ = "0.1.0"
