"""The in-app inbox, webhook subscriptions and deliveries, notification rules and templates."""
