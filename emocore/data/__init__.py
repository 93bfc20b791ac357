"""The corpora and what is derived from them once: which files belong to an emotion, splits, cached features.

- :mod:`~emocore.data.datasets`: TESS, RAVDESS and folders of your own as emotion *domains*, held-out splits;
- :mod:`~emocore.data.download`: fetching the corpora, with checksums;
- :mod:`~emocore.data.extraction`: parallel, cached WORLD feature extraction and per-domain statistics.
"""
