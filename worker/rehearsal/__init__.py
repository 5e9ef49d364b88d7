"""Rehearsal: the drill and the local stack it starts; the only part of the runner that knows the lab."""
