"""`--log tensorboard,mlflow,wandb` with the real packages: every member of a fused population as its
own run, one point per row, read back with TensorBoard's EventAccumulator and MLflow's client;
a `--resume`, and Tune re-delivering rows, log no row twice; W&B offline, read back from its file."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from analysis.results.arguments import UsageError
from analysis.results.collect import trial_folders
from analysis.results.tables import read_parquet
from sweeps.runner.run_logs import RunInfo, finish_logs, parse_logs
from trainables import metrics as M

# Metrics every row of mnist_width has (samples_per_s is NaN before the first epoch: no point there).
ROW_METRICS = [M.EPOCH, M.TRAIN_LOSS, M.TRAIN_ACC, M.VAL_LOSS, M.VAL_ACC, M.TEST_LOSS, M.TEST_ACC]


def assert_one_point_per_row(points: list[tuple[int, float]], rows, metric: str) -> None:
    """A metric's points are the rows' steps and values (TensorBoard keeps float32)."""
    assert [step for step, _ in points] == list(rows[M.STEP]), metric
    assert [value for _, value in points] == pytest.approx(list(rows[metric]), rel=1e-6), metric


def test_log_names_are_parsed_and_an_unknown_one_is_refused():
    assert parse_logs("tensorboard, mlflow,tensorboard") == ("tensorboard", "mlflow")
    with pytest.raises(UsageError, match="unknown backend 'tensorbord'; allowed: tensorboard, mlflow, wandb"):
        parse_logs("tensorbord,mlflow")


def tensorboard_points(run_dir: Path) -> dict[str, dict[str, list[tuple[int, float]]]]:
    """Member folder -> tag -> (step, value) of every scalar, as TensorBoard reads them."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = {}
    for folder in sorted((run_dir / "tensorboard").iterdir()):
        acc = EventAccumulator(str(folder)).Reload()
        out[folder.name] = {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}
    return out


def tensorboard_hparams(folder: Path) -> dict:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    content = EventAccumulator(str(folder)).Reload().PluginTagToContent("hparams")["_hparams_/session_start_info"]
    values = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info.hparams
    return {k: getattr(v, v.WhichOneof("kind")) for k, v in values.items()}


def mlflow_tree(run_dir: Path):
    """(client, parent run, {trial id: (child run, {metric: [(step, value)]})})."""
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{run_dir / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("mnist_width").experiment_id])
    [parent] = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {}
    for child in runs:
        if child.data.tags.get("mlflow.parentRunId") == parent.info.run_id:
            history = {m: [(p.step, p.value) for p in client.get_metric_history(child.info.run_id, m)]
                       for m in child.data.metrics}
            children[child.data.tags["sweeplab.trial_id"]] = (child, history)
    return client, parent, children


def replay_results(run_dir: Path) -> None:
    """Deliver every result of the run again to a new MemberLog, as Tune does for a restored
    trial (rows since its checkpoint come twice), then finish as a resumed run would."""
    from ray.tune.experiment import Trial

    from sweeps.runner.member_log import MemberLog

    run = RunInfo(run_dir, "mnist_width", run_dir.name)
    log = MemberLog(("tensorboard", "mlflow"), run, ["width", "seed"])
    log.setup()
    for folder in trial_folders(run_dir):
        rows = [json.loads(line) for line in (folder / "result.json").read_text().splitlines() if line.strip()]
        trial = Trial("run_trial", config=json.loads((folder / "params.json").read_text()),
                      trial_id=rows[-1][M.TRIAL_ID], stub=True)
        for row in rows:
            log.on_trial_result(0, [], trial, row)
        log.on_trial_complete(0, [], trial)
    log.on_experiment_end([])
    finish_logs(("tensorboard", "mlflow"), run, complete=True)


