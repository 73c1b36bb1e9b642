"""Pure renderers: view-model dicts in, Block Kit dicts out. No database, no network."""
