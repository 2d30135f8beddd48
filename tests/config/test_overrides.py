import pytest

from bench.config import RUN_FLAGS, build_config, config_diff, dotted, flat, override_mapping, parse_value
from bench.core.errors import BenchError


def test_dotted_overrides_use_toml_values():
    assert dotted(["model.d_model=64", "optim.no_decay_roles=['norm']", "init.method=gamma"]) == {
        "model": {"d_model": 64}, "optim": {"no_decay_roles": ["norm"]}, "init": {"method": "gamma"}}
    assert parse_value("1e-12") == 1e-12 and parse_value("true") is True
    with pytest.raises(BenchError, match=r"SECTION\.KEY=VALUE"):
        dotted(["d_model=64"])


def test_flags_beat_set_and_a_flag_left_at_none_overrides_nothing():
    flags = dict.fromkeys(RUN_FLAGS) | {"lr": 0.5, "eval_tasks": ["anchor_seen"], "eval": False}
    assert override_mapping(flags, ["optim.lr=0.1", "optim.lr=0.2", "model.d_model=64"]) == {
        "optim": {"lr": 0.5}, "model": {"d_model": 64},
        "eval": {"tasks": ["anchor_seen"], "enabled": False}}
    assert override_mapping({"seed": None}) == {}
    assert set(RUN_FLAGS.values()) <= set(flat(build_config().to_dict()))  # every flag names a real key


def test_flat_and_config_diff():
    a = build_config("nano")
    b = build_config("nano", None, {"optim": {"lr": 0.5}, "init": {"overrides": ["head=zero"]}})
    fa = flat(a.to_dict())
    assert fa["preset"] == "nano" and fa["model.d_model"] == a.model.d_model
    assert fa["data.sources"] == a.data.sources and fa["eval.limit"] == 200
    assert len(fa) == 1 + sum(len(v) for v in a.to_dict().values() if isinstance(v, dict))
    assert config_diff(a, b) == ["init.overrides", "optim.lr"] and config_diff(a, a) == []
    assert config_diff(a, build_config("micro"))[:2] == ["data.seq_len", "data.vocab_size"]
