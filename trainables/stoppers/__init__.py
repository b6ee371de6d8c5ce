"""Tune stoppers, one rule per file."""
from trainables.stoppers.min_delta import MinDeltaStopper

__all__ = ["MinDeltaStopper"]
