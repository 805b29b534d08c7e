"""Recipes (apps/recipe/) and the choices they are made of (tinysent soup / select / calibrate --out):
a finished step is skipped while its inputs are unchanged, a changed step starts over, an interrupted
one continues, a failed one stops the run with one line and keeps what finished; the choices score
every candidate on one validation split and write what they chose and why."""

import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_soup import perturbed_copy

# a step that appends its name to log.txt, then copies its input to its output with a suffix
STEP = (
    "python -c \"import sys,pathlib; a,b,s=sys.argv[1:]; open('log.txt','a').write(s+chr(10)); "
    'pathlib.Path(b).write_text(pathlib.Path(a).read_text()+s)"'
)


def toy_recipe(tmp_path: Path, fail_at: str | None = None) -> Path:
    """A three-step recipe over ``${vars.data}`` (a file outside the work folder): one -> two -> three."""
    fail = 'python -c "import sys; sys.exit(3)"'
    steps = []
    for name, src in (("one", "${vars.data}"), ("two", "one.txt"), ("three", "two.txt")):
        script = fail if name == fail_at else f"{STEP} {src} {name}.txt {name}"
        steps.append(
            f"  - name: {name}\n    help: step {name}\n    script:\n      - >-\n        {script}\n"
            f"    deps: ['{src}']\n    outputs: [{name}.txt]\n"
        )
    text = textwrap.dedent(
        """\
        title: toy
        paths: [data]
        vars:
          data: input.txt
          n: 1
        workflows:
          all: [one, two, three]
        commands:
        """
    ) + "".join(steps)
    f = tmp_path / "toy.yml"
    f.write_text(text)
    return f


def ran(work: Path) -> list[str]:
    log = work / "log.txt"
    return log.read_text().split() if log.exists() else []


@pytest.fixture
def toy(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "input.txt").write_text("x")
    return toy_recipe(tmp_path), tmp_path / "work"


def test_a_second_run_skips_every_step_and_a_changed_input_reruns_what_depends_on_it(toy):
    from tinysent.apps.recipe import run, status

    recipe, work = toy
    states = run(str(recipe), work, log=lambda m: None)
    assert [s["state"] for s in states] == ["ran"] * 3 and ran(work) == ["one", "two", "three"]
    assert (work / "three.txt").read_text() == "xonetwothree"
    timings = [json.loads(x) for x in (work / "timings.jsonl").read_text().splitlines()]
    assert [t["step"] for t in timings] == ["one", "two", "three"] and all("cpu" in t for t in timings)
    # one attempt: its time is the attempt's (each rounded to 0.1 s, so they may differ by that much)
    assert all(t["attempts"] == 1 and t["seconds"] + 0.1 >= t["last_attempt_seconds"] for t in timings)
    assert not list(work.glob(".clock-*"))
    assert [s["state"] for s in run(str(recipe), work, log=lambda m: None)] == ["skipped"] * 3
    assert ran(work) == ["one", "two", "three"]
    # the input file is named relative to where the command started; the steps run in the work folder
    Path("input.txt").write_text("y")
    # the steps after a changed one wait for it: they rerun only if what it writes changes
    assert [r["state"] for r in status(str(recipe), work)] == ["changed", "waiting", "waiting"]
    said = []
    run(str(recipe), work, log=said.append)
    assert ran(work)[3:] == ["one", "two", "three"] and (work / "three.txt").read_text() == "yonetwothree"
    # each step says, as it starts, what it is expected to take: its last run in this folder
    starts = [m for m in said if m.startswith("[one]") and "expected" in m]
    assert starts and "its last run in this folder" in starts[0], said


def test_a_step_never_run_here_is_expected_to_take_its_recorded_time(tmp_path, monkeypatch):
    from tinysent.apps.recipe import clock

    one = {"seconds": 5400.0, "cpu": "AMD EPYC", "cores": 2, "gpu": None, "date": "2026-12-06"}
    table = {"toy": {"one": one}}
    monkeypatch.setattr(clock, "recorded_timings", lambda recipe: table.get(Path(recipe).stem, {}))
    assert clock.expected("toy.yml", tmp_path, "one") == "expected ~1 h 30 min: 2-core AMD EPYC, 2026-12-06"
    assert clock.expected("toy.yml", tmp_path, "two") == "no recorded time for this step yet"
    assert [clock.duration(s) for s in (40, 540, 16100)] == ["~40 s", "~9 min", "~4 h 28 min"]


