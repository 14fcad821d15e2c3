"""Pytest fixtures that start real local video servers (filled in by the servers work)."""
