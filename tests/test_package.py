"""The project as a user meets it: installed with pip into a fresh venv and
used from another directory, and the README's Python blocks run as
written."""

import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib

import pytest

from helpers import documentation, documentation_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FASHION = "/usr/share/datasets/fashion-mnist"


def readme_blocks(language):
  """The code blocks of the README and the docs pages, README first."""
  return re.findall(rf"^```{language}\n(.*?)^```", documentation(),
                    re.S | re.M)


def _run(args, cwd, env=None, timeout=600):
  environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  environment.update(TF_CPP_MIN_LOG_LEVEL="2", **(env or {}))
  return subprocess.run(args, cwd=cwd, env=environment, capture_output=True,
                        text=True, timeout=timeout)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
  """A fresh venv with `pip install .` of a copy of the repository. The
  dependencies are this environment's (a .pth file puts its site-packages
  on the new venv's path), so pip must find every requirement satisfied
  without the network (--no-index)."""
  where = tmp_path_factory.mktemp("package")
  source = where / "source"
  shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
      ".venv", ".git", "saved_models", "__pycache__", "*.egg-info", "build",
      ".pytest_cache"))
  venv = where / "venv"
  done = _run([sys.executable, "-m", "venv", str(venv)], where)
  assert done.returncode == 0, done.stderr
  python = venv / "bin" / "python"
  site = _run([str(python), "-c", "import sysconfig; print(sysconfig."
               "get_paths()['purelib'])"], where).stdout.strip()
  with open(os.path.join(site, "outer_environment.pth"), "w") as stream:
    stream.write(sysconfig.get_paths()["purelib"] + "\n")
  done = _run([str(python), "-m", "pip", "install", "--no-index",
               "--no-build-isolation", "--disable-pip-version-check",
               str(source)], where)
  assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
  elsewhere = where / "elsewhere"
  elsewhere.mkdir()
  return venv, elsewhere


def test_pip_install_gives_the_library_and_the_commands(installed):
  venv, elsewhere = installed
  python = str(venv / "bin" / "python")
  done = _run([python, "-c", "import maf_tf, trainers, configs; "
               "print(maf_tf.__version__, maf_tf.__file__)"], elsewhere)
  assert done.returncode == 0, done.stderr[-2000:]
  version, path = done.stdout.split()
  with open(os.path.join(ROOT, "pyproject.toml"), "rb") as stream:
    expected = tomllib.load(stream)["project"]["version"]
  assert version == expected and str(venv) in path  # not the repository
  done = _run([str(venv / "bin" / "maf-train"), "--dataset=svhn"], elsewhere)
  assert done.returncode == 1
  assert done.stderr.strip().splitlines()[-1].startswith(
      "train: error: unknown dataset 'svhn'")
  done = _run([str(venv / "bin" / "maf-evaluate"), "--model_dir=nothing"],
              elsewhere)
  assert done.returncode == 1
  assert "nothing holds no config.json" in done.stderr
  for command, args in (("maf-score", ["--data=x.csv"]), ("maf-sample", [])):
    done = _run([str(venv / "bin" / command), "--model_dir=nothing",
                 "--out=o.csv", *args], elsewhere)
    assert done.returncode == 1
    assert "nothing holds no" in done.stderr.strip().splitlines()[-1]


def test_a_command_refuses_another_projects_configs_package(installed):
  """`configs` is a top-level name other projects use too: one earlier on
  the path is refused in one line instead of being imported."""
  venv, elsewhere = installed
  other = elsewhere / "other_project" / "configs"
  other.mkdir(parents=True)
  (other / "__init__.py").write_text("raise SystemExit('imported!')\n")
  done = _run([str(venv / "bin" / "maf-train"), "--dataset=digits"],
              elsewhere, env={"PYTHONPATH": str(other.parent)})
  assert done.returncode == 1
  assert done.stderr.strip().splitlines() == [
      f"error: the package 'configs' on the Python path ({other}) is not "
      "maf-tf's; remove it from PYTHONPATH (or run from elsewhere) so that "
      "maf-tf's loads"]
  # From Python, importing the package does nothing (TensorFlow loads
  # quietly only when a command starts).
  done = _run([str(venv / "bin" / "python"), "-c", "import sys, trainers; "
               "print('tensorflow' in sys.modules)"], elsewhere)
  assert done.returncode == 0 and done.stdout.strip() == "False"


def test_the_readme_example_runs_from_another_directory(installed):
  venv, elsewhere = installed
  example = readme_blocks("python")[0]
  assert "flow = MAF(" in example  # the "Python example" block
  script = elsewhere / "example.py"
  script.write_text(example + "\nprint('log_p', log_p.shape, "
                    "'samples', samples.shape)\n")
  done = _run([str(venv / "bin" / "python"), str(script)], elsewhere)
  assert done.returncode == 0, done.stderr[-3000:]
  assert done.stdout.strip().splitlines()[-1] == "log_p (5,) samples (1000, 2)"


