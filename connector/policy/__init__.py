"""The pure lawful-use policy core: ``evaluate(facts, *, now, settings) -> Decision``.

Imports only the standard library and ``connector.models``; no I/O, no clock, no environment, no log output.
"""

from connector.policy.engine import CATALOGUE, evaluate, next_change
from connector.policy.rule import RuleInfo
from connector.policy.settings import RULESET_VERSION, PolicySettings

__all__ = ["CATALOGUE", "RULESET_VERSION", "PolicySettings", "RuleInfo", "evaluate", "next_change"]
