"""Keys added to the config after records were committed: default run ids keep their digest, and old
records read the added value."""

from __future__ import annotations

from bench.config import ADDED_KEYS, Config, with_added_keys


def test_default_digest_is_unchanged_by_added_keys() -> None:
    # The digest of the default config before data.synthetic, eval.protocol and train.precision existed
    # (commit 96b1beb): default run ids did not change when the keys were added.
    assert Config().digest() == "e8123c07"


def test_an_added_key_off_its_added_value_changes_the_digest() -> None:
    cfg = Config()
    cfg.eval.protocol = "powered"
    assert cfg.digest() != Config().digest()


def test_old_record_config_reads_the_added_values() -> None:
    new = Config().to_dict()
    old = {section: dict(values) for section, values in new.items() if isinstance(values, dict)}
    old["preset"] = new["preset"]
    for name in ADDED_KEYS:
        section, key = name.split(".")
        del old[section][key]
    filled = with_added_keys(old)
    assert filled == new
    assert "synthetic" not in old["data"]  # the record's own dict is left as it was
