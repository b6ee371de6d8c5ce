"""analysis.results.collect on trial folders in Ray's on-disk format: exactly-once rows, statuses,
atomic Parquet with the sweep metadata."""
import json

from analysis.results.collect import collect
from analysis.results.sweep_meta import SweepMeta
from analysis.results.tables import read_parquet
from trainables import metrics as M


def write_trial(exp, trial_id, config, epochs, done=True, error=False):
    folder = exp / f"trial_{trial_id}"
    folder.mkdir(parents=True)
    (folder / "params.json").write_text(json.dumps(config))
    lines = []
    for i, epoch in enumerate(epochs):
        row = {M.TRIAL_ID: trial_id, M.EPOCH: epoch, M.TRAIN_LOSS: 1.0 / epoch, M.VAL_LOSS: 2.0 / epoch + i * 1e-3,
               M.VAL_ACC: 0.5, M.TEST_ACC: 0.4 + i / 100, "hostname": "h", "config": config,
               "done": done and i == len(epochs) - 1}
        lines.append(json.dumps(row))
    text = "\n".join(lines) + "\n"
    (folder / "result.json").write_text(text + '{"epoch": 9, "trial_i')  # a line cut short by a crash
    if error:
        (folder / "error.txt").write_text("boom")


def test_repeated_epochs_keep_the_latest_row(tmp_path):
    exp = tmp_path / "exp"
    # a restored trial re-reported epochs 2 and 3 after its checkpoint at epoch 1
    write_trial(exp, "a_00000", {"width": [128, 64], "seed": 0}, [1, 2, 3, 2, 3, 4])
    write_trial(exp, "a_00001", {"width": [50], "seed": 1}, [1, 2], done=False, error=True)
    results, trials = collect(exp, SweepMeta(sweep="s", axes=["width"]))
    a = results[results[M.TRIAL_ID] == "a_00000"]
    assert a[M.EPOCH].tolist() == [1, 2, 3, 4]
    # epochs 2 and 3 come from the later (resumed) report: row index 3 and 4 -> test_acc 0.43, 0.44
    assert a[M.TEST_ACC].round(4).tolist() == [0.40, 0.43, 0.44, 0.45]
    assert set(a["width"]) == {"128-64"} and "hostname" not in results.columns

    by_id = trials.set_index(M.TRIAL_ID)
    assert by_id.loc["a_00000", "status"] == "TERMINATED" and by_id.loc["a_00000", "epochs"] == 4
    assert by_id.loc["a_00001", "status"] == "ERROR"
    assert by_id.loc["a_00000", "best_val_loss"] == a[M.VAL_LOSS].min()

    on_disk, meta = read_parquet(exp / "results.parquet")
    assert meta == SweepMeta(sweep="s", axes=("width",)) and len(on_disk) == len(results)
    assert not list(exp.glob(".*.tmp"))  # the temporary file was renamed away


def test_sweep_interrupted_before_any_epoch_still_reports(tmp_path):
    from analysis.results.report_md import build_report

    exp = tmp_path / "exp"
    exp.mkdir()
    results, trials = collect(exp, SweepMeta(sweep="s", axes=["width"], x="width", metric=M.VAL_LOSS, mode="min"))
    assert len(results) == 0 and len(trials) == 0
    assert build_report(exp).read_text().startswith("#")


def test_a_trial_that_recovered_from_a_failure_is_terminated_with_its_error_file_named(tmp_path):
    from analysis.results.collect import trial_status

    exp = tmp_path / "exp"
    write_trial(exp, "b_00000", {"width": 10}, [1, 2], error=True)  # failed once, restarted, finished
    folder = exp / "trial_b_00000"
    assert trial_status(folder, "TERMINATED", []) == "TERMINATED"
    assert trial_status(folder, "RUNNING", []) == "UNFINISHED"  # interrupted while being retried: --resume
    assert trial_status(folder, "ERROR", []) == "ERROR" and trial_status(folder, None, []) == "ERROR"
    _, trials = collect(exp, SweepMeta())
    assert trials.loc[0, "error_file"] == "trial_b_00000/error.txt"


def test_a_params_file_left_empty_by_a_killed_driver_falls_back_to_the_rows_config(tmp_path):
    exp = tmp_path / "exp"
    write_trial(exp, "c_00000", {"width": 30}, [1, 2])
    (exp / "trial_c_00000" / "params.json").write_text("")
    results, _ = collect(exp, SweepMeta())
    assert set(results["width"]) == {30}


def test_member_ids_and_population_rows_round_trip():
    from trainables.population_rows import member_id, pack, parse_member_id, unpack

    assert parse_member_id(member_id("a1b2c_00003", 2)) == ("a1b2c_00003", 2)
    assert parse_member_id("a1b2c_00003") == ("a1b2c_00003", 0)  # not fused: member 0, the id unchanged
    assert parse_member_id("trial_m_x") == ("trial_m_x", 0)  # "_m" without a number is part of the id
    configs = [{"width": 50, "seed": 0}, {"width": 400, "seed": 0}]
    epochs = [[{M.EPOCH: e, M.STEP: 10 * e, M.MEMBER: j, M.VAL_LOSS: 1.0 / (e + j + 1), M.VAL_ACC: 0.1 * (e + j),
                M.EPOCH_TIME_S: 0.5, "config": configs[j]} for j in range(2)] for e in range(3)]
    packed = [pack(rows, fused=True) for rows in epochs]
    assert packed[1][M.VAL_LOSS] == min(r[M.VAL_LOSS] for r in epochs[1])  # the best member, for schedulers
    assert packed[1][M.EPOCH_TIME_S] == 1.0
    members = list(unpack("t1", {M.MEMBERS: configs}, packed))
    assert [(trial_id, config) for trial_id, config, _ in members] == [("t1_m00", configs[0]), ("t1_m01", configs[1])]
    for j, (_, _, rows) in enumerate(members):
        assert [r[M.VAL_ACC] for r in rows] == [0.1 * (e + j) for e in range(3)] and all("config" not in r for r in rows)
    plain = pack(epochs[0][:1], fused=False)
    assert "config" not in plain and M.MEMBERS not in plain
    assert list(unpack("t2", {"width": 50}, [plain])) == [("t2", {"width": 50}, [plain])]
