"""The classifier family spec: presets and overrides into the trainer's
options, the book's tasks A and B, the Evaluator's metrics and slices, the
command line, and bad options named before anything runs."""

from __future__ import annotations

import argparse

import pytest

from pipelines.families import classifier
from preprocessing import image_contract as contract


def _metric_names(spec) -> dict[str, object]:
    return {m.class_name: m for ms in spec.eval_config.metrics_specs for m in ms.metrics}


def test_reference_baseline_is_the_books_split_and_schedule():
    spec = classifier.build_spec()
    config = spec.custom_config
    assert config["variant"] == "baseline" and config["steps_per_epoch"] == 1719  # 55,000 / 32
    assert spec.train_steps == 1719 * 30
    assert config["class_names"] == list(contract.FASHION_MNIST_CLASSES)
    assert config["toolbox"]["hidden_units"] == [300, 100]
    assert spec.preprocessing_config == {"image_shape": [28, 28, 1], "scaling": "unit",
                                         "statistics": "fixed"}
    assert spec.evaluation_split == contract.TEST


def test_eval_config_blesses_on_accuracy_with_recall_and_calibration_by_class():
    spec = classifier.build_spec(profile="smoke")
    (model_spec,) = spec.eval_config.model_specs
    assert (model_spec.label_key, model_spec.prediction_key) == (contract.LABEL, "probabilities")
    assert [list(s.feature_keys) for s in spec.eval_config.slicing_specs] == [[], [contract.LABEL]]
    metrics = _metric_names(spec)
    assert {"SparseCategoricalAccuracy", "Recall", "ExpectedCalibrationError"} <= set(metrics)
    (threshold,) = metrics["SparseCategoricalAccuracy"].per_slice_thresholds
    assert not threshold.slicing_specs[0].feature_keys  # judged on the overall slice
    assert threshold.threshold.value_threshold.lower_bound.value == 0.6
    assert threshold.threshold.change_threshold.absolute.value == -0.01
    assert metrics["ExpectedCalibrationError"].module == "models.classifier.evaluation"
    recall_spec = next(ms for ms in spec.eval_config.metrics_specs if ms.binarize.class_ids.values)
    assert list(recall_spec.binarize.class_ids.values) == list(range(10))


def test_tasks_a_and_b_and_the_transfer_variant():
    a = classifier.build_spec("transfer_base", "reference", task="A")
    assert a.custom_config["class_names"] == [contract.FASHION_MNIST_CLASSES[i]
                                              for i in (0, 1, 2, 3, 4, 7, 8, 9)]
    assert a.custom_config["steps_per_epoch"] == 1375  # 44,000 / 32
    b = classifier.build_spec("transfer", "reference", task="B", base_model_dir="/models/a/1")
    assert b.custom_config["class_names"] == ["Sandal", "Shirt"]
    assert b.custom_config["steps_per_epoch"] == 7 and b.train_steps == 7 * 20  # 200 images
    assert b.custom_config["base_model_dir"] == "/models/a/1"
    assert b.custom_config["toolbox"]["freeze_epochs"] == 4
    assert list(next(ms for ms in b.eval_config.metrics_specs
                     if ms.binarize.class_ids.values).binarize.class_ids.values) == [0, 1]


def test_overrides_and_the_selu_preset_reach_transform_and_trainer():
    spec = classifier.build_spec("selu", "smoke", activation="selu", hidden_units=(50, 50),
                                 schedule="one_cycle", learning_rate=0.05, batch_size=64)
    toolbox = spec.custom_config["toolbox"]
    assert (toolbox["hidden_units"], toolbox["schedule"], toolbox["batch_size"]) == ([50, 50],
                                                                                     "one_cycle", 64)
    assert spec.custom_config["steps_per_epoch"] == 40  # 2,500 / 64
    assert spec.preprocessing_config["scaling"] == "standardize"
    assert spec.preprocessing_config["statistics"] == "per_pixel"


@pytest.mark.parametrize("options, message", [
    (dict(activation="tanh"), "activation must be one of relu"),
    (dict(variant="resnet"), "variant must be one of baseline"),
    (dict(variant="transfer"), "the transfer variant needs base_model_dir"),
    (dict(base_model_dir="/m"), "base_model_dir is for the transfer variant only"),
    (dict(variant="transfer", base_model_dir="/m", epochs=4), "more epochs .* than freeze_epochs"),
    (dict(task="C"), "task must be one of all, A, B"),
    (dict(classes=(5,)), "at least 2 classes"),
    (dict(classes=(5, 5)), "distinct class ids"),
    (dict(classes=(5, 10)), "fashion_mnist has class ids 0..9"),
    (dict(task="B", class_names=("a", "b", "c")), "one name per class"),
    (dict(dataset="cifar10"), "dataset must be one of"),
    (dict(eval_images=0), "eval_images >= 1"),
    (dict(profile="huge"), "unknown profile"),
])
def test_bad_options_are_named(options, message):
    variant = options.pop("variant", "baseline")
    profile = options.pop("profile", "smoke")
    with pytest.raises(ValueError, match=message):
        classifier.build_spec(variant, profile, **options)


def test_command_line_covers_every_toolbox_option():
    parser = argparse.ArgumentParser()
    classifier.add_cli_arguments(parser.add_argument_group("classifier"))
    args = parser.parse_args(["--hidden-units", "100x3,50", "--mc-dropout", "--dropout-rate", "0.1",
                              "--piecewise-epochs", "1,2.5", "--classes", "5,6",
                              "--optimizer", "nadam", "--class-names", "sandal,shirt"])
    assert args.hidden_units == (100, 100, 100, 50) and args.mc_dropout is True
    assert args.piecewise_epochs == (1.0, 2.5) and args.classes == (5, 6)
    assert args.class_names == ("sandal", "shirt")
    assert set(classifier.TOOLBOX_OPTIONS) <= set(vars(args))
    with pytest.raises(SystemExit):
        parser.parse_args(["--activation", "tanh"])
    options = {k: v for k, v in vars(args).items() if v is not None}
    spec = classifier.build_spec("mc_dropout", "smoke", **options)
    assert spec.custom_config["toolbox"]["optimizer"] == "nadam"
    assert spec.custom_config["class_names"] == ["sandal", "shirt"]
