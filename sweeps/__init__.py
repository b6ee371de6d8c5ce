"""One runnable module per sweep (`python -m sweeps.NAME`, or `python -m sweeps NAME`), each a
short `Sweep` declaration over the shared runner in sweeps.runner.run."""
import sys


class _MisspeltSweep:
    """Answers `python -m sweeps.NAME` for a NAME that is no module with one line naming the nearest
    sweeps (exit 2), instead of Python's bare "No module named". Last on sys.meta_path, so it sees
    only names no other finder found, and it acts only while `-m` looks for its module (Python sets
    sys.argv[0] to "-m" until found): a missing import in a running program is left to Python."""

    @staticmethod
    def find_spec(fullname, path=None, target=None):
        package, dot, name = fullname.partition(".")
        if package != __name__ or not name or "." in name or sys.argv[:1] != ["-m"]:
            return None
        from sweeps.runner.names import unknown_sweep

        print(f"python -m {fullname}: error: {unknown_sweep(name)}", file=sys.stderr)
        raise SystemExit(2)


if _MisspeltSweep not in sys.meta_path:
    sys.meta_path.append(_MisspeltSweep)
