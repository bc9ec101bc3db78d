"""Notifications: webhook endpoints, the outbox of events (written with the state change that causes them), the
dispatcher that delivers them (signed, retried, logged) to webhooks, Slack and email."""
