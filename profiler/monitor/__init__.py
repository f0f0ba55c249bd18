"""Watching an app in production: error taxonomy, metrics, log shipping."""
