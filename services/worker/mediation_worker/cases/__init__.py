"""Dispute cases in the worker: deadline and follow-up reminders (sweeps registered with the
notification sweeps), calling off the sessions of a case that ended. Importing the package
registers all of it."""

from mediation_worker.cases import handlers, reminders

__all__ = ["handlers", "reminders"]
