import math
from pathlib import Path

import pytest
import torch

from bench.config import build_config
from bench.data.corpus import load_corpus
from bench.model.schemes import SCHEMES, build_model
from bench.train.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2] / "baselines"
FILES = sorted(ROOT.rglob("*.toml"))
SMALL_DATA = {"data": {"corpus": "anchor", "n_train": 256, "n_val": 64}, "train": {"batch_size": 8}}


def test_every_scheme_has_a_baseline_file():
    methods = {build_config(None, path).init.method for path in ROOT.glob("*.toml")}
    assert methods == set(SCHEMES)


def test_paper_grids_are_complete():
    grid = {(c.init.gamma, c.model.norm_eps, c.model.gated_attention)
            for c in (build_config(None, p) for p in (ROOT / "2606.17945").glob("*.toml"))}
    assert grid == {(g, e, a) for g in (0.5, 1.0) for e in (1e-5, 1e-12) for a in (False, True)}
    pairs = {p.stem: (c.init.method, c.init.gamma, c.init.sigma, c.optim.weight_decay)
             for p in (ROOT / "2505.23013").glob("*.toml") for c in [build_config(None, p)]}
    assert pairs["small-complexity"][:2] == ("gamma", 1.0) and pairs["small-complexity"][3] == 1.0
    assert pairs["large-complexity"][:2] == ("gamma", 0.5) and pairs["large-complexity"][3] == 0.1
    assert pairs["standard"][0] == "normal" and pairs["standard"][2:] == (0.02, 0.1)


@pytest.mark.parametrize("path", FILES, ids=[str(p.relative_to(ROOT)) for p in FILES])
def test_baseline_builds_and_trains_one_step(path, tmp_path):
    assert path.read_text().startswith("#"), "each baseline starts with a comment citing its source"
    cfg = build_config(None, path, SMALL_DATA)
    corpus = load_corpus(cfg.data)
    cfg.model.vocab_size = corpus.vocab_size
    model, table = build_model(cfg.model, cfg.init)
    assert table and all(math.isfinite(row["std_measured"]) for row in table)
    trainer = Trainer(cfg, model, corpus, run_dir=None, device=torch.device("cpu"))
    loss, grad_norm = trainer.update(0)
    assert math.isfinite(loss) and math.isfinite(grad_norm)
