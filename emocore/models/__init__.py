"""The models, and the registry that is the one place knowing them by name.

- :mod:`~emocore.models.base`: the interfaces every model type implements (:class:`~emocore.models.base.Converter`,
  :class:`~emocore.models.base.TrainingModel`), its registry entry (:class:`~emocore.models.base.ModelSpec`) and the
  shared two-emotion GAN step;
- :mod:`~emocore.models.layers`: gated convolutions, instance norm, pixel shuffle;
- :mod:`~emocore.models.discriminator`, :mod:`~emocore.models.classifier`, :mod:`~emocore.models.losses`: the parts
  the GANs share (the classifier is the training objective's, never an evaluation judge);
- one module per model type: :mod:`~emocore.models.cyclegan` (EmoCycleGAN), :mod:`~emocore.models.munit` (EmoMUNIT).

Training, conversion, the command-line tools, export and the notebooks ask :func:`get` for a model type; none of
them names one. A new model type is one module with a ``SPEC`` and one line in :data:`MODELS` (or, from outside the
package, one call of :func:`register`).
"""

from __future__ import annotations

from emocore.exceptions import ParameterError
from emocore.models import cyclegan, munit, stargan
from emocore.models.base import ModelSpec

MODELS: dict[str, ModelSpec] = {spec.name: spec for spec in (cyclegan.SPEC, munit.SPEC, stargan.SPEC)}
"""Every model type, by the ``model_type`` its run records carry."""

DEFAULT_MODEL_TYPE = cyclegan.SPEC.name
"""What ``emocore-train`` and :func:`emocore.training.train` train when no model type is given (the published one)."""


def get(name: str) -> ModelSpec:
    """The registry entry of model type ``name``.

    Raises:
        ParameterError: no model type of that name is registered.
    """
    try:
        return MODELS[name]
    except KeyError:
        raise ParameterError(f"unknown model type {name!r}; known: {', '.join(MODELS)}") from None


def register(spec: ModelSpec, *, replace: bool = False) -> ModelSpec:
    """Add a model type to :data:`MODELS` (a plug-in, or a model defined in a notebook or a test).

    Raises:
        ParameterError: ``spec.name`` is taken and ``replace`` is off.
    """
    if spec.name in MODELS and not replace:
        raise ParameterError(f"model type {spec.name!r} is already registered")
    MODELS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove model type ``name`` from :data:`MODELS` (no error if absent)."""
    MODELS.pop(name, None)


__all__ = ["DEFAULT_MODEL_TYPE", "MODELS", "ModelSpec", "get", "register", "unregister"]
