"""The tinysent model tinysent-6l: ``tinysent predict --model tinysent-6l``
(or ``tinysent.load("tinysent-6l")``)."""

from pathlib import Path

MODEL_DIR = Path(__file__).resolve().parent / "model"
# the model's tinysent.json, which pins the sha256 of every other file of the model
SHA256 = {"tinysent.json": "928717588de0f63c33d00e8b57572895b766e4d00622a7d9c27df570aef070e5"}


def load(**kwargs):
    """The model, ready to predict (``tinysent.load`` with this package's folder)."""
    import tinysent

    return tinysent.load(MODEL_DIR, **kwargs)
