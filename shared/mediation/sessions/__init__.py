"""Mediation sessions (调解会): scheduling, participants, outcomes, reminders, calendars."""
