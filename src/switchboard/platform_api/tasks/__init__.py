"""Seed 002's tasks (`/tasks…`): delegated and research runs, schedules and triggers behind one resource."""
