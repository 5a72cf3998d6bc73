"""adopipe test plugin (hatchling)."""

VALUE = 42
