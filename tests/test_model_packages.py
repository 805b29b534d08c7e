"""Model packages: a pip package registers its model folder under the entry point group
``tinysent.models`` (as spaCy's en_core_web_sm registers a pipeline); ``--model NAME`` and
``tinysent.load(NAME)`` find it, ``accurate`` is the best installed model of the accurate tier, and
``tinysent models`` lists them. Here the package is a dist-info folder on sys.path, as pip leaves it."""

import json
import shutil

import pytest

import tinysent
from tinysent.core.errors import ModelError
from tinysent.core.meta import ModelMeta


def fake_package(site, name: str, module: str, target: str) -> None:
    """What `pip install` of a model package leaves: a module and its dist-info with the entry point."""
    dist = site / f"{module}-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[tinysent.models]\n{name} = {module}:MODEL_DIR\n")
    (site / f"{module}.py").write_text(f"MODEL_DIR = {target!r}\n")


def test_a_model_package_is_found_by_name_and_as_accurate(trained_model, tmp_path, monkeypatch, capsys):
    from tinysent.apps.cli import main
    from tinysent.runtime.registry import installed_models, resolve_model

    assert {m.name for m in installed_models()} == {"shipped"}
    with pytest.raises(ModelError, match="pip install tinysent-6l"):
        resolve_model("accurate")
    model = tmp_path / "pkg-model"
    shutil.copytree(trained_model, model)
    meta = ModelMeta.load(model)
    meta.card = {"tier": "accurate", "scores": {"tweeteval_test_macro_recall": 0.72}}
    meta.save(model)
    site = tmp_path / "site"
    fake_package(site, "tiny-accurate", "tiny_accurate", str(model))
    fake_package(site, "broken-model", "broken_model", str(tmp_path / "nowhere"))  # left out, warned
    monkeypatch.syspath_prepend(str(site))
    names = {m.name: m for m in installed_models()}
    assert set(names) == {"shipped", "tiny-accurate"} and names["tiny-accurate"].package == "tiny-accurate"
    assert resolve_model("accurate") == model == resolve_model("tiny-accurate")
    assert tinysent.load("accurate").predict("i love this great day")["label"] == "positive"
    assert resolve_model("fast") == resolve_model("shipped") == tinysent.load().path
    assert main(["predict", "--model", "accurate", "i hate this awful day"]) == 0
    assert json.loads(capsys.readouterr().out)["label"] == "negative"
    assert main(["models"]) == 0
    table = capsys.readouterr().out
    assert "tiny-accurate" in table and "accurate" in table and "0.720" in table
    assert "no accurate model installed" not in table
    assert main(["models", "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["name"] for r in rows] == ["shipped", "tiny-accurate"] and rows[0]["card"]["tier"] == "fast"
    # a folder that exists is a folder, whatever its name
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accurate").mkdir()
    assert resolve_model("accurate").resolve() == (tmp_path / "accurate").resolve()


def test_evaluate_records_the_score_on_the_models_card(trained_model, test_file, tmp_path):
    from tinysent.apps.cli import main

    model = tmp_path / "m"
    shutil.copytree(trained_model, model)
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(model),
                "--test-data",
                str(test_file),
                "--out",
                str(tmp_path / "e"),
                "--card",
            ]
        )
        == 0
    )
    got = json.loads((tmp_path / "e" / "metrics.json").read_text())
    card = ModelMeta.load(model).card
    assert card["scores"]["sentiment140_test_accuracy"] == got["accuracy"]
    assert card["n"]["sentiment140_test_accuracy"] == got["n"] == 120
    assert card["ci95"]["sentiment140_test_accuracy"] == got["accuracy_ci95"]
    assert "tinysent evaluate on" in card["measured"]["sentiment140_test_accuracy"]
    assert ModelMeta.load(trained_model).card == {}  # only the model evaluated with --card
