"""Mediation sessions in the worker: reminders a day and an hour before (a sweep registered
with the notification sweeps), SMS to invited parties, calling off the sessions of a case that
ended. Importing the package registers all of it."""

from mediation_worker.sessions import handlers, reminders

__all__ = ["handlers", "reminders"]
