"""The wheel and sdist a user would get from `python -m build`: every data file inside, and the
README's main job running from the installed wheel (not from this checkout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.wheel


def _tracked(under: str) -> list[str]:
    found = subprocess.run(["git", "ls-files", under], capture_output=True, text=True, cwd=REPO)
    if found.returncode != 0:
        pytest.skip("not a git checkout: the tracked files are unknown")
    return found.stdout.split()


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """Build from a copy of the tracked files (the checkout itself gets no build/ folder)."""
    src = tmp_path_factory.mktemp("src")
    for name in _tracked("."):
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    dist = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist),
                        str(src)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return {"wheel": next(dist.glob("scai-*.whl")), "sdist": next(dist.glob("scai-*.tar.gz"))}


def test_the_wheel_and_the_sdist_carry_every_data_file(built):
    tracked = _tracked("src/scai")
    data = [f.removeprefix("src/") for f in tracked if not f.endswith(".py")]
    assert any(d.endswith("calibration/items.jsonl") for d in data)  # prompts, personas, sets
    in_wheel = set(zipfile.ZipFile(built["wheel"]).namelist())
    assert [d for d in data if d not in in_wheel] == []
    with tarfile.open(built["sdist"]) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert [f for f in [*tracked, "README.md", "pyproject.toml"] if f not in in_sdist] == []


@pytest.mark.timeout(900)  # the job itself: 36 s on 2 idle cores
def test_the_readme_main_job_runs_from_the_installed_wheel(built, tmp_path):
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                        "--target", str(site), str(built["wheel"])],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    # A user's folder: the examples beside them, not this checkout's src/ on the path.
    work = tmp_path / "work"
    shutil.copytree(REPO / "examples", work / "examples")
    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import scai; print(scai.__file__)"],
                           capture_output=True, text=True, env=env, cwd=work)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr
    job = subprocess.run([sys.executable, "-m", "scai.cli", "simulate",
                          "examples/contract/ultimatum.yaml"], capture_output=True, text=True,
                         env=env, cwd=work, timeout=900, stdin=subprocess.DEVNULL)
    assert job.returncode == 0, job.stderr[-3000:]
    assert "learned constitution" in job.stdout
    plot = next(line for line in job.stdout.splitlines() if line.startswith("plot: "))
    assert (work / plot.removeprefix("plot: ").strip()).is_file()