@pytest.mark.ray
def test_fused_members_are_runs_of_their_own_and_resume_logs_no_row_twice(ray_session, tmp_path, monkeypatch, capsys):
    from sweeps import mnist_width

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    argv = ["--smoke-test", "--repeats", "2", "--fuse", "on", "--log", "tensorboard,mlflow", "--storage-path", str(tmp_path)]
    assert mnist_width.main(argv) == 0
    run_dir = tmp_path / "mnist_width"
    out = capsys.readouterr().out
    assert f"log: tensorboard --logdir {run_dir}" in out and f"sqlite:///{run_dir}/mlflow.db" in out
    results, _ = read_parquet(run_dir / "results.parquet")
    assert results[M.FUSED_MEMBERS].eq(2).all() and results[M.TRIAL_ID].nunique() == 4  # 2 populations of 2
    rows = {t: df.sort_values(M.STEP) for t, df in results.groupby(M.TRIAL_ID)}

    # TensorBoard: a folder per member, named as in the tables, one point per row of every metric
    board = tensorboard_points(run_dir)
    assert set(board) == set(rows)
    for trial_id, tags in board.items():
        mine = rows[trial_id]
        for metric in ROW_METRICS:
            assert_one_point_per_row(tags[metric], mine, metric)
        hparams = tensorboard_hparams(run_dir / "tensorboard" / trial_id)
        assert (hparams["width"], hparams["seed"]) == (mine["width"].iloc[0], mine["seed"].iloc[0])

    # MLflow: the run is the parent, each member a nested child with its config and every row
    client, parent, children = mlflow_tree(run_dir)
    assert parent.info.status == "FINISHED" and parent.info.run_name == "mnist_width"
    artifacts = {a.path for a in client.list_artifacts(parent.info.run_id)}
    artifacts |= {a.path for a in client.list_artifacts(parent.info.run_id, "plots")}
    pngs = {f"plots/{p.name}" for p in (run_dir / "plots").glob("*.png")}
    assert len(pngs) >= 3 and artifacts == {"report.md", "report.html", "plots"} | pngs
    assert set(children) == set(rows)
    for trial_id, (child, history) in children.items():
        mine = rows[trial_id]
        assert child.info.status == "FINISHED"
        assert child.data.params["width"] == str(mine["width"].iloc[0]) and child.data.params["seed"] == str(mine["seed"].iloc[0])
        assert child.info.run_name == f"width={mine['width'].iloc[0]} seed={mine['seed'].iloc[0]} {trial_id}"
        for metric in ROW_METRICS:
            assert_one_point_per_row(history[metric], mine, metric)

    # --resume of the same run, then every result delivered again: nothing new in either store
    assert mnist_width.main(["--resume", "--storage-path", str(tmp_path)]) == 0
    replay_results(run_dir)
    assert tensorboard_points(run_dir) == board
    _, parent_again, children_again = mlflow_tree(run_dir)
    assert {t: h for t, (_, h) in children_again.items()} == {t: h for t, (_, h) in children.items()}
    assert parent_again.info.run_id == parent.info.run_id and parent_again.info.status == "FINISHED"
    logged = json.loads((run_dir / "logged" / "tensorboard.json").read_text())["steps"]
    assert logged == {t: int(df[M.STEP].max()) for t, df in rows.items()}


def wandb_records(path: Path) -> list:
    """The records of a W&B run file: a 7-byte header, then LevelDB log records (CRC, length,
    type; FULL or FIRST..LAST pieces) in 32 KiB blocks, each a wandb_internal_pb2.Record."""
    from wandb.proto import wandb_internal_pb2

    data, block, pos, pieces, records = path.read_bytes(), 32768, 7, b"", []
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # a block's tail too short for a header is padding
            pos += block - pos % block
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if kind == 0:
            break
        pieces, pos = pieces + data[pos + 7:pos + 7 + length], pos + 7 + length
        if kind in (1, 4):  # FULL, LAST
            records.append(wandb_internal_pb2.Record.FromString(pieces))
            pieces = b""
    return records


def test_wandb_is_offline_without_a_login_and_logs_each_row_at_its_step(tmp_path, monkeypatch):
    import wandb

    from sweeps.runner import log_wandb

    for var in ("WANDB_API_KEY", "WANDB_MODE", "WANDB_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
    assert log_wandb.mode() == "offline"
    (tmp_path / "netrc").write_text("machine api.wandb.ai login user password secret\n")
    assert log_wandb.mode() == "online"  # what `wandb login` leaves
    (tmp_path / "netrc").write_text("")

    backend = log_wandb.WandbLog(RunInfo(tmp_path, "mnist_width", "mnist_width-2"))
    backend.start("a1_00000_m01", "width=50 seed=1 a1_00000_m01", {"width": 50, "seed": 1}, [M.VAL_ACC])
    for step, acc in ((0, 0.1), (57, 0.8), (114, 0.9)):
        backend.log("a1_00000_m01", step, {M.VAL_ACC: acc, M.EPOCH: step / 57}, 0.0)
    backend.end("a1_00000_m01")
    wandb.teardown()  # what the driver's exit does: W&B's service writes the run file's last records then

    [run_file] = (tmp_path / "wandb").glob("offline-run-*/run-*.wandb")
    records = wandb_records(run_file)
    [run] = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert (run.display_name, run.run_group, list(run.tags)) == ("width=50 seed=1 a1_00000_m01", "mnist_width", ["mnist_width-2"])
    config = {i.key: json.loads(i.value_json) for i in run.config.update}
    assert config["width"] == 50 and config["seed"] == 1
    history = [{i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item}
               for r in records if r.WhichOneof("record_type") == "history"]
    assert [(h["_step"], h[M.VAL_ACC], h[M.EPOCH]) for h in history] == [(0, 0.1, 0), (57, 0.8, 1), (114, 0.9, 2)]
    assert backend.state.ids["a1_00000_m01"] == run.run_id  # what --resume reopens


def test_a_failing_backend_is_dropped_in_one_line_and_the_others_go_on(tmp_path, monkeypatch, capsys):
    from ray.tune.experiment import Trial

    from sweeps.runner.member_log import MemberLog

    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchstore://nowhere")
    log = MemberLog(("mlflow", "tensorboard"), RunInfo(tmp_path, "mnist_width", "mnist_width"), ["width"])
    log.setup()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("sweeplab: warning: --log mlflow stopped: "), err
    trial = Trial("run_trial", config={"width": 50}, trial_id="a1_00000", stub=True)
    log.on_trial_result(0, [], trial, {M.EPOCH: 1, M.STEP: 57, M.VAL_ACC: 0.5, M.TRIAL_ID: "a1_00000"})
    log.on_experiment_end([])
    assert tensorboard_points(tmp_path) == {"a1_00000": {M.EPOCH: [(57, 1.0)], M.VAL_ACC: [(57, 0.5)]}}
