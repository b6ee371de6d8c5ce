"""How a fused population's rows travel, in one place: packed into one Tune result per evaluation
(the best member's value of each metric, for schedulers, plus every member's own row), unpacked
into one ordinary trial per member when results are collected, and each member named
`<tune trial id>_mNN`, the id that post-hoc commands accept and parse back.

    result = pack(rows, fused=True)                     # the trainable, each evaluation
    for trial_id, config, rows in unpack(tune_id, config, raw_rows): ...   # the results phase
    tune_id, member = parse_member_id("a1b2c_00003_m02")                  # -> ("a1b2c_00003", 2)
"""
from __future__ import annotations

from typing import Any, Iterator

from trainables import metrics as M

ROW_ONLY = ("config", *M.POPULATION_COLUMNS)  # what a plain trial's flat row leaves out
MEMBER_TAG = "_m"


def member_id(tune_id: str, member: int) -> str:
    """The trial id of member `member` of the population Tune knows as `tune_id`."""
    return f"{tune_id}{MEMBER_TAG}{member:02d}"


def parse_member_id(trial_id: str) -> tuple[str, int]:
    """(Tune's trial id, member index) of a trial id; member 0 for a trial that was not fused."""
    tune_id, tagged, member = str(trial_id).rpartition(MEMBER_TAG)
    return (tune_id, int(member)) if tagged and member.isdigit() else (str(trial_id), 0)


def pack(rows: list[dict[str, Any]], fused: bool) -> dict[str, Any]:
    """What Tune gets for one evaluation: a plain trial's row, or a population's summary (the
    best member's value of every metric all rows have, for schedulers and the sweep's metric:
    a text study holds no validation split; the time it took) with every member's row."""
    if not fused:
        return {k: v for k, v in rows[0].items() if k not in ROW_ONLY}
    best = {key: (max if mode == "max" else min)(r[key] for r in rows)
            for key, mode in M.MODES.items() if all(key in r for r in rows)}
    return {M.EPOCH: rows[0][M.EPOCH], M.STEP: rows[0][M.STEP], **best,
            M.EPOCH_TIME_S: sum(r[M.EPOCH_TIME_S] for r in rows), M.MEMBERS: rows}


def unpack(tune_id: str, config: dict[str, Any], rows: list[dict[str, Any]]
           ) -> Iterator[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
    """(trial id, config, rows) of an ordinary trial, or of every member of a fused population:
    a fused trial's rows carry `members`, one metrics dict per member, which become ordinary rows."""
    if M.MEMBERS not in config:
        yield tune_id, config, rows
        return
    outer = [{k: v for k, v in r.items() if k not in (M.MEMBERS, M.EPOCH, M.STEP, M.VAL_LOSS, M.EPOCH_TIME_S)}
             for r in rows]
    for j, member_config in enumerate(config[M.MEMBERS]):
        mine = [{**o, **{k: v for k, v in m.items() if k != "config"}}
                for o, r in zip(outer, rows) for m in r[M.MEMBERS] if m[M.MEMBER] == j]
        yield member_id(tune_id, j), member_config, mine
