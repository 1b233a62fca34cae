"""Bitrix24 REST access: the one client (`B24Client`), its errors, pacing and encoders."""
from __future__ import annotations

from .client import B24Client, BatchResult, CallTime, Result, TokenProvider
from .commands import Command, CommandOutcome, is_idempotent
from .pacing import OperatingGovernor, RateLimits, RequestPacer

__all__ = ["B24Client", "BatchResult", "CallTime", "Command", "CommandOutcome", "OperatingGovernor", "RateLimits",
           "RequestPacer", "Result", "TokenProvider", "is_idempotent"]
