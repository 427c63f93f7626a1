"""Small helpers shared by tests."""
