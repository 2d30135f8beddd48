import math
from pathlib import Path

import pytest

from bench.config import PRESETS, Config, build_config, config_from_dict, dotted, parse_value
from bench.core.errors import BenchError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return path


def test_precedence_defaults_preset_toml_cli(tmp_path):
    path = write(tmp_path, 'preset = "micro"\n[optim]\nlr = 0.5\nweight_decay = 1\n[init]\nmethod = "gamma"\n'
                           "gamma = 1.0\n")
    cfg = build_config(None, path, {"optim": {"lr": 0.25}})
    assert cfg.preset == "micro"
    assert cfg.model.d_model == PRESETS["micro"]["model"]["d_model"]  # preset
    assert cfg.optim.weight_decay == 1.0 and isinstance(cfg.optim.weight_decay, float)  # TOML, int -> float
    assert cfg.optim.lr == 0.25  # CLI beats TOML
    assert cfg.init.method == "gamma" and cfg.init.gamma == 1.0
    assert cfg.optim.beta2 == Config().optim.beta2  # untouched default


def test_cli_preset_beats_toml_preset(tmp_path):
    path = write(tmp_path, 'preset = "micro"\n')
    assert build_config("nano", path).preset == "nano"


@pytest.mark.parametrize("text, message", [
    ("[model]\nwidth = 3\n", "unknown key model.width"),
    ("[nonsense]\nx = 1\n", "unknown key 'nonsense'"),
    ("[model]\nd_model = 'big'\n", "expected an integer"),
    ("[model]\nd_model = 1.5\n", "expected an integer"),
    ("[model]\ngated_attention = 1\n", "expected bool"),
    ("[model]\nnorm = 'batchnorm'\n", "is not one of"),
    ("[optim]\nno_decay_roles = 'norm'\n", "expected a list"),
    ("[model]\nd_model = [\n", "not valid TOML"),
    ("model = 3\n", "must be a table"),
])
def test_bad_toml_is_a_user_error(tmp_path, text, message):
    with pytest.raises(BenchError, match=message):
        build_config(None, write(tmp_path, text))


def test_missing_config_file(tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        build_config(None, tmp_path / "nope.toml")


@pytest.mark.parametrize("overrides, message", [
    ({"model": {"d_model": 130, "n_heads": 4}}, "divisible"),
    ({"model": {"norm_eps": 0.0}}, "norm_eps"),
    ({"optim": {"lr": math.inf}}, "optim.lr"),
    ({"train": {"max_steps": 0}}, "max_steps"),
    ({"optim": {"min_lr_ratio": 2.0}}, "min_lr_ratio"),
])
def test_cross_field_validation(overrides, message):
    with pytest.raises(BenchError, match=message):
        build_config(None, None, overrides)


def test_unknown_preset():
    with pytest.raises(BenchError, match="unknown preset"):
        build_config("huge")


def test_dotted_overrides_use_toml_values():
    assert dotted(["model.d_model=64", "optim.no_decay_roles=['norm']", "init.method=gamma"]) == {
        "model": {"d_model": 64}, "optim": {"no_decay_roles": ["norm"]}, "init": {"method": "gamma"}}
    assert parse_value("1e-12") == 1e-12 and parse_value("true") is True
    with pytest.raises(BenchError, match=r"SECTION\.KEY=VALUE"):
        dotted(["d_model=64"])


def test_round_trip_through_dict_and_digest():
    cfg = build_config("small", None, {"init": {"method": "gamma", "gamma": 0.75}})
    again = config_from_dict(cfg.to_dict(), "test")
    assert again == cfg and again.digest() == cfg.digest()
    assert build_config("small").digest() != cfg.digest()
