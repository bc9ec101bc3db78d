"""Seed 002's conversations (`/conversations…`): threads, with a pattern and an application context."""
