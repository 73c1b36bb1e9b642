"""A local Slack: the Web API emulator the tests run against (and, later, the sandbox)."""
