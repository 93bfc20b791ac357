"""emocore: emotional voice conversion on WORLD features.

The subpackages, in the order a reader meets them (imports go down this list, never in a circle):

- ``config`` (frozen dataclass configs with ``smoke()``), ``exceptions``, ``paths``, ``io`` (atomic writes,
  digests), ``record`` (a model folder's ``config.json``: one versioned dataclass);
- ``dsp``: signal processing without Keras: audio, WORLD features, log-Gaussian prosody, segments, metrics,
  vocoders;
- ``data``: the corpora, downloads, emotion domains and splits, cached feature extraction, espeak-ng voices;
- ``models``: the registry of model types (``models.get(name)``), their interfaces (``models.base``: the
  ``Converter`` and ``TrainingModel`` protocols, ``ModelSpec``, the shared GAN step), layers, and one module per
  model type (``models.cyclegan``: EmoCycleGAN, ``models.munit``: EmoMUNIT);
- ``training``: the loop of every registered model type, checkpoints, the classifier's pre-training, monitoring;
- ``conversion`` (the one conversion path, between a model's emotions), ``familiarity``, ``batch``;
- ``evaluation``: emotion judges, speaker similarity, DNSMOS, distances to the real target, reports, and
  ``evaluation.listening`` (blinded A/B and MOS tests, in notebook 06 and on the listeners' web page);
- ``plotting``, ``pretrained``, ``demo`` (``make demo``: a first listen), ``results`` (``make results``: the full
  evaluation), ``bench``, ``cli``.
"""

__version__ = "0.1.0"
