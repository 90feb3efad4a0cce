"""What a failed job does next, as the base task asks it: the shared policy of `integration.retry`
(which errors are whose fault, the backoff schedule), so the CLI's runs follow the same rules."""
from integration.retry import LOCK_WAIT_CAP, MAX_WAITS, Decision, backoff, decide, describe

__all__ = ["LOCK_WAIT_CAP", "MAX_WAITS", "Decision", "backoff", "decide", "describe"]
