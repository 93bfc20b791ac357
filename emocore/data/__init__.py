"""The corpora and what is derived from them once: which files belong to an emotion, splits, cached features.

- :mod:`~emocore.data.corpora`: the TESS and RAVDESS registry, emotion names, what their file names say;
- :mod:`~emocore.data.datasets`: corpora and folders of your own as emotion *domains*, held-out splits;
- :mod:`~emocore.data.download`: fetching the corpora from their hosts, with checksums;
- :mod:`~emocore.data.prepare`: extracting the downloads and laying them out with a manifest;
- :mod:`~emocore.data.extraction`: parallel, cached WORLD feature extraction and per-domain statistics.
"""
