"""The documentation: the README as a front page, the pages under docs/ built into a
site with no broken link, the flag tables current, the README's Python snippet and the
tutorial notebook run as written on real data."""
import os
import re
import subprocess
import sys

import pytest

from draw import config

from .conftest import ROOT, run_script

README = os.path.join(ROOT, "README.md")
NOTEBOOK = os.path.join(ROOT, "notebooks", "tutorial.ipynb")


def _readme():
    with open(README, encoding="utf-8") as f:
        return f.read()


def test_readme_is_a_front_page():
    """At most about 250 lines; set-up, environment, training, sampling, pretrained
    weights and results come before anything else, and every docs page is linked."""
    text = _readme()
    lines = text.splitlines()
    assert len(lines) <= 250
    first = "\n".join(lines[:80])
    for needed in ("make demo", "make test", ". .venv/bin/activate", "train_mnist.py",
                   "train_omniglot.py", "sample.py", "evaluate.py", "pretrained",
                   "DRAW_DATA_SOURCE"):
        assert needed in first, needed
    assert "## Results" in text
    pages = sorted(f for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md")
                   and f not in ("index.md", "reference.md"))
    for page in pages:
        assert "(docs/%s)" % page in text, "README does not link docs/%s" % page
    for word in ("campaign", "issue", "design sketch"):
        assert word not in text.lower(), word


def test_docs_site_builds_without_broken_links(tmp_path):
    """``mkdocs build --strict``: a link to a missing page, anchor or file, a page left
    out of the navigation or a docstring the API reference cannot parse fails."""
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict",
                           "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (tmp_path / "site" / "training" / "index.html").exists()
    reference = (tmp_path / "site" / "reference" / "index.html").read_text()
    assert "AttentionWrite" in reference and "learning_rate" in reference


def test_flag_tables_are_current():
    proc = run_script(["docs/flag_tables.py", "--check"])
    assert proc.returncode == 0, proc.stderr


def test_readme_snippet_runs_as_written(tmp_path, data_dir):
    code = re.findall(r"```python\n(.*?)```", _readme(), re.S)[0]
    script = tmp_path / "snippet.py"
    script.write_text(code)
    proc = subprocess.run([sys.executable, str(script)], cwd=str(tmp_path),
                          env=dict(os.environ, DRAW_DATA_DIR=data_dir),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    bound = float(re.search(r"bound on 100 test images: ([\d.]+) nats", proc.stdout).group(1))
    assert 60 < bound < 120


def test_notebook_is_committed_without_outputs():
    import nbformat
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, cell.source[:60]


#: seconds a notebook cell may take before the test calls it a hang
NOTEBOOK_CELL_TIMEOUT = 900


def test_tutorial_notebook_runs(data_dir, source_dir, monkeypatch):
    """Every cell runs without an error. The per-cell limit is generous, so that on a
    machine busy with a training run the test fails only on a hang."""
    import nbclient
    import nbformat
    nb = nbformat.read(NOTEBOOK, as_version=4)
    # the kernel inherits the environment: the converted data, and the original files for
    # a dataset the notebook converts itself (cluttered MNIST)
    monkeypatch.setenv(config.DATA_DIR_ENV, data_dir)
    monkeypatch.setenv(config.SOURCE_ENV, source_dir)
    nbclient.NotebookClient(nb, timeout=NOTEBOOK_CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 5  # sampling (DRAW, ConvDRAW), generation, KL per step, glimpses
    text = "".join(o.get("text", "") for o in outputs)
    error = float(re.search(r"8 glimpses: ([\d.]+) % error on 500 test images", text).group(1))
    assert 0 <= error < 10
    assert "after 30 updates" in text


@pytest.mark.parametrize("page", sorted(p for p in os.listdir(os.path.join(ROOT, "docs"))
                                        if p.endswith(".md")))
def test_pages_have_no_project_history_words(page):
    with open(os.path.join(ROOT, "docs", page), encoding="utf-8") as f:
        text = f.read().lower()
    for word in ("campaign", "issue 1", "issue 3", "design sketch"):
        assert word not in text, (page, word)


def test_make_and_hand_run_commands_share_the_data_location():
    """make does not move the converted datasets away from where the tools look by
    default (draw.config.default_data_dir), and the front page says how to go offline."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        makefile = f.read()
    assert not re.search(r"^\s*export\s+DRAW_DATA_DIR", makefile, re.M)
    assert "DRAW_DATA_SOURCE" in _readme() and "~/.mxnet/datasets/draw" in _readme()


def test_make_assets_rebuilds_every_committed_figure():
    """`make assets` names every figure in assets/figures (as <weights>_<file>, or the
    file itself), so none is left behind when new weights land."""
    with open(os.path.join(ROOT, "Makefile")) as f:
        makefile = f.read().replace("\\\n", " ")
    variables = dict(re.findall(r"^(\w+) := (.*)$", makefile, re.M))
    rebuilt = {"%s_%s" % (model, name) for model in variables["ASSET_MODELS"].split()
               for name in variables["FIGURES_" + model].split()}
    rebuilt |= set(re.findall(r"\bassets/figures/([\w.]+)", makefile))  # copied by name
    assert rebuilt == set(os.listdir(os.path.join(ROOT, "assets", "figures")))