def test_until_stops_after_the_step_and_status_says_what_is_left(toy):
    from tinysent.apps.recipe import run, status

    recipe, work = toy
    run(str(recipe), work, until="two", log=lambda m: None)
    assert ran(work) == ["one", "two"]
    assert [r["state"] for r in status(str(recipe), work)] == ["done", "done", "unfinished"]
    (work / "two.txt").unlink()
    assert [r["state"] for r in status(str(recipe), work)] == ["done", "changed", "waiting"]
    # an interrupted step's partial output is there, but the step after it still waits for that step
    work2 = work.with_name("work-b")
    run(str(recipe), work2, until="one", log=lambda m: None)
    (work2 / "two.txt").write_text("partial")
    assert [r["state"] for r in status(str(recipe), work2)] == ["done", "unfinished", "waiting"]


def test_a_data_input_no_step_makes_is_named_by_status_and_run_refuses_before_any_step(toy, capsys):
    """A wrong ``--set data=`` is not a wait for an earlier step: status names the path, and run says
    so in one line before it starts anything (no step runs)."""
    from tinysent.apps.cli import main
    from tinysent.apps.recipe import run, status

    recipe, work = toy
    rows = status(str(recipe), work, ["data=nowhere.txt"])
    assert [r["state"] for r in rows] == ["missing", "waiting", "waiting"]
    # named as the run will look for it: relative to where the command started
    assert rows[0]["missing"] == str(Path("nowhere.txt").resolve()) and "missing" not in rows[1]
    assert main(["recipe", "status", str(recipe), "--work", str(work), "--set", "data=nowhere.txt"]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.split()[:3] == ["one", "missing", rows[0]["missing"]] and "--set data=" in line
    assert not work.exists()  # a status makes nothing, not even the work folder it was told of
    assert main(["recipe", "run", str(recipe), "--work", str(work), "--set", "data=nowhere.txt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    note = "is not there and no step makes it (is --set data=... right?)"
    assert err == [f"error: step 'one': {rows[0]['missing']} {note}"]
    assert not work.exists()  # refused before the work folder (project.yml, .recipe) was made
    # the right data: the same folder runs, and status no longer speaks of anything missing
    assert [s["state"] for s in run(str(recipe), work, log=lambda m: None)] == ["ran"] * 3
    assert [r["state"] for r in status(str(recipe), work)] == ["done"] * 3


def test_a_failed_step_stops_the_run_with_one_line_and_the_rerun_continues_from_it(toy, capsys):
    from tinysent.apps.cli import main

    recipe, work = toy
    broken = toy_recipe(recipe.parent, fail_at="two")
    assert main(["recipe", "run", str(broken), "--work", str(work)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: step 'two' failed (exit 3)") and "again" in err
    assert ran(work) == ["one"]
    fixed = toy_recipe(recipe.parent)  # the same file, mended
    assert main(["recipe", "run", str(fixed), "--work", str(work)]) == 0
    assert ran(work) == ["one", "two", "three"]  # one was not run again


def test_a_step_that_finishes_without_its_declared_output_stops_the_next_with_one_line(toy, capsys):
    from tinysent.apps.cli import main

    recipe, work = toy
    text = recipe.read_text().replace(f"{STEP} ${{vars.data}} one.txt one", 'python -c "pass"')
    assert text != recipe.read_text()
    recipe.write_text(text)
    assert main(["recipe", "run", str(recipe), "--work", str(work)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        "error: step 'two': its input one.txt is not there, though the step that makes it finished: "
        "that step's command does not write its declared output (see the recipe file)"
    )
    assert ran(work) == []


def test_an_interrupted_step_keeps_its_partial_output_a_changed_one_starts_over(toy):
    """A step with no finished record resumes in what it left (training steps pass --resume); a step
    whose inputs changed since it finished loses its outputs first, so --resume cannot continue it."""
    from tinysent.apps.recipe import run
    from tinysent.apps.recipe.runner import _remove_outputs

    recipe, work = toy
    run(str(recipe), work, until="one", log=lambda m: None)
    (work / "two.txt").write_text("partial")  # as an interrupted step two would leave it
    seen = {}

    def spy(work_, step):
        seen[step["name"]] = (work_ / f"{step['name']}.txt").exists()
        _remove_outputs(work_, step)

    import tinysent.apps.recipe.runner as R

    R_remove, R._remove_outputs = R._remove_outputs, spy
    try:
        run(str(recipe), work, log=lambda m: None)
        assert "two" not in seen  # unfinished: not cleared
        Path("input.txt").write_text("z")
        run(str(recipe), work, log=lambda m: None)
        # changed (one's input, then two's and three's): each cleared before it reran
        assert seen == {"one": True, "two": True, "three": True}
    finally:
        R._remove_outputs = R_remove
    assert (work / "three.txt").read_text() == "zonetwothree"


def test_the_work_folder_holds_one_recipe_and_bad_settings_are_one_line(toy, capsys):
    from tinysent.apps.cli import main

    recipe, work = toy
    assert main(["recipe", "run", str(recipe), "--work", str(work), "--until", "one"]) == 0
    capsys.readouterr()
    other = recipe.with_name("other.yml")
    shutil.copy(recipe, other)
    for args, message in (
        (["recipe", "run", str(other), "--work", str(work)], "holds the recipe 'toy'"),
        (["recipe", "run", str(recipe), "--work", str(work), "--set", "nope=1"], "KEY one of data, n"),
        (["recipe", "run", str(recipe), "--work", str(work), "--set", "n=x"], "expected a int"),
        (["recipe", "run", str(recipe), "--work", str(work), "--until", "four"], "the steps are one"),
        (["recipe", "run", "no-such-recipe", "--work", str(work)], "the recipes are"),
        (["recipe", "status", str(recipe), "--work", str(recipe.parent)], "holds no recipe"),
    ):
        assert main(args) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    (recipe.parent / "elsewhere.txt").write_text("q")
    assert main(["recipe", "run", str(recipe), "--work", str(work), "--set", "data=elsewhere.txt"]) == 0
    assert (work / "three.txt").read_text() == "qonetwothree"


def test_reuse_takes_a_step_another_work_folder_finished_with_the_same_script_and_inputs(toy, capsys):
    """Another recipe that starts with the same steps takes them from the first one's work folder (its
    outputs copied, its timings named) and runs the steps that differ; a changed input, a changed
    script or an output changed since it was recorded is not reused."""
    from tinysent.apps.cli import main
    from tinysent.apps.recipe import run

    recipe, work = toy
    run(str(recipe), work, log=lambda m: None)
    text = recipe.read_text().replace("title: toy", "title: toy2")
    text = text.replace("two.txt three.txt three", "two.txt three.txt 3b")
    other = recipe.with_name("toy2.yml")
    other.write_text(text)
    work2 = recipe.parent / "work2"
    assert main(["recipe", "status", str(other), "--work", str(work2), "--reuse", str(work)]) == 0
    assert capsys.readouterr().out.split()[:2] == ["one", "reusable"]
    assert main(["recipe", "run", str(other), "--work", str(work2), "--reuse", str(work)]) == 0
    states = [s["state"] for s in json.loads(capsys.readouterr().out)["steps"]]
    assert states == ["reused", "reused", "ran"] and ran(work2) == ["3b"]
    assert (work2 / "three.txt").read_text() == "xonetwo3b"
    rows = [json.loads(x) for x in (work2 / "timings.jsonl").read_text().splitlines()]
    assert rows[0]["reused_from"] == str(work.resolve()) and "seconds" in rows[0]["ran_there"]
    assert "reused_from" not in rows[2]
    # the results/ table: a reused step's time is the time it ran there, named; the total adds them up
    (work2 / ".clock-three.json").write_text('{"seconds": 7200.0, "attempts": 2}')  # moot: three finished
    assert main(["recipe", "status", str(other), "--work", str(work2), "--markdown"]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert table[0].startswith("| step | state | wall time | attempts | machine")
    assert table[2].startswith("| one | done | 0:00:0") and f"(ran in {work.resolve()}; copied in" in table[2]
    assert table[4].startswith("| three | done | 0:00:0") and table[-1].startswith("| total | | 0:00:0")
    # three's row gone, its clock file there: its time so far is shown
    (work2 / "timings.jsonl").write_text("\n".join(json.dumps(r) for r in rows[:2]) + "\n")
    main(["recipe", "status", str(other), "--work", str(work2), "--markdown"])
    assert "| three | done | 2:00:00 so far | 2 |" in capsys.readouterr().out
    main(["recipe", "status", str(other), "--work", str(work2)])
    assert "(7200 s so far, 2 attempt(s))" in capsys.readouterr().out
    (work2 / ".clock-three.json").unlink()
    assert [s["state"] for s in run(str(other), work2, log=lambda m: None, reuse=[work])] == ["skipped"] * 3
    # an input that changed since the other folder ran: the step runs here
    work3 = recipe.parent / "work3"
    Path("input.txt").write_text("y")
    states = [s["state"] for s in run(str(other), work3, log=lambda m: None, reuse=[work])]
    assert states == ["ran", "ran", "ran"] and ran(work3) == ["one", "two", "3b"]
    # an output changed by hand in the other folder since its lock was written: not taken
    Path("input.txt").write_text("x")
    (work / "one.txt").write_text("tampered")
    work4 = recipe.parent / "work4"
    assert [s["state"] for s in run(str(other), work4, log=lambda m: None, reuse=[work])][0] == "ran"
    for bad, message in ((recipe.parent, "not a recipe's work folder"), (work2, "the work folder itself")):
        for action in ("run", "status"):
            assert main(["recipe", action, str(other), "--work", str(work2), "--reuse", str(bad)]) == 2
            assert message in capsys.readouterr().err


def test_a_steps_time_adds_up_over_its_attempts_and_a_pause_counts_two_ticks_at_most(tmp_path):
    """A step interrupted and resumed (a later session) reports the running time of all its attempts;
    the clock file goes once it finished; a stopped process (SIGSTOP) is not billed for the pause."""
    import time

    from tinysent.apps.recipe import StepClock

    with StepClock(tmp_path, "s", tick=0.05) as c:
        time.sleep(0.3)
    first = c.seconds
    assert 0.25 <= first < 1.0 and json.loads((tmp_path / ".clock-s.json").read_text())["attempts"] == 1
    with StepClock(tmp_path, "s", tick=0.05) as c:  # the resumed attempt starts from the first's time
        time.sleep(0.2)
        c._last -= 100.0  # as if the process had been stopped for 100 s between two ticks
        time.sleep(0.15)
    assert c.attempts == 2 and first + 0.3 <= c.seconds < first + 1.0
    c.done()
    assert not (tmp_path / ".clock-s.json").exists()


def test_one_run_per_work_folder(toy):
    from tinysent.apps.recipe import run
    from tinysent.core.errors import TinysentError
    from tinysent.data.outputs import folder_lock

    recipe, work = toy
    work.mkdir()
    with folder_lock(work), pytest.raises(TinysentError, match="another run is writing") as e:
        run(str(recipe), work, log=lambda m: None)
    assert "name another --work" in str(e.value)


def test_a_work_folder_that_cannot_be_made_is_one_line(toy, capsys):
    from tinysent.apps.cli import main

    recipe, work = toy
    (recipe.parent / "afile").write_text("x")
    afile = recipe.parent / "afile"
    for where, needle in ((afile, "is a file"), (afile / "w", "cannot make")):
        assert main(["recipe", "run", str(recipe), "--work", str(where)]) == 2
        err = capsys.readouterr().err.strip()
        assert needle in err and "Errno" not in err and len(err.splitlines()) == 1, err


def test_the_shipped_recipes_are_valid_and_name_only_tinysent_commands():
    from tinysent.apps.recipe import read_recipe, recipe_names

    assert {"smoke", "sentiment"} <= set(recipe_names())
    for name in recipe_names():
        raw = read_recipe(name)
        assert raw["paths"] and set(raw["paths"]) <= set(raw["vars"]) and raw.get("description")
        for c in raw["commands"]:
            assert all(line.split()[0] == "tinysent" for line in c["script"]), c["name"]
            assert c["outputs"], f"{name}/{c['name']}: a step without outputs would always rerun"
            trains = any(w in line for line in c["script"] for w in (" train ", " distill "))
            assert not trains or all("--resume" in line for line in c["script"]), c["name"]
    # the smoke recipe runs the sentiment recipe's chain: the same commands, ending the same way
    kinds = {
        n: [c["script"][0].split()[1] for c in read_recipe(n)["commands"]] for n in ("smoke", "sentiment")
    }
    assert set(kinds["smoke"]) == set(kinds["sentiment"])
    assert (
        kinds["smoke"][-5:] == kinds["sentiment"][-5:] == ["soup", "select", "calibrate", "pack", "evaluate"]
    )


def test_the_accurate_recipe_starts_with_the_sentiment_recipes_teachers_to_the_letter(tmp_path):
    """So `recipe run accurate --reuse SENTIMENT_WORK` takes them instead of training them again."""
    from tinysent.apps.recipe import prepare_work

    data = ["--set", "data=" + str(tmp_path)]
    scripts = {}
    for name in ("sentiment", "accurate"):
        config, _ = prepare_work(name, tmp_path / name, data[1:])
        scripts[name] = {c["name"]: (c["script"], c.get("deps")) for c in config["commands"]}
    for step in ("teacher-minilm", "teacher-mpnet"):
        assert scripts["accurate"][step] == scripts["sentiment"][step]
    student = " ".join(scripts["accurate"]["student-6l"][0])
    assert "--student teacher-minilm" in student and "--teacher teacher-mpnet" in student
    # the student reads the shipped student's data, so the teacher's cached outputs serve both
    same = " ".join(scripts["sentiment"]["student"][0])
    for flag in ("--max-train", "--augment", "--unlabelled", "--emoticon-targets", "--max-val"):
        assert [w for w in student.split("--")[1:] if w.startswith(flag[2:])] == [
            w for w in same.split("--")[1:] if w.startswith(flag[2:])
        ], flag


@pytest.fixture(scope="module")
def two_models(trained_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("choose")
    return perturbed_copy(trained_model, root / "a", 0.002, 1), perturbed_copy(
        trained_model, root / "b", 0.5, 2
    )


def test_select_copies_the_best_on_validation_with_every_score(two_models, tmp_path, capsys):
    from tinysent.apps.cli import main
    from tinysent.runtime.predictor import load

    a, b = two_models
    (a / "checkpoint").mkdir(exist_ok=True)
    (a / "teacher_logits-x.npy").write_bytes(b"")
    out = tmp_path / "chosen"
    assert main(["select", str(b), str(a), "--out", str(out)]) == 0
    choice = json.loads((out / "choice.json").read_text())
    scores = {k: v["val_score"] for k, v in choice["candidates"].items()}
    assert choice["chosen"] == str(a) and scores[str(a)] > scores[str(b)]
    assert not (out / "checkpoint").exists() and not list(out.glob("teacher_*"))
    load(out).predict("fine")  # a model folder, its files pinned as before
    assert main(["select", str(b), str(a), "--out", str(out)]) == 2  # not empty
    assert "--overwrite" in capsys.readouterr().err
    # models validated on other rows are not compared
    c = tmp_path / "c"
    shutil.copytree(a, c)
    meta = json.loads((c / "tinysent.json").read_text())
    meta["config"]["seed"] = 7
    (c / "tinysent.json").write_text(json.dumps(meta))
    assert main(["select", str(a), str(c), "--out", str(tmp_path / "x")]) == 2
    assert "validated on different rows (seed" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_a_default_validation_share_and_the_same_share_given_are_one_split(trained_model, tmp_path):
    """The shipped model's config says val_fraction 0.01, a recipe's run none (the default, 0.01): one
    split, so `select` compares them (the sentiment recipe's ship rule); another share is another split,
    and with --val-data the share plays no part."""
    from tinysent.core.meta import ModelMeta
    from tinysent.train.validation import validation_key

    def with_config(name: str, **changes) -> Path:
        d = tmp_path / name
        shutil.copytree(trained_model, d)
        meta = json.loads((d / "tinysent.json").read_text())
        meta["config"].update(changes)
        (d / "tinysent.json").write_text(json.dumps(meta))
        return d

    assert ModelMeta.load(trained_model).config["train_data"].endswith(".csv")  # a Sentiment140 file
    default = validation_key(with_config("none", val_fraction=None))
    assert default["val_fraction"] == 0.01  # Sentiment140's default share
    assert validation_key(with_config("given", val_fraction=0.01)) == default
    assert validation_key(with_config("other", val_fraction=0.2))["val_fraction"] == 0.2
    v = tmp_path / "val.csv"
    v.write_text("text,label\nok,positive\n")
    assert validation_key(with_config("vd", val_data=str(v), val_fraction=0.3))["val_fraction"] is None


def test_soup_writes_a_model_and_its_choice_and_calibrate_out_leaves_the_model(two_models, tmp_path):
    from tinysent.apps.cli import main
    from tinysent.core.meta import ModelMeta

    a, b = two_models
    soup = tmp_path / "soup"
    assert main(["soup", str(a), str(b), "--out", str(soup)]) == 0
    choice = json.loads((soup / "choice.json").read_text())
    assert choice["chosen"][0] == str(a) and len(choice["tried"]) >= 3  # each alone, then the average
    assert ModelMeta.load(soup).method == "soup"
    before = (soup / "tinysent.json").read_bytes()
    cal = tmp_path / "cal"
    assert main(["calibrate", "--model", str(soup), "--out", str(cal)]) == 0
    assert (soup / "tinysent.json").read_bytes() == before
    assert ModelMeta.load(cal).metrics["calibration"]["temperature"] > 0


def test_python_dash_m_tinysent_is_the_command():
    import subprocess

    r = subprocess.run([sys.executable, "-m", "tinysent", "recipe", "list"], capture_output=True, text=True)
    assert r.returncode == 0 and "smoke" in r.stdout and "sentiment" in r.stdout
    heads = [x for x in r.stdout.splitlines() if not x.startswith(" ")]  # "name: title", once each
    assert "sentiment: the shipped 3-class model, from the base weights and the data only" in heads
    # each recipe's recorded time from nothing, with its machine and date (recipes/timings.json)
    times = [x.strip() for x in r.stdout.splitlines() if x.strip().startswith("time from nothing:")]
    assert len(times) == len(heads) and any("2-core AMD EPYC, 2026-12-06" in t for t in times), times
    assert not [h for h in heads if h.startswith(f"{h.split(':')[0]}: {h.split(':')[0]}:")]


def test_a_set_value_with_spaces_stays_one_argument_and_a_dollar_is_one_line(toy, capsys):
    from tinysent.apps.cli import main

    recipe, work = toy
    spaced = recipe.parent / "my data"
    spaced.mkdir()
    (spaced / "in put.txt").write_text("s")
    assert main(["recipe", "run", str(recipe), "--work", str(work), "--set", "data=my data/in put.txt"]) == 0
    assert (work / "three.txt").read_text() == "sonetwothree" and ran(work) == ["one", "two", "three"]
    capsys.readouterr()
    for value in ("a$b", "$", '{"a":1}$', "${x}", "${vars.n}"):
        for cmd in ("run", "status"):
            assert main(["recipe", cmd, str(recipe), "--work", str(work), "--set", f"data={value}"]) == 2
            err = capsys.readouterr().err.strip()
            assert "cannot hold '$'" in err and len(err.splitlines()) == 1, err


def test_sigterm_stops_the_running_step_and_releases_the_work_folder_after_it(tmp_path, monkeypatch):
    """recipe run stopped by SIGTERM stops its step's process group and waits for it: no step keeps
    running after the run's lock is released (a rerun would run it twice at once)."""
    import signal
    import subprocess
    import time

    monkeypatch.chdir(tmp_path)
    slow = (
        "python -c \"import os,time,pathlib; pathlib.Path('pid.txt').write_text(str(os.getpid())); "
        'time.sleep(600)"'
    )
    (tmp_path / "slow.yml").write_text(
        "title: slow\nvars: {}\nworkflows:\n  all: [wait]\ncommands:\n  - name: wait\n    script:\n"
        f"      - >-\n        {slow}\n    outputs: [never.txt]\n"
    )
    work = tmp_path / "work"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tinysent", "recipe", "run", "slow.yml", "--work", str(work)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 60
    while not (work / "pid.txt").exists():
        assert proc.poll() is None and time.time() < deadline, proc.stdout.read()
        time.sleep(0.1)
    time.sleep(0.3)
    step = int((work / "pid.txt").read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 143
    assert not Path(f"/proc/{step}").exists(), "the step outlived the run"
    assert not (tmp_path / ".work.lock").exists()


def test_a_folder_output_changed_by_name_boundary_or_an_empty_file_is_not_done(tmp_path, monkeypatch):
    """A step's folder output is fingerprinted by each file's path, size and content: renaming a
    file, moving bytes from one file to the next and adding an empty file each make the step
    changed (weasel's folder checksum hashed the bytes run together and missed all three), and a
    work folder from before, whose lock holds weasel's checksums, keeps its finished steps."""
    from weasel.cli.run import update_lockfile

    from tinysent.apps.recipe import run, status
    from tinysent.apps.recipe.files import prepare_work
    from tinysent.apps.recipe.lock import SCHEME_FILE

    monkeypatch.chdir(tmp_path)
    make = (
        "python -c \"import pathlib; d=pathlib.Path('out'); d.mkdir(); (d/'a.txt').write_text('ab'); "
        "(d/'b.txt').write_text('c')\""
    )
    recipe = tmp_path / "dir.yml"
    recipe.write_text(
        "title: dir\nvars: {}\nworkflows:\n  all: [make]\ncommands:\n  - name: make\n    script:\n"
        f"      - >-\n        {make}\n    outputs: [out]\n"
    )
    work = tmp_path / "work"
    run(str(recipe), work, log=lambda m: None)
    state = lambda: status(str(recipe), work)[0]["state"]  # noqa: E731
    assert state() == "done" and (work / SCHEME_FILE).exists()
    out = work / "out"
    for tamper, undo in (
        (lambda: (out / "a.txt").rename(out / "z.txt"), lambda: (out / "z.txt").rename(out / "a.txt")),
        (
            lambda: ((out / "a.txt").write_text("a"), (out / "b.txt").write_text("bc")),
            lambda: ((out / "a.txt").write_text("ab"), (out / "b.txt").write_text("c")),
        ),
        (lambda: (out / "empty.txt").touch(), lambda: (out / "empty.txt").unlink()),
    ):
        tamper()
        assert state() == "changed"
        undo()
        assert state() == "done"
    # a work folder from an earlier tinysent: its lock was written with weasel's checksums
    (work / SCHEME_FILE).unlink()
    config, _ = prepare_work(str(recipe), work, [])
    update_lockfile(work, config["commands"][0])  # weasel's own checksums, no marker
    assert state() == "done"  # read as it was written
    run(str(recipe), work, log=lambda m: None)  # carried over: not run again, entry rewritten
    assert (work / SCHEME_FILE).exists() and state() == "done"
    (out / "empty.txt").touch()
    assert state() == "changed"


def test_select_pairs_a_relative_and_an_absolute_path_of_the_same_data(
    tiny_base, train_file, tmp_path, monkeypatch
):
    """A model trained with --train-data given relative and one given absolute, selected from another
    folder: one task, one split (its config records the data whole; it compared the strings)."""
    from tinysent.apps.cli import main

    from .conftest import tiny_train_args

    monkeypatch.chdir(train_file.parent)
    for name, data in (("rel", train_file.name), ("abs", str(train_file))):
        assert main(["train", *tiny_train_args(tiny_base, data, tmp_path / name, epochs=1), "--quiet"]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["select", "rel", "abs", "--out", "chosen"]) == 0
    assert json.loads((tmp_path / "rel" / "tinysent.json").read_text())["config"]["train_data"] == str(
        train_file
    )
