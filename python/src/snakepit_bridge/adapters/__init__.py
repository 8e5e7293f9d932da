"""Adapters that ship with the bridge (demos and smoke tests)."""
