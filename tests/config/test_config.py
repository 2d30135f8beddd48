import json
import math
import re
from pathlib import Path

import pytest

from bench.config import PRESETS, Config, build_config, config_from_dict
from bench.core.errors import BenchError
from bench.core.files import write_json


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


def test_round_trip_through_dict_and_digest():
    cfg = build_config("small", None, {"init": {"method": "gamma", "gamma": 0.75}})
    again = config_from_dict(cfg.to_dict(), "test")
    assert again == cfg and again.digest() == cfg.digest()
    assert build_config("small").digest() != cfg.digest()


def test_json_file_is_the_whole_effective_config(tmp_path):
    """A .json config (Config.to_dict(), what a sweep hands its runs) rebuilds the very Config, including
    values a preset would change back (vocab_size 0 = "from the data", eval.limit None = every document)."""
    toml = write(tmp_path, 'preset = "micro"\n[init]\nmethod = "gamma"\ngamma = 0.75\n')
    cfg = build_config(None, toml, {"eval": {"limit": None}, "optim": {"weight_decay": 1}})
    assert cfg.model.vocab_size == 0 and cfg.eval.limit is None
    path = tmp_path / "run.config.json"
    write_json(path, cfg.to_dict())
    assert build_config(None, path) == cfg and build_config("micro", path) == cfg
    assert build_config(None, path).digest() == cfg.digest()
    # Overrides still apply on top, as they do on a TOML file.
    again = build_config(None, path, {"optim": {"lr": 0.5}})
    assert again.optim.lr == 0.5 and again.init.gamma == 0.75 and again.preset == "micro"


def whole(**changes):
    data = build_config("nano").to_dict()
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if value is None:
            del data[section][name]
        else:
            data[section][name] = value
    return data


@pytest.mark.parametrize("data, message", [
    ('{"model": ', "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (whole(model__width=3), "unknown key model.width"),
    (whole(model__d_model="big"), "expected an integer"),
    (whole(eval__limit=-1), "eval.limit must be positive"),
    (whole(model__d_model=None), "lacks model.d_model: a .json config holds a whole config"),
    ({"preset": "micro"}, "lacks model.vocab_size, model.d_model, model.n_layers and "),
    ({**whole(), "preset": ["nano"]}, "unknown preset"),
])
def test_bad_json_config_is_a_user_error(tmp_path, data, message):
    path = tmp_path / "cfg.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(BenchError, match=re.escape(message)):
        build_config(None, path)


def test_json_config_names_its_preset(tmp_path):
    path = tmp_path / "cfg.json"
    write_json(path, build_config("nano").to_dict())
    with pytest.raises(BenchError, match=r"preset 'micro' conflicts with .*preset 'nano'"):
        build_config("micro", path)
    with pytest.raises(BenchError, match="does not exist"):
        build_config(None, tmp_path / "nope.json")
