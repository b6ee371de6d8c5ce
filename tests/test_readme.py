"""The README says what the code does: its sweep table is one table listing every sweep, and the
flags and data formats it describes agree with --help and the loaders."""
from __future__ import annotations

import re
from pathlib import Path

from data_modules.manifest import FILE_COLUMNS
from sweeps.runner.catalog import all_sweeps
from sweeps.runner.cli import build_parser

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_sweep_table_is_one_table_of_every_sweep():
    lines = section("Sweeps").strip().splitlines()
    assert lines[0].startswith("| command |") and re.fullmatch(r"\|(---\|)+", lines[1])
    rows = []
    for line in lines[2:]:  # a table ends at its first line that is not a row
        if not line.startswith("|"):
            break
        rows.append(line)
    named = [re.match(r"\| `python -m sweeps\.(\w+)`", row).group(1) for row in rows]
    assert sorted(named) == sorted(all_sweeps())
    assert not re.search(r"^\| `python -m sweeps\.", "\n".join(lines[2 + len(rows):]), re.M)  # no rows after a gap


def test_sweep_table_is_the_one_the_declarations_generate():
    from sweeps.runner.catalog import readme_table

    table = "\n".join(line for line in section("Sweeps").strip().splitlines() if line.startswith("|"))
    assert table.startswith(readme_table()), "README's sweep table is stale: paste `python -m sweeps --markdown`"


def test_flag_defaults_agree_with_help():
    parser = build_parser("python -m sweeps.x", "")
    helps = {o: a.help for a in parser._actions for o in a.option_strings}
    gpu_default = re.search(r"default: (.+)\)$", helps["--gpus-per-trial"]).group(1)
    gpu_row = next(line for line in section("Sweeps").splitlines() if line.startswith("| `--cpus-per-trial`"))
    assert gpu_default in gpu_row


def test_dogset_columns_agree_with_the_loader_and_help():
    from sweeps import dogset_lr

    data = section("Data")
    manifest = next(line for line in data.split("\n- ") if line.startswith("**Image manifest**"))
    for column in (*FILE_COLUMNS, "label", "partition"):
        assert f"`{column}`" in manifest
        assert column in dogset_lr.__doc__


def test_quick_start_installs_cpu_torch_first_where_there_is_no_gpu():
    quick = section("Quick start")
    cpu = quick.index("pip install torch torchvision --index-url https://download.pytorch.org/whl/cpu")
    assert cpu < quick.index("pip install -e .\n", cpu)
