"""Notifications: fan-out of events by the rules, the channels, deliveries and retries,
scheduled reminders (sweeps) and the retention of the notification tables."""
