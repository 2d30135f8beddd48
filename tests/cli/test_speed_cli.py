"""`python -m bench speed` end to end on a tiny shape: it runs and reports; how fast is not asserted."""

import shutil
from pathlib import Path

from tinyconfig import TINY_FLAGS

BASELINES = Path(__file__).resolve().parents[2] / "baselines"


def test_speed_reports_contenders_and_scheme_spread(tmp_path, cli):
    schemes = tmp_path / "schemes"
    schemes.mkdir()
    for name in ("gamma-0.5.toml", "zero.toml"):
        shutil.copy(BASELINES / name, schemes / name)
    code, out, err = cli("speed", "--presets", "nano", "--steps", "1", "--reps", "1", "--warmup", "0",
                         "--schemes", schemes, "--unflushed", *TINY_FLAGS)
    assert code == 0, err
    for line in ("| initbench step", "| initbench run loop", "run loop / bare step:", "| gamma-0.5",
                 "| zero", "spread (fastest / slowest − 1):", "spread without flushing subnormals:"):
        assert line in out, line
    try:
        import transformers  # noqa: F401
        assert "| transformers Llama step" in out
    except ImportError:
        assert "pip install -e '.[hf]'" in out


def test_speed_refuses_bad_options_in_one_line(tmp_path, cli):
    code, _, err = cli("speed", "--reps", "0")
    assert code == 2 and err.count("\n") == 1 and "--reps" in err
    code, _, err = cli("speed", "--schemes", tmp_path)
    assert code == 2 and "no *.toml" in err
    code, _, err = cli("speed", "--presets", "huge", "--no-schemes")
    assert code == 2 and "unknown preset" in err
