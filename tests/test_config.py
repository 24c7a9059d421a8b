import dataclasses

import pytest

from phenomena.config import ConfigError, apply_overrides, parse_assignments
from phenomena.config import describe
from phenomena.experiment import BaseConfig, ClaimBook
from phenomena.registry import experiment_names, load_experiment
from phenomena.train import TrainConfig


@dataclasses.dataclass(frozen=True)
class Inner:
    lr: float = 0.1
    steps: int = 10
    name: str = "sgd"
    flag: bool = False
    depths: tuple[int, ...] = (1, 2)


@dataclasses.dataclass(frozen=True)
class Outer:
    seed: int = 0
    inner: Inner = Inner()


def test_string_overrides_are_parsed_to_the_field_type():
    config = apply_overrides(Outer(), parse_assignments(
        ["inner.lr=0.3", "inner.steps=7", "inner.flag=true", "inner.depths=5,10,20", "seed=4"]))
    assert config.inner.lr == 0.3 and isinstance(config.inner.lr, float)
    assert config.inner.steps == 7 and config.inner.flag is True
    assert config.inner.depths == (5, 10, 20)
    assert config.seed == 4
    assert Outer().inner.lr == 0.1  # the original is untouched (frozen)


def test_int_literal_is_accepted_for_a_float_field():
    assert apply_overrides(Outer(), {"inner.lr": "1"}).inner.lr == 1.0


@pytest.mark.parametrize("key, value, message", [
    ("inner.lr", "fast", "expected a number"),
    ("inner.steps", "2.5", "expected an integer"),
    ("inner.flag", "maybe", "true/false"),
    ("inner.depths", "1,x", "expected an integer"),
    ("inner.lrr", "0.1", "unknown config key 'inner.lrr'"),
    ("nope", "1", "unknown config key 'nope'"),
    ("seed.x", "1", "has no sub-keys"),
    ("inner", "1", "is a section"),
])
def test_bad_overrides_raise_config_error(key, value, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(Outer(), {key: value})


def test_malformed_assignment_is_rejected():
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignments(["train.lr"])


def test_impossible_values_are_rejected_by_the_config_itself():
    with pytest.raises(ConfigError, match="train.lr must be positive"):
        TrainConfig(lr=-1.0)
    with pytest.raises(ConfigError, match="multiple of train.eval_every"):
        TrainConfig(steps=150, eval_every=100)


@pytest.mark.parametrize("name", experiment_names())
def test_every_experiment_follows_the_kit(name):
    from phenomena.runner import resolve_config

    module = load_experiment(name)
    assert isinstance(module.CONFIG, BaseConfig) and isinstance(module.claims, ClaimBook)
    assert len(module.claims) >= 1
    assert set(module.PROFILES) == {"smoke", "quick", "full"}
    configs = {p: resolve_config(module, p) for p in module.PROFILES}
    assert configs["quick"].seeds >= 8
    assert configs["full"].seeds >= configs["quick"].seeds
    assert module.__doc__ and "Command:" in module.__doc__ and "Runtime:" in module.__doc__
    # `phenomena show` explains every knob: each field carries a comment (or is declared unused).
    ignored = type(module.CONFIG).IGNORED_KEYS
    unexplained = [key for key, _, _, meaning in describe(module.CONFIG)
                   if not meaning and key not in ignored]
    assert unexplained == []


def test_class_constants_are_not_config_keys():
    from experiments.batch_size import Config as BatchSizeConfig
    with pytest.raises(ConfigError, match="unknown config key 'IGNORED_KEYS'") as error:
        apply_overrides(BatchSizeConfig(), {"IGNORED_KEYS": "1"})
    assert "IGNORED_KEYS" not in str(error.value).split("valid here")[1]
