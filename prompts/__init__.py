"""Versioned prompt files (data, not Python strings) and their loader."""
