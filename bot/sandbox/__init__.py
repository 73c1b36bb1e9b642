"""A local Slack: the Web API fake the tests run against, and `complaint-bot sandbox` around it."""
