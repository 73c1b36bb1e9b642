"""The complaint desk: a customer-complaint procedure run in Slack."""

__version__ = "0.1.0"
