"""Thin I/O adapters. They translate between storage and domain types; no rules live here."""
