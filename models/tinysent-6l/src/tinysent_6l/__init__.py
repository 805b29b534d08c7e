"""The tinysent model tinysent-6l: ``tinysent predict --model tinysent-6l``
(or ``tinysent.load("tinysent-6l")``)."""

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"
# the model's tinysent.json, which pins the sha256 of every other file of the model
SHA256 = {"tinysent.json": "4fc3ed470148aa5c0d4c6cbbadd649e6e2f86967e3a8a9f4f9ca6f90fee88fc4"}


def load(**kwargs):
    """The model, ready to predict (``tinysent.load`` with this package's folder)."""
    import tinysent

    return tinysent.load(MODEL_DIR, **kwargs)
