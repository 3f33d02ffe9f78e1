import pytest

from biaslearn import config
from biaslearn.errors import BiaslearnError
from biaslearn.experiments.compare import Config


def test_overrides_parse_to_field_types():
    c = config.with_overrides(Config(), config.parse_overrides(["widths=8,16", "epochs=3", "dataset=digits", "seeds=1"]))
    assert c.widths == (8, 16) and c.epochs == 3 and c.dataset == "digits" and c.seeds == (1,)


def test_unknown_key_lists_valid_keys():
    with pytest.raises(BiaslearnError, match="unknown key.*width.*valid keys: .*widths"):
        config.with_overrides(Config(), {"width": "3"})


def test_malformed_set_and_bad_types():
    with pytest.raises(BiaslearnError, match="expected key=value"):
        config.parse_overrides(["widths"])
    with pytest.raises(BiaslearnError, match="expected int"):
        config.with_overrides(Config(), {"epochs": "many"})


def test_validation_runs_after_override():
    with pytest.raises(BiaslearnError, match="widths: expected positive ints, got -5"):
        config.with_overrides(Config(), {"widths": "-5"})


def test_from_dict_round_trip_and_unknown():
    c = Config(widths=(3,))
    assert config.from_dict(Config, config.to_dict(c)) == c
    with pytest.raises(BiaslearnError, match="unknown key"):
        config.from_dict(Config, {"nope": 1})
