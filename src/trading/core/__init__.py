"""The kernel: errors, events, domain types, time helpers and small contracts; it imports
nothing of the project."""
