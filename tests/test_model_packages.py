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
    with pytest.raises(ModelError, match="pip install .*models/tinysent-6l"):
        resolve_model("accurate")
    assert main(["models"]) == 0  # the same hint, one that works from a clone (not a PyPI name)
    hint = capsys.readouterr().out.splitlines()[-1]
    assert hint.startswith("no accurate model installed: pip install ") and "models/tinysent-6l" in hint
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
    # a damaged package is named as one, with the fix (not "not a model folder")
    with pytest.raises(ModelError, match=r"package broken-model is damaged .*--force-reinstall broken-model"):
        resolve_model("broken-model")
    # an installed model is not calibrated in place (its package pins its files); a copy is
    assert main(["calibrate", "--model", "accurate"]) == 2
    assert "calibrate a copy with --out" in capsys.readouterr().err
    assert main(["calibrate", "--model", str(model), "--out", str(model)]) == 2
    assert "is the --model folder" in capsys.readouterr().err
    # a folder named like a model tinysent chooses, beside you: refused, never guessed; ./ says folder
    monkeypatch.chdir(tmp_path)
    (tmp_path / "accurate").mkdir()
    with pytest.raises(ModelError, match=r"also the folder ./accurate here: write ./accurate"):
        resolve_model("accurate")
    assert resolve_model("./accurate").resolve() == (tmp_path / "accurate").resolve()


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


