"""tinysent: tweet sentiment with TinyBERT.

Layers, each importing only from those before it: :mod:`tinysent.core` (errors, labels and
decisions, normaliser, tokenisation, model metadata and folder) → :mod:`tinysent.runtime` (backends,
:class:`~tinysent.runtime.predictor.Predictor`) → :mod:`tinysent.train` (data, training,
distillation, export, pack; the ``train`` extra) → :mod:`tinysent.apps` (evaluate, report, batch
scoring, Ray, service, CLI).

``tinysent.load()`` gives a predictor (the shipped model when no folder is named; it needs only ONNX
Runtime and tokenizers); ``tinysent.normalize()`` is the tweet normaliser.
"""

from tinysent.core.errors import TinysentError
from tinysent.core.normalize import Normalizer, NormalizerConfig, normalize
from tinysent.core.version import __version__


def load(path=None, **kwargs):
    """Load a model folder (the shipped model when ``path`` is None) as a
    :class:`~tinysent.runtime.predictor.Predictor`; see :func:`tinysent.runtime.predictor.load`."""
    from tinysent.runtime.predictor import load as _load

    return _load(path, **kwargs)


__all__ = ["Normalizer", "NormalizerConfig", "TinysentError", "__version__", "load", "normalize"]