def test_every_readme_python_block_runs_as_written(tmp_path):
  """Each block as its own script, in its own namespace; all in one
  process, which imports TensorFlow once."""
  blocks = readme_blocks("python")
  assert len(blocks) >= 2
  scripts = []
  for index, block in enumerate(blocks[1:]):  # the first: test above
    if FASHION in block and not os.path.isdir(FASHION):
      pytest.skip(f"a README block reads {FASHION} (Debian's "
                  "dataset-fashion-mnist), which is not installed")
    script = tmp_path / f"block_{index}.py"
    script.write_text(block)
    scripts.append(str(script))
  driver = tmp_path / "run_blocks.py"
  driver.write_text(
      "import runpy, sys\n"
      "for script in sys.argv[1:]:\n"
      "  print('running', script, file=sys.stderr, flush=True)\n"
      "  runpy.run_path(script, run_name='__main__')\n")
  done = _run([sys.executable, str(driver), *scripts], tmp_path,
              env={"PYTHONPATH": ROOT})
  failed = done.stderr.rsplit("running ", 1)[-1].split("\n", 1)[0]
  assert done.returncode == 0, (
      open(failed).read() if os.path.isfile(failed) else "") + \
      done.stderr[-3000:]


def _readme():
  return documentation()


def _headings(page: str) -> list:
  """(offset, title) of each heading of a Markdown page, bold paragraph
  titles ("**GAS without unpickling.**") included; code blocks skipped."""
  text = re.sub(r"```.*?```", lambda m: " " * len(m.group(0)),
                open(page).read(), flags=re.S)
  found = [(m.start(), m.group(1).strip()) for m in re.finditer(
      r"^#+ (.+)$", text, flags=re.M)]
  found += [(m.start(), m.group(1).strip()) for m in re.finditer(
      r"^\*\*([^*]+?)\.?\*\*", text, flags=re.M)]
  return sorted(found)


def _slug(title: str) -> str:
  """GitHub's anchor for a heading."""
  return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def _sources() -> list:
  return [path for package in ("maf_tf", "trainers", "configs", "benchmarks",
                               "examples")
          for path in glob.glob(os.path.join(ROOT, package, "**", "*.py"),
                                recursive=True)]


def test_every_pointer_in_the_docs_and_docstrings_resolves():
  """A Markdown link's #anchor is a heading of its page; "(Title, below)"
  and "(Title, above)" name a heading of the same page on that side; a
  docstring's or comment's "docs/page.md" exists and "docs/page.md,
  Title" is one of its headings; "README, Title" a README heading; and
  nothing says only "see below"."""
  wrong = []
  for page in documentation_files():
    text = open(page).read()
    name = os.path.relpath(page, ROOT)
    headings = _headings(page)
    for link, anchor in re.findall(r"\]\(([^)#:]*)#([^)]+)\)", text):
      target = os.path.join(os.path.dirname(page), link) if link else page
      if not os.path.isfile(target) or anchor not in {
          _slug(title) for _, title in _headings(target)}:
        wrong.append(f"{name}: {link}#{anchor}")
    for match in re.finditer(r"\(([A-Z][^()]*?(?:\([^()]*\))?),\s+"
                             r"(below|above)\)", text):
      title = " ".join(match.group(1).split())
      side = [t for offset, t in headings if (offset > match.start()) ==
              (match.group(2) == "below")]
      if title not in side:
        wrong.append(f"{name}: ({title}, {match.group(2)})")
    wrong += [f"{name}: {m}" for m in re.findall(
        r"\(see\s+(?:below|above)\)", text)]
  readme = {t for _, t in _headings(os.path.join(ROOT, "README.md"))}
  for path in _sources():
    text = " ".join(open(path).read().split())
    name = os.path.relpath(path, ROOT)
    for title in re.findall(r"README, ([A-Z][\w' -]*[\w'])", text):
      if title not in readme:
        wrong.append(f"{name}: README, {title}")
    for page, title in re.findall(
        r"docs/(\w+\.md)(?:, ([A-Z][^)]*?(?:\([^()]*\))?)(?=[).;]))?",
        text):
      target = os.path.join(ROOT, "docs", page)
      if not os.path.isfile(target) or title and title not in {
          t for _, t in _headings(target)}:
        wrong.append(f"{name}: docs/{page}, {title}")
  assert not wrong, wrong


def test_every_file_module_and_test_the_readme_names_exists():
  text = _readme()
  paths = set(re.findall(
      r"(?<![\w/<])((?:docs|tests|maf_tf|trainers|configs|benchmarks|examples"
      r"|tools|\.ci)/[\w./-]*(?:\.\w+|/))", text))
  for page in documentation_files():  # links: relative to their page
    with open(page) as stream:
      links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", stream.read())
    paths |= {os.path.relpath(os.path.join(os.path.dirname(page), link),
                              ROOT) for link in links}
  paths |= {name for name in ("requirements.txt", "requirements-test.txt",
                              "LICENSE", "Makefile", "pyproject.toml")
            if name in text}
  missing = sorted(p for p in paths
                   if not os.path.exists(os.path.join(ROOT, p)))
  assert not missing, missing
  modules = set(re.findall(r"python -m ((?:trainers|benchmarks|examples|"
                           r"tools)\.\w+)", text))
  assert {"trainers.train", "trainers.evaluate"} <= modules
  for module in modules:
    assert os.path.isfile(os.path.join(ROOT, *module.split(".")) + ".py"), \
        module
  source = "".join(open(path).read() for path in glob.glob(
      os.path.join(ROOT, "tests", "*.py")))
  # (not --test_fraction, --test_data: flags)
  for name in set(re.findall(r"(?<![-\w])(test_\w+)\b(?!\.)", text)):
    if os.path.isfile(os.path.join(ROOT, "tests", name + ".py")):
      continue  # a test module
    assert f"def {name}(" in source, name


