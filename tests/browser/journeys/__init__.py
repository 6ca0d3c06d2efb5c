"""Helpers for the whole-journey browser tests (tests/browser/test_journeys.py)."""
