"""adopipe quickstart plugin: see experiments.py."""