def test_every_trainer_command_in_the_readme_has_valid_flags():
  """Each `python -m trainers.train ...` / `maf-train ...` line: its flags
  parse and give a config that passes the checks (the runs themselves take
  hours or need the network)."""
  from absl import flags
  from configs.checks import check_config
  from configs.presets import preset
  from trainers.flags import config_from_flags, define_train_flags
  define_train_flags()
  text = re.sub(r"\\\n\s*", " ", _readme())
  lines = re.findall(r"(?:python -m trainers\.train|maf-train)((?: --\S+)*)",
                     text)
  for dataset, args in re.findall(r'make run DATASET=(\w+) ARGS="([^"]*)"',
                                  text):
    lines.append(f" --dataset={dataset} {args}")
  assert len(lines) >= 8
  for line in lines:
    args = [arg.rstrip("`:,.;)") for arg in line.split()]
    if "--helpfull" in args or "--auto" in args:
      continue
    if FASHION in line and not os.path.isdir(FASHION):
      continue  # (checked where Debian's dataset-fashion-mnist is)
    flags.FLAGS.unparse_flags()
    try:
      flags.FLAGS(["train", *args])
      name = flags.FLAGS.dataset
      if name is None:
        continue  # a partial example such as "--dataset=... ARGS=..."
      check_config(config_from_flags(preset(name)))
    finally:
      flags.FLAGS.unparse_flags()


def _layout_order():
  """{'flows': (rank, 0), 'bijectors.maf': (rank, 6), ...} from
  tests/layers.txt: a line's rank is its place; a package's files
  ("package: file file ...") are ranked inside it in the order named."""
  with open(os.path.join(ROOT, "tests", "layers.txt")) as stream:
    lines = [line.split("#")[0].strip() for line in stream]
  order = {}
  for rank, line in enumerate(line for line in lines if line):
    package, _, files = line.partition(":")
    order[package] = (rank, 0)
    for place, file in enumerate(files.split(), 1):
      order[f"{package}.{file}"] = (rank, place)
  return order


def _imports(path, package):
  """The maf_tf modules (without 'maf_tf.') that a file imports."""
  import ast
  with open(path) as stream:
    tree = ast.parse(stream.read())
  found = set()
  for node in ast.walk(tree):
    if isinstance(node, ast.ImportFrom) and node.module:
      names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    elif isinstance(node, ast.Import):
      names = [a.name for a in node.names]
    else:
      continue
    for name in names:
      if name.split(".")[0] == package and os.path.exists(os.path.join(
          ROOT, *name.split(".")) + ".py"):
        found.add(name)
  return found


def test_every_library_import_points_up_the_readmes_layout():
  order = _layout_order()
  files = glob.glob(os.path.join(ROOT, "maf_tf", "**", "*.py"),
                    recursive=True)
  named = {os.path.relpath(f, os.path.join(ROOT, "maf_tf"))[:-3].replace(
      os.sep, ".") for f in files if not f.endswith("__init__.py")}
  packages = {m.split(".")[0] for m in order if "." in m}
  assert named == set(order) - packages, \
      "tests/layers.txt must list every maf_tf module"
  # the Layout section of docs/contributing.md describes each one
  layout = _readme().split("## Layout", 1)[1].split("```")[1]
  missing = [m for m in named if f"{m.split('.')[-1]}.py" not in layout]
  assert not missing, f"the Layout does not describe {missing}"
  wrong = []
  for path in files:
    if path.endswith("__init__.py"):
      continue  # a package's front: it re-exports its own modules
    module = os.path.relpath(path, os.path.join(ROOT, "maf_tf"))[:-3] \
        .replace(os.sep, ".")
    for imported in _imports(path, "maf_tf"):
      target = imported.split(".", 1)[1]
      package_of = lambda m: m.split(".")[0]  # noqa: E731
      if order[target] >= order[module] or (
          "." in target and package_of(target) != package_of(module)
          and order[package_of(target)] >= order[module]):
        wrong.append(f"{module} imports {target}")
  assert not wrong, wrong


@pytest.mark.parametrize("package, above", [
    ("maf_tf", ("configs", "trainers", "benchmarks")),
    ("configs", ("trainers", "benchmarks")),
    ("trainers", ("benchmarks",))])
def test_the_library_and_configs_import_nothing_above_them(package, above):
  for path in glob.glob(os.path.join(ROOT, package, "**", "*.py"),
                        recursive=True):
    for name in above:
      assert not _imports(path, name), (path, name)
