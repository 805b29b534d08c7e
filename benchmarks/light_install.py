"""The predict-only install beside the full one, measured in one run: site-packages size, and wall
time (median of 5, after one warm-up run that fills the OS file cache) of `tinysent predict "x"` and
`import tinysent`. The predict-only install is the wheel of this checkout with no extras in a fresh
venv (scripts/check_light_install.py makes it); the full install is the interpreter running this
script (scripts/setup.sh: CPU torch and every extra).

    .venv/bin/python benchmarks/light_install.py [--package models/tinysent-6l]
writes benchmarks/results/light_install.json. With --package, the model package's wheel is then
installed into the predict-only venv (no dependencies: tinysent is there) and measured the same way:
what it adds to site-packages, and `tinysent predict --model accurate "x"` (or its own name).
"""

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(ROOT / "scripts"))
from _machine import write_result  # noqa: E402
from check_light_install import install_package, make_venv  # noqa: E402

# what `python -m venv` puts in every venv, whatever is installed after
VENV_TOOLS = ("pip", "setuptools", "pkg_resources", "_distutils_hack", "distutils-precedence.pth")


def site_packages(prefix: Path) -> Path:
    return next(prefix.glob("lib/python3*/site-packages"))


def mib(path: Path, skip=()) -> float:
    total = 0
    for p in path.iterdir():
        if p.name in skip or any(p.name.startswith(s + "-") and p.name.endswith(".dist-info") for s in skip):
            continue
        if p.is_file():
            total += p.stat().st_size
        else:
            total += sum(f.stat().st_size for f in p.rglob("*") if f.is_file() and not f.is_symlink())
    return round(total / 2**20, 1)


def wall(cmd: list, n: int = 5) -> dict:
    subprocess.run(cmd, check=True, capture_output=True)  # warm-up: the OS file cache
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return {"median_s": round(statistics.median(times), 3), "runs_s": [round(x, 3) for x in times]}


def with_package(light: Path, pkg: Path, work: Path) -> dict:
    """The model package installed into the predict-only venv: what it adds, and its cold start."""
    got = install_package(light, pkg, work)
    row, wheel = got["row"], got["wheel"]
    name = "accurate" if row["tier"] == "accurate" else got["name"]
    return {
        "package": got["name"],
        "wheel_mib": round(wheel.stat().st_size / 2**20, 1),
        "adds_site_packages_mib": round(got["added_bytes"] / 2**20, 1),
        "model_mib": round(row["size_bytes"] / 2**20, 1),
        f"predict_model_{name}_x": wall([light / "bin" / "tinysent", "predict", "--model", name, "x"]),
        "predict_x_after": wall([light / "bin" / "tinysent", "predict", "x"]),
    }


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", type=Path, default=None, help="a model package folder (models/NAME)")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "light_install.json")
    a = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tinysent-light-bench-"))
    light = make_venv(work / "venv").parent.parent
    full = Path(sys.prefix)
    doc = {}
    for name, prefix in (("predict_only", light), ("full", full)):
        sp = site_packages(prefix)
        torch = (
            subprocess.run([prefix / "bin" / "python", "-c", "import torch"], capture_output=True).returncode
            == 0
        )
        doc[name] = {
            "site_packages_mib": mib(sp),
            "site_packages_mib_without_venv_tools": mib(sp, VENV_TOOLS),
            "torch_importable": torch,
            "predict_x": wall([prefix / "bin" / "tinysent", "predict", "x"]),
            "import_tinysent": wall([prefix / "bin" / "python", "-c", "import tinysent"]),
            "python_startup": wall([prefix / "bin" / "python", "-c", "pass"]),
        }
    doc["predict_only"]["largest_packages_mib"] = dict(
        sorted(
            (
                (p.name, mib(p.parent, [x.name for x in p.parent.iterdir() if x != p]))
                for p in site_packages(light).iterdir()
                if p.is_dir() and not p.name.endswith(".dist-info")
            ),
            key=lambda kv: -kv[1],
        )[:8]
    )
    if a.package is not None:
        doc["model_package"] = with_package(light, a.package, work)
    doc["note"] = (
        "site_packages_mib counts everything in the venv's site-packages, including pip and setuptools that "
        "`python -m venv` installs before tinysent; the full install is scripts/setup.sh's .venv (CPU torch, "
        "every extra, dev and docs tools), not PyPI's CUDA build of torch"
    )
    write_result(a.out, "light_install", doc)
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
