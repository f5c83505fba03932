"""Webhook jobs: deliver an event to an endpoint, retried with back-off."""
