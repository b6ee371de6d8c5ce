"""Every sweep names its source and the results the source reported, and those references name
real configurations and metrics of the sweep (so a report can check them)."""
from pathlib import Path

import pytest

import sweeps
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


@pytest.mark.parametrize("name", sorted(SWEEPS))
def test_each_declaration_names_its_dataset_model_and_objective_truly(name):
    import trainables.loop  # noqa: F401  (the loop registers the sequence objectives)
    from data_modules import DATASETS
    from models import list_models
    from trainables.objectives import OBJECTIVES

    sweep = SWEEPS[name]
    source = (Path(sweeps.__file__).parent / f"{name}.py").read_text()
    for key in ("dataset", "model", "objective"):  # in the declaration's own file, not a shared dict
        assert f"{key}=" in source, f"{name} does not name its {key}"
    assert sweep.dataset in DATASETS and sweep.objective in OBJECTIVES
    declared = [sweep.model] if isinstance(sweep.model, str) else list(sweep.model)
    assert set(declared) <= set(list_models()) and sorted(declared) == sorted(sweep.models_chosen())
    sweep.check_declared_model()


def test_a_declared_model_that_the_settings_do_not_build_is_one_line():
    import dataclasses

    from trainables.config import ConfigError

    wrong = dataclasses.replace(SWEEPS["cifar_channels"], model="mlp")
    with pytest.raises(ConfigError, match=r"declares model='mlp' but its settings build cnn; allowed: model=\"cnn\""):
        wrong.check_declared_model()
