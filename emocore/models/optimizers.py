"""Adam with one fused update per variable under TensorFlow: the same update as ``keras.optimizers.Adam``.

Keras 3's Adam writes each variable's update as about twenty small ops (casts, two powers, two moment updates, the
step). Inside a compiled training step that costs twice: tracing them took about 30 ms per variable on this
project's 2-core machine (EmoCycleGAN at width 0.35 has 216 variables: six seconds of its first step), and each
small op has its own dispatch on every step. :class:`FusedAdam` hands each variable to TensorFlow's
``ResourceApplyAdam`` kernel instead, which computes, as Keras does,

    m <- beta_1 m + (1 - beta_1) g          v <- beta_2 v + (1 - beta_2) g^2
    variable <- variable - lr sqrt(1 - beta_2^t) / (1 - beta_1^t) * m / (sqrt(v) + epsilon)

with ``t`` the step counter plus one. The scalars every variable's update shares (``t``, the two powers, the
learning rate, epsilon) are built once per step and device, not once per variable: that leaves each variable its
handles, its gradient and the one kernel (EmoCycleGAN at width 0.35: 2,140 fewer ops in its training step's
graph, 15,497 -> 13,357). The optimizer's variables (counter, moments) and therefore the checkpoints are Keras
Adam's; under another backend, or with ``amsgrad``, it is Keras Adam itself.
"""

from __future__ import annotations

import threading

import keras
from keras import ops

#: per thread, the optimizer (by ``id``) whose step is being applied -> its shared scalars (FusedAdam._shared)
_STEP = threading.local()


class FusedAdam(keras.optimizers.Adam):
    """``keras.optimizers.Adam`` whose per-variable update is one ``ResourceApplyAdam`` op under TensorFlow."""

    @property
    def _step_scalars(self) -> dict | None:
        """During one step's updates in this thread: the shared scalars by (dtype, device) (:meth:`_shared`);
        ``None`` between steps. Per thread: without a merge call (XLA on GPUs) every replica's thread updates at
        once."""
        return getattr(_STEP, "scalars", {}).get(id(self))

    def _distributed_tf_update_step(self, distribution, grads_and_vars, learning_rate):
        # Keras calls this once per step and thread (in cross-replica context when the strategy merges), then
        # update_step once per variable and device
        if not hasattr(_STEP, "scalars"):
            _STEP.scalars = {}
        _STEP.scalars[id(self)] = {}
        try:
            return super()._distributed_tf_update_step(distribution, grads_and_vars, learning_rate)
        finally:
            del _STEP.scalars[id(self)]

    def _shared(self, variable, learning_rate) -> dict:
        """This step's scalars in ``variable``'s dtype, built by the first variable of that dtype and device."""
        dtype = variable.dtype
        key = (str(dtype), getattr(variable, "device", None))
        cache = self._step_scalars
        if cache is not None and key in cache:
            return cache[key]
        local_step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        scalars = dict(beta1_power=ops.power(beta_1, local_step), beta2_power=ops.power(beta_2, local_step),
                       lr=ops.cast(learning_rate, dtype), beta1=beta_1, beta2=beta_2,
                       epsilon=ops.cast(self.epsilon, dtype))
        if cache is not None:
            cache[key] = scalars
        return scalars

    def update_step(self, gradient, variable, learning_rate):
        if keras.backend.backend() != "tensorflow" or self.amsgrad:
            return super().update_step(gradient, variable, learning_rate)
        import tensorflow as tf

        index = self._get_variable_index(variable)
        momentum, velocity = self._momentums[index], self._velocities[index]
        tf.raw_ops.ResourceApplyAdam(var=_handle(variable), m=_handle(momentum), v=_handle(velocity),
                                     grad=ops.cast(gradient, variable.dtype), use_locking=False,
                                     **self._shared(variable, learning_rate))


def _handle(variable):
    """The TensorFlow resource handle of a TensorFlow variable or of a Keras one (whose ``value`` is that)."""
    import tensorflow as tf

    return (variable if isinstance(variable, tf.Variable) else variable.value).handle
