"""Every sweep names its source and the results the source reported, and those references name
real configurations and metrics of the sweep (so a report can check them)."""
import pytest

from analysis.results.references import check_declaration
from sweeps.runner.catalog import all_sweeps
from trainables import metrics as M

SWEEPS = all_sweeps()
METRICS = {v for k, v in vars(M).items() if k.isupper() and isinstance(v, str)}


def test_the_catalogue_finds_the_sweeps():
    assert {"mnist_width", "toy2d", "cifar_channels", "dogset_lr"} <= set(SWEEPS)


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_source_and_references_name_real_configurations_and_metrics(name):
    sweep = SWEEPS[name]
    assert sweep.source and sweep.references, f"{name} declares no source or no references"
    assert check_declaration(sweep.references) == []
    settings = {**sweep.settings, **{k: None for k in sweep.data_axes}}
    for ref in sweep.references:
        assert ref.metric in METRICS, (ref.claim, ref.metric)
        for key, value in {**ref.where, **ref.than}.items():
            if key == M.EPOCH:
                continue
            assert key in sweep.grid or key in settings or key in sweep.presets, (ref.claim, key)
            if key in sweep.grid:
                assert value in sweep.grid[key], (ref.claim, key, value)
        if ref.along:
            assert ref.along in sweep.grid, (ref.claim, ref.along)
        if ref.epoch is not None:
            length = sweep.settings.get("max_steps") or sweep.settings.get("max_epochs", 5)  # steps when step-based
            assert 0 <= ref.epoch <= length, (ref.claim, ref.epoch)


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_no_setting_is_named_like_a_column_every_row_carries(name):
    """A grid axis, preset axis or fixed setting named like a provenance column (variant, sweep,
    dataset, ...) would be overwritten in every row by the stamp: text_rnn_variants' `variant`
    axis once lost its values to the data variant."""
    sweep = SWEEPS[name]
    reserved = set(M.PROVENANCE) | set(M.POPULATION_COLUMNS)
    clashes = reserved & (set(sweep.grid) | set(sweep.presets) | set(sweep.fixed) | set(sweep.optuna))
    assert not clashes, f"{name} names settings like row columns: {sorted(clashes)}"
