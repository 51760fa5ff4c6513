"""Training configuration and the trainers' flags generated from it."""
import dataclasses

import pytest

from draw import cli
from draw.config import RESUMABLE, RETIRED, TrainConfig


def test_train_config_round_trip_and_unknown_keys():
    config = TrainConfig(batch_size=32, learning_rate=5e-4, binarize="dynamic")
    assert TrainConfig.from_dict(config.to_dict()) == config
    old = dict(config.to_dict(), **{name: 64 for name in RETIRED})  # an older args.json
    assert TrainConfig.from_dict(old) == config
    with pytest.raises(ValueError, match="unknown training settings: bogus"):
        TrainConfig.from_dict(dict(config.to_dict(), bogus=1))
    assert config.replace(max_steps=9).max_steps == 9 and config.max_steps == 0


def test_resumable_settings():
    assert set(RESUMABLE) == {"epochs", "max_steps", "log_every", "hist_every",
                              "checkpoint_every", "keep_checkpoints", "checkpoint_each_epoch",
                              "max_nonfinite", "val_every", "kvstore", "num_val",
                              "val_batch_size"}


def test_every_flagged_setting_is_a_flag_with_its_default():
    parser = cli.add_train_args(cli.script_parser("test"), batch_size=32, logdir="x")
    args = parser.parse_args([])
    flagged = [f for f in dataclasses.fields(TrainConfig) if f.metadata["help"]]
    dests = {a.dest for a in parser._actions}
    assert {f.name for f in flagged} <= dests
    defaults = TrainConfig()
    for f in flagged:
        expected = 32 if f.name == "batch_size" else getattr(defaults, f.name)
        assert getattr(args, f.name) == expected, f.name
    assert args.logdir == "x" and args.checkpoint_each_epoch is True
    # flags -> TrainConfig, with the fields that have no flag given by the script
    config = cli.train_config(parser.parse_args(["-b", "8", "--beta2", "0.99",
                                                 "--no_epoch_checkpoints"]),
                              binarize="dynamic", val_every=5)
    assert (config.batch_size, config.beta2, config.checkpoint_each_epoch, config.binarize,
            config.val_every) == (8, 0.99, False, "dynamic", 5)


@pytest.mark.parametrize("argv,message", [
    (["--beta1", "1"], "argument --beta1: must be in [0, 1), got 1"),
    (["--val_batch_size", "-1"], "argument --val_batch_size: must be >= 0"),
    (["--kvstore", "nope"], "argument --kvstore: invalid choice"),
])
def test_generated_flags_validate(argv, message, capsys):
    parser = cli.add_train_args(cli.script_parser("test"))
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