def test_tinysent_package_makes_a_pip_package_that_installs_its_model(
    trained_model, test_file, tmp_path, capsys
):
    """`tinysent package` -> `pip wheel` -> `pip install`: the wheel holds the model only, the entry
    point names it, `--model accurate` finds it by its card, its pins are checked (a changed
    tinysent.json leaves the package out with a warning), and a bad name or folder is one line."""
    import os
    import subprocess
    import sys
    import zipfile

    from tinysent.apps.cli import main

    model = tmp_path / "m"
    shutil.copytree(trained_model, model)
    meta = ModelMeta.load(model)
    meta.card = {
        "tier": "accurate",
        "scores": {"tweeteval_test_macro_recall": 0.7312},
        "ci95": {"tweeteval_test_macro_recall": [0.723, 0.739]},
        "n": {"tweeteval_test_macro_recall": 12284},
        "speed": {"relative_to_shipped": 0.41},
    }
    meta.save(model)
    pkg = tmp_path / "tiny-6l"
    assert main(["package", "--model", str(model), "--name", "tiny-6l", "--out", str(pkg)]) == 0
    assert "0.7312 | 0.723–0.739 | 12284" in (pkg / "README.md").read_text()
    assert "Speed: 0.41x the tweets/s of the model shipped in tinysent" in (pkg / "README.md").read_text()
    assert 'tiny-6l = "tiny_6l:MODEL_DIR"' in (pkg / "pyproject.toml").read_text()
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(pkg)], check=True
    )
    (wheel,) = dist.glob("tiny_6l-1.0.0-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tiny_6l/model/model.safetensors" in names and not any(n.startswith("tinysent/") for n in names)
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    def tinysent(*args):
        return subprocess.run(
            [sys.executable, "-m", "tinysent", *args], env=env, capture_output=True, text=True, cwd=tmp_path
        )

    rows = [json.loads(x) for x in tinysent("models", "--json").stdout.splitlines()]
    assert [r["name"] for r in rows] == ["shipped", "tiny-6l"] and rows[1]["package"] == "tiny-6l"
    assert rows[1]["speed"] == 0.41 and rows[1]["parameters"] > 0 and rows[1]["path"].startswith(str(site))
    r = tinysent("predict", "--model", "accurate", "i love this great day")
    assert r.returncode == 0 and json.loads(r.stdout)["label"] == "positive"
    r = tinysent(
        "report", "--model", "accurate", "--model", "shipped", "--test-data", str(test_file), "--out", "rep"
    )
    assert r.returncode == 0, r.stderr
    systems = [x["system"] for x in json.loads((tmp_path / "rep" / "report.json").read_text())["systems"]]
    assert "tinysent: tiny-6l" in systems and "tinysent: shipped tinybert-4l" in systems
    table = tinysent("models").stdout
    assert "0.41x" in table and "0.731" in table and "no accurate model" not in table
    # a model file changed after install: its package pin no longer matches, it is left out
    installed = site / "tiny_6l" / "model" / "tinysent.json"
    installed.write_text(installed.read_text().replace('"accurate"', '"fast"'))
    r = tinysent("models")
    assert "tiny-6l" not in r.stdout and "left out" in r.stderr and "reinstall" in r.stderr
    # one line for what the user can fix
    for args, message in (
        (["--name", "Tiny_6L", "--out", str(tmp_path / "x")], "lowercase letters"),
        (["--name", "tiny-6l", "--out", str(pkg)], "--overwrite"),
        (
            ["--name", "tiny-6l", "--out", str(tmp_path / "y"), "--version", '1"; evil = "x'],
            "a version is like",
        ),
    ):
        assert main(["package", "--model", str(model), *args]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    again = ["package", "--model", str(model), "--name", "tiny-6l", "--out", str(pkg), "--overwrite"]
    assert main(again) == 0


def test_package_writes_the_tier_on_the_packaged_copy_and_refuses_a_model_without_one(
    trained_model, tmp_path, capsys
):
    from tinysent.apps.cli import main
    from tinysent.apps.package import readme
    from tinysent.core.folder import ModelFolder

    model = tmp_path / "m"
    shutil.copytree(trained_model, model)
    meta = ModelMeta.load(model)
    meta.card = {"scores": {"tweeteval_test_macro_recall": 0.72}}  # scores, no tier
    meta.save(model)
    before = (model / "tinysent.json").read_bytes()
    out = tmp_path / "pkg"
    assert main(["package", "--model", str(model), "--name", "tiny-6l", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "names no tier" in err and "--tier" in err and len(err.splitlines()) == 1
    assert not out.exists()
    args = ["package", "--model", str(model), "--name", "tiny-6l", "--out", str(out), "--tier", "accurate"]
    assert main(args) == 0
    packaged = out / "src" / "tiny_6l" / "model"
    card = ModelMeta.load(packaged).card
    assert card == {"scores": {"tweeteval_test_macro_recall": 0.72}, "tier": "accurate"}
    folder = ModelFolder(packaged)  # its files still as pinned after the card changed
    assert "(accurate tier)" in (out / "pyproject.toml").read_text()
    assert readme("tiny-6l", folder, "1.0.0") == (out / "README.md").read_text()
    assert "accurate tier" in (out / "README.md").read_text()
    assert (model / "tinysent.json").read_bytes() == before  # the model folder itself untouched
    with pytest.raises(SystemExit):
        main([*args[:-1], "slow"])
    assert "invalid choice" in capsys.readouterr().err


def test_package_notes_follow_the_cards_numbers_in_the_readme_and_a_missing_notes_file_is_one_line(
    trained_model, tmp_path, capsys
):
    from tinysent.apps.cli import main

    model = tmp_path / "m"
    shutil.copytree(trained_model, model)
    out = tmp_path / "pkg"
    base = ["package", "--model", str(model), "--name", "tiny-6l", "--out", str(out), "--tier", "accurate"]
    assert main([*base, "--notes", str(tmp_path / "absent.md")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--notes" in err and "absent.md" in err and len(err.splitlines()) == 1, err
    assert not out.exists()
    notes = tmp_path / "card.md"
    notes.write_text("## How it was made\n\nDistilled from a teacher; limits: English tweets.\n")
    assert main([*base, "--notes", str(notes)]) == 0
    text = (out / "README.md").read_text()
    assert text.rstrip().endswith("limits: English tweets.")
    assert text.index("Made by `tinysent package`") < text.index("## How it was made")


@pytest.mark.parametrize(
    "name, needle",
    [
        ("tinysent", "in place of tinysent itself"),
        ("accurate", "could never be chosen by its name"),
        ("shipped", "could never be chosen by its name"),
        ("fast", "could never be chosen by its name"),
        ("a" * 300, "at most 100 characters"),
    ],
)
def test_package_refuses_names_that_shadow_tinysent_or_its_chosen_models(
    trained_model, tmp_path, capsys, name, needle
):
    from tinysent.apps.cli import main

    out = tmp_path / "pkg"
    args = ["package", "--model", str(trained_model), "--name", name, "--out", str(out), "--tier", "fast"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and len(err) < 400
    assert list(tmp_path.iterdir()) == []  # no package, no OUT.writing
