"""The gateway: every outbound Slack Web API call, the outbox sender and role look-ups."""
