"""tinysent: tweet sentiment with TinyBERT.

Pipeline order, one module each: data → normalize → models → train / distill → evaluate →
predict. ``tinysent.load()`` gives a predictor; ``tinysent.normalize()`` is the tweet normaliser.
"""

__version__ = "0.1.0"

from .normalize import Normalizer, NormalizerConfig, normalize  # noqa: E402


def load(path=None, **kwargs):
    """Load a model folder (the shipped model when ``path`` is None) as a :class:`Predictor`."""
    from .predict import load as _load

    return _load(path, **kwargs)


__all__ = ["Normalizer", "NormalizerConfig", "__version__", "load", "normalize"]
