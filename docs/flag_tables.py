#!/usr/bin/env python
"""Write the trainers' flag tables into docs/training.md from their parsers (whose
training flags are generated from draw.config.TrainConfig), so the page cannot drift
from the code. ``--check`` only compares and exits with status 1 when a table is stale
(the test suite runs it).

    python docs/flag_tables.py            # rewrite the tables
    python docs/flag_tables.py --check
"""
import argparse
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.path.join(ROOT, "docs", "training.md")
SCRIPTS = ("train_mnist", "train_omniglot", "train_cluttered_mnist")
#: defaults that depend on the environment, as the page states them
MACHINE_DEFAULTS = {"data_dir": "`$DRAW_DATA_DIR`, else `~/.mxnet/datasets/draw`",
                    "source": "`$DRAW_DATA_SOURCE`, else download"}
BLOCK = re.compile(r"(<!-- flags: examples/(\w+)\.py -->\n)(.*?)(<!-- end of flags -->)",
                   re.S)


def _parser(script):
    folder = os.path.join(ROOT, "examples")
    if folder not in sys.path:
        sys.path.append(folder)
    from _tools import load_example
    return load_example(script).parser()


def table(parser):
    """A Markdown table of a parser's options, group by group: flag, default, meaning."""
    rows = ["| flag | default | meaning |", "|---|---|---|"]
    for group in parser._action_groups:
        actions = [a for a in group._group_actions
                   if a.option_strings and not isinstance(a, argparse._HelpAction)]
        if not actions:
            continue
        rows.append("| **%s** | | |" % group.title)
        for a in actions:
            flags = ", ".join("`%s`" % o for o in sorted(a.option_strings, key=len,
                                                           reverse=True))
            if a.dest in MACHINE_DEFAULTS:
                default = MACHINE_DEFAULTS[a.dest]
            elif isinstance(a, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
                default = "off"
            else:
                default = "-" if a.default is None else "`%s`" % (a.default,)
            text = re.sub(r"\s*\(default (%\(default\)s|[^()]*)\)$", "", a.help or "")
            if a.choices and "{" not in text:
                text += " (one of: %s)" % ", ".join(map(str, a.choices))
            rows.append("| %s | %s | %s |" % (flags, default, text.replace("|", "\\|")))
    return "\n".join(rows) + "\n"


def render(text):
    """``text`` with every flag block replaced by its script's current table."""
    return BLOCK.sub(lambda m: m.group(1) + table(_parser(m.group(2))) + m.group(4), text)


def main():
    check = "--check" in sys.argv[1:]
    with open(PAGE, encoding="utf-8") as f:
        text = f.read()
    new = render(text)
    if check:
        if new != text:
            print("error: the flag tables of %s are stale: run python docs/flag_tables.py"
                  % PAGE, file=sys.stderr)
            sys.exit(1)
        return
    with open(PAGE, "w", encoding="utf-8") as f:
        f.write(new)


if __name__ == "__main__":
    main()
