"""Multi-task learning on handwritten characters (hw0): tasks, a training loop, baselines, plots.

A *task* (lecture 2) is ``T_i = {p_i(x), p_i(y|x), L_i}`` with its own training and test data.
Here the tasks are built from a :class:`~metakit.data.charset.CharacterSet`:

* one **classification** task per alphabet ("recognise the characters of Greek"), with only a few
  training drawers per character, so that sharing across alphabets can help;
* **attribute** tasks on the same images (multi-label learning): ``strokes`` (regression, from the
  glyph generator's manifest), ``has_curve`` / ``has_loop`` / ``has_dot`` (binary, from the
  manifest) and ``ink`` (regression on the amount of ink, computed from the image, so it exists
  for real Omniglot too); they differ from the alphabet tasks in loss function and label scale;
* **conflicting** tasks: the same images with their labels permuted across images, so the label
  no longer depends on the image; built to interfere with the others (negative transfer).

Shapes: images ``x [B, 1, 28, 28]`` float32 in [0, 1]; the task descriptor ``z [B, T]`` is the
one-hot task index of each row (T tasks); a model maps ``(x, z)`` to ``outputs [B, O]`` where
``O = TaskSet.num_outputs`` is the largest output size of any task. Task ``i`` reads the first
``tasks[i].num_outputs`` columns: all of them for an alphabet with O characters, column 0 for a
binary or regression task.

The training loop :func:`train_multitask` takes the three pieces a student writes as arguments
(the model, the task sampler and the multi-task loss), so this module holds none of them; it gives
the data, the loop, independent single-task baselines (:func:`train_independent`), evaluation and
plots.

The package is split along those concepts: :mod:`.tasks` (a task, a set, a batch), :mod:`.building`
(tasks from a character set), :mod:`.datasets` (glyph and Omniglot task sets), :mod:`.models` (the
kit's models), :mod:`.training` (the loops) and :mod:`.reporting` (tables and plots). Every public
name is importable from ``metakit.multitask``, as notebooks and graders do.
"""
from metakit.multitask.building import (BINARY_ATTRIBUTES, IMAGE_ATTRIBUTES, REGRESSION_ATTRIBUTES, attribute_task,
                                        build_taskset, conflicting_task, image_attribute, split_drawers,
                                        taskset_from_arrays, taskset_to_arrays)
from metakit.multitask.datasets import glyph_tasks, load_alphabets, load_omniglot_alphabets, omniglot_tasks
from metakit.multitask.models import CONDITIONINGS, MultiTaskNet, ProbeNet, mlp
from metakit.multitask.reporting import plot_mean_curves, plot_task_examples, plot_task_scores, score_table, transfer
from metakit.multitask.tasks import TASK_KINDS, Task, TaskBatch, TaskSet, task_loss, task_score
from metakit.multitask.training import LossFn, Sampler, TrainResult, evaluate, train_independent, train_multitask

__all__ = [
    "BINARY_ATTRIBUTES", "CONDITIONINGS", "IMAGE_ATTRIBUTES", "REGRESSION_ATTRIBUTES", "TASK_KINDS",
    "LossFn", "MultiTaskNet", "ProbeNet", "Sampler", "Task", "TaskBatch", "TaskSet", "TrainResult",
    "attribute_task", "build_taskset", "conflicting_task", "evaluate", "glyph_tasks", "image_attribute",
    "load_alphabets", "load_omniglot_alphabets", "mlp", "omniglot_tasks", "plot_mean_curves", "plot_task_examples",
    "plot_task_scores", "score_table", "split_drawers", "task_loss", "task_score", "taskset_from_arrays",
    "taskset_to_arrays", "train_independent", "train_multitask", "transfer",
]
